import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { assertUsableKey, buildSshArgs, runSsh, waitForSsh, type SshTarget } from '../../../src/boot/ssh.js';

const target: SshTarget = { host: '127.0.0.1', port: 40022, user: 'root', keyFile: '/keys/id_ed25519' };

describe('buildSshArgs', () => {
  it('uses only the given key, trusts and forgets the throw-away host key, never prompts', () => {
    expect(buildSshArgs(target, 'cat /proc/cmdline', 7)).toEqual([
      '-F', 'none',
      '-i', '/keys/id_ed25519',
      '-p', '40022',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=7',
      '-o', 'ServerAliveInterval=5',
      '-o', 'ServerAliveCountMax=6',
      'root@127.0.0.1',
      'cat /proc/cmdline',
    ]);
  });
});

describe('buildSshArgs with a shared connection', () => {
  it('multiplexes commands over one connection that outlives a killed caller by a minute at most', () => {
    const args = buildSshArgs({ ...target, controlPath: '/tmp/ros-build-boot-x/ssh%1' }, 'true');
    expect(args.slice(-8)).toEqual([
      '-o', 'ControlMaster=auto',
      '-o', 'ControlPath=/tmp/ros-build-boot-x/ssh%%1',
      '-o', 'ControlPersist=60',
      'root@127.0.0.1',
      'true',
    ]);
  });
});

/*
 * Against a stand-in for ssh: a script that answers from a counter file, so
 * the retry loop meets a guest whose sshd is not up yet, then is.
 */
describe('runSsh and waitForSsh', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ssh-test-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fakeSsh(body: string): Promise<string> {
    const path = join(dir, 'fake-ssh');
    await writeFile(path, `#!/bin/sh\nfor last; do :; done\nprintf '%s\\n' "$@" >> "${dir}/argv"\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it('passes the command\'s output and status through, and stdin when given', async () => {
    const binary = await fakeSsh(`cat > "${dir}/stdin"; echo "out:$last"; echo err >&2; exit 3`);
    const result = await runSsh(target, 'false', { binary, input: 'hello' });
    expect(result).toEqual({ exitCode: 3, stdout: 'out:false\n', stderr: 'err\n' });
    expect(await readFile(join(dir, 'stdin'), 'utf8')).toBe('hello');
  });

  it('kills a command that outlives its timeout and says so', async () => {
    const binary = await fakeSsh('exec sleep 30');
    const result = await runSsh(target, 'hang', { binary, timeoutSeconds: 1 });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/no answer within 1 s: hang/);
  });

  it('retries until sshd answers', async () => {
    const binary = await fakeSsh(`n=$(cat "${dir}/count" 2>/dev/null || echo 0); echo $((n + 1)) > "${dir}/count"
[ "$n" -ge 2 ] && exit 0
echo 'kex_exchange_identification: read: Connection reset by peer' >&2; exit 255`);
    await waitForSsh(target, { timeoutSeconds: 20, intervalSeconds: 0.05, binary });
    expect(await readFile(join(dir, 'count'), 'utf8')).toBe('3\n');
  });

  it('names a refused key and the fix when authentication keeps failing', async () => {
    const binary = await fakeSsh(`echo 'root@127.0.0.1: Permission denied (publickey).' >&2; exit 255`);
    await expect(waitForSsh(target, { timeoutSeconds: 1, intervalSeconds: 0.1, binary })).rejects.toThrow(
      /refused the key \/keys\/id_ed25519 for root .*ssh_authorized_keys/,
    );
  });

  it('says how long it waited and what ssh said last', async () => {
    const binary = await fakeSsh(`echo 'ssh: connect to host 127.0.0.1 port 40022: Connection refused' >&2; exit 255`);
    await expect(waitForSsh(target, { timeoutSeconds: 1, intervalSeconds: 0.1, binary })).rejects.toThrow(
      /^SSH to root@127\.0\.0\.1:40022 did not answer within 1 s \(last: ssh: connect to host 127\.0\.0\.1 port 40022: Connection refused\)/,
    );
  });

  it('stops waiting when the guest is gone', async () => {
    const binary = await fakeSsh('exit 255');
    await expect(waitForSsh(target, { timeoutSeconds: 30, binary, abandon: () => 'qemu exited' })).rejects.toThrow(/gave up waiting for SSH.*qemu exited/);
  });

  it('refuses a key ssh would ignore, or none at all', async () => {
    const key = join(dir, 'id');
    await writeFile(key, 'key');
    await chmod(key, 0o644);
    await expect(assertUsableKey(key)).rejects.toThrow(UserError);
    await expect(assertUsableKey(key)).rejects.toThrow(/readable by others/);
    await chmod(key, 0o600);
    await expect(assertUsableKey(key)).resolves.toBeUndefined();
    await expect(assertUsableKey(join(dir, 'missing'))).rejects.toThrow(/not readable/);
    await writeFile(`${key}.pub`, 'ssh-ed25519 AAAAC3Nza… e2e');
    await expect(assertUsableKey(`${key}.pub`)).rejects.toThrow(/is a public key; ssh needs the private one/);
  });
});
