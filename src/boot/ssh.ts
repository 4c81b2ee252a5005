/**
 * Commands in a guest over SSH through qemu's forwarded port, with the
 * system's OpenSSH client. The guest is a throw-away machine with host keys
 * made on its first boot: they are neither checked nor remembered.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { UserError } from '../errors.js';

export const SSH_BINARY = 'ssh';
/** The OS's login user; images that only authorize root's keys need 'root'. */
export const DEFAULT_SSH_USER = 'rancher';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Private key file; ssh refuses one that others can read. */
  keyFile: string;
  /**
   * Share one connection between commands (OpenSSH multiplexing) through a
   * socket at this path (keep it short: a socket path holds about 100 bytes).
   * Under TCG each new connection costs over a second of key exchange.
   */
  controlPath?: string;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill ssh after this long (default 120 s); the result then has exitCode 255 and says so in stderr. */
  timeoutSeconds?: number;
  /** Sent to the command's stdin. */
  input?: string;
  connectTimeoutSeconds?: number;
  binary?: string;
}

/** ssh's own exit status for "could not connect or authenticate" (a command's status is passed through otherwise). */
export const SSH_FAILED = 255;

/** The ssh argv (without the binary) for one command. */
export function buildSshArgs(target: SshTarget, command: string, connectTimeoutSeconds = 10): string[] {
  return [
    // The user's ~/.ssh/config (a ProxyJump for *, another identity) must not change what a test does.
    '-F', 'none',
    '-i', target.keyFile,
    '-p', String(target.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    // Without this, every connection prints "Permanently added … to the list of known hosts" on stderr.
    '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${connectTimeoutSeconds}`,
    // A guest that hangs or powers off mid-command must not hang the caller.
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=6',
    // The first command opens the shared connection; it outlives a killed caller by a minute at most.
    ...(target.controlPath ? ['-o', 'ControlMaster=auto', '-o', `ControlPath=${escapeControlPath(target.controlPath)}`, '-o', 'ControlPersist=60'] : []),
    `${target.user}@${target.host}`,
    command,
  ];
}

/** ssh expands %-tokens in ControlPath. */
function escapeControlPath(path: string): string {
  return path.replaceAll('%', '%%');
}

/**
 * Close the shared connection, if there is one: after a reboot it would be a
 * dead TCP connection that qemu still holds open, and commands sent through
 * it would wait for the keep-alive timeout.
 */
export async function closeSharedConnection(target: SshTarget, binary = SSH_BINARY): Promise<void> {
  if (!target.controlPath) return;
  await execa(binary, ['-F', 'none', '-o', `ControlPath=${escapeControlPath(target.controlPath)}`, '-O', 'exit', `${target.user}@${target.host}`], {
    reject: false,
    stdin: 'ignore',
    timeout: 10_000,
  });
}

/** Run one command in the guest; never throws for the command's or the connection's failure. */
export async function runSsh(target: SshTarget, command: string, options: RunOptions = {}): Promise<CommandResult> {
  const binary = options.binary ?? SSH_BINARY;
  const timeoutSeconds = options.timeoutSeconds ?? 120;
  const result = await execa(binary, buildSshArgs(target, command, options.connectTimeoutSeconds), {
    reject: false,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    timeout: timeoutSeconds * 1000,
    stripFinalNewline: false,
  });
  if ((result as { code?: string }).code === 'ENOENT') {
    throw new UserError(`${binary} was not found, which is required to run commands in a guest`, 'apt-get install openssh-client');
  }
  const stderr = String(result.stderr ?? '');
  if (result.timedOut) {
    return { exitCode: SSH_FAILED, stdout: String(result.stdout ?? ''), stderr: `${stderr}ssh: no answer within ${timeoutSeconds} s: ${command}\n` };
  }
  return { exitCode: result.exitCode ?? SSH_FAILED, stdout: String(result.stdout ?? ''), stderr };
}

export interface WaitOptions {
  timeoutSeconds: number;
  /** Between attempts; default 2 s. */
  intervalSeconds?: number;
  /** Asked before each attempt: a reason to stop waiting (the guest is gone), or undefined. */
  abandon?: () => string | undefined;
  binary?: string;
}

/**
 * Try until sshd answers and accepts the key: on a first boot the guest makes
 * its host keys before sshd starts (about a minute under TCG), and qemu
 * accepts connections on the forwarded port long before anything in the
 * guest listens. An authentication failure is retried too, since the key may
 * be installed by a unit that runs beside sshd, but named if it persists.
 */
export async function waitForSsh(target: SshTarget, options: WaitOptions): Promise<void> {
  const deadline = performance.now() + options.timeoutSeconds * 1000;
  const intervalMs = (options.intervalSeconds ?? 2) * 1000;
  let last: CommandResult | undefined;
  for (;;) {
    const reason = options.abandon?.();
    if (reason) throw new Error(`gave up waiting for SSH on ${target.host}:${target.port}: ${reason}`);
    const remaining = (deadline - performance.now()) / 1000;
    if (remaining <= 0) break;
    const connectTimeout = Math.max(1, Math.min(10, Math.ceil(remaining)));
    last = await runSsh(target, 'true', { timeoutSeconds: connectTimeout + 5, connectTimeoutSeconds: connectTimeout, binary: options.binary });
    if (last.exitCode === 0) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, Math.min(intervalMs, Math.max(0, deadline - performance.now()))));
  }
  throw describeSshFailure(target, options.timeoutSeconds, last?.stderr ?? '');
}

function describeSshFailure(target: SshTarget, timeoutSeconds: number, stderr: string): Error {
  const detail = stderr.trim().split('\n').pop() ?? '';
  const where = `${target.user}@${target.host}:${target.port}`;
  if (/Permission denied/.test(stderr)) {
    return new Error(
      `the guest's sshd refused the key ${target.keyFile} for ${target.user} (${detail}); ` +
        `put its public key in the cloud-config's ssh_authorized_keys (images without the node config authorize root only: use --ssh-user root)`,
    );
  }
  return new Error(`SSH to ${where} did not answer within ${timeoutSeconds} s${detail ? ` (last: ${detail})` : ''}; is sshd enabled in the image, and does the guest get an address by DHCP on eth0?`);
}

/** Catch an unusable key before a boot is spent on it. */
export async function assertUsableKey(keyFile: string): Promise<void> {
  try {
    await access(keyFile, constants.R_OK);
  } catch {
    throw new UserError(`SSH key not readable: ${keyFile}`, 'pass the private key whose public half is in the cloud-config (ssh-keygen -t ed25519 -N "" -f KEY)');
  }
  const head = (await readFile(keyFile, 'utf8').catch(() => '')).slice(0, 64);
  if (/^(?:ssh-|ecdsa-|sk-)/.test(head)) {
    throw new UserError(`${keyFile} is a public key; ssh needs the private one`, `pass ${keyFile.replace(/\.pub$/, '')} (the file without .pub)`);
  }
  const { mode } = await stat(keyFile);
  // OpenSSH ignores a private key that group or others can read ("UNPROTECTED PRIVATE KEY FILE").
  if ((mode & 0o077) !== 0) throw new UserError(`SSH key ${keyFile} is readable by others, so ssh would refuse it`, `chmod 600 ${keyFile}`);
}
