/**
 * Interactive install: which disk, which configuration, and a confirmation
 * that names what will be erased. Streams are injected, so the questions and
 * the answers they accept are tested with plain text in and out.
 */
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { isatty } from 'node:tty';
import { stringify } from 'yaml';
import { UserError } from '../../errors.js';
import type { NodeSystem } from '../system.js';
import { formatSize, minimumDiskBytes } from '../../disk/layout.js';
import { findUsers, listDisks, type BlockDevice } from './devices.js';
import { loadInstallConfig, type InstallConfigFile } from './config-file.js';
import { formatBytes } from '../../format-bytes.js';
import { hashPassword } from '../crypt.js';

export interface Prompter {
  /** Write the question, wait for one line; UserError when the input ends (nothing has been written then). */
  ask(question: string): Promise<string>;
  /** ask(), with what is typed not shown (a password); on a terminal, echo is off meanwhile. */
  askSecret(question: string): Promise<string>;
  say(text: string): void;
  close(): void;
}

/** Lines are queued as they come, so answers piped in before their question (a test, `yes |`) are not lost. */
export function createPrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompter {
  const lines: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let ended = false;
  const reader = createInterface({ input, terminal: false });
  reader.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else lines.push(line);
  });
  reader.on('close', () => {
    ended = true;
    for (const next of waiting.splice(0)) next(undefined);
  });
  const ask = async (question: string) => {
    output.write(question);
    const line = lines.length > 0 ? lines.shift() : ended ? undefined : await new Promise<string | undefined>((resolve) => waiting.push(resolve));
    if (line === undefined) {
      output.write('\n');
      throw new UserError('the input ended before the installer had its answers; nothing was written');
    }
    return line.trim();
  };
  return {
    ask,
    async askSecret(question) {
      const restoreEcho = hideTyping(input);
      try {
        return await ask(question);
      } finally {
        restoreEcho();
        // The Enter typed was not echoed either.
        if (restoreEcho !== noop) output.write('\n');
      }
    },
    say(text) {
      output.write(`${text}\n`);
    },
    close() {
      reader.close();
    },
  };
}

const noop = () => {};

/**
 * Turn the terminal's echo off (stty, on the input's own terminal) and return
 * what turns it back on; a Ctrl-C meanwhile turns it back on before the
 * process ends, so the shell is not left typing blind. Not a terminal: nothing to hide.
 */
function hideTyping(input: NodeJS.ReadableStream): () => void {
  const fd = (input as { fd?: unknown }).fd;
  if (typeof fd !== 'number' || !isatty(fd)) return noop;
  const stty = (setting: string) => spawnSync('stty', [setting], { stdio: [fd, 'ignore', 'ignore'] });
  stty('-echo');
  const interrupted = () => {
    stty('echo');
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  return () => {
    process.removeListener('SIGINT', interrupted);
    stty('echo');
  };
}

/** Why a disk cannot take this system, or undefined when it can: shown in the list, and the answer refused. */
async function describeUnusable(system: NodeSystem, disk: BlockDevice, minimumBytes: number): Promise<string | undefined> {
  if (disk.readOnly) return 'read-only';
  if ((await findUsers(system, disk)).length > 0) return 'in use (mounted, e.g. the live medium)';
  if (disk.sizeBytes < minimumBytes) return `too small, needs ${formatSize(minimumBytes)}`;
  return undefined;
}

/** List the disks and ask for one, by number or name, until the answer is a usable disk. */
export async function askDisk(system: NodeSystem, prompter: Prompter, imageBytes: number): Promise<string> {
  const minimum = minimumDiskBytes(imageBytes);
  const disks = await listDisks(system);
  if (disks.length === 0) throw new UserError('no disks found to install to', 'attach a disk, or give one with --device');
  const unusable = await Promise.all(disks.map((disk) => describeUnusable(system, disk, minimum)));
  prompter.say('Disks:');
  const nameWidth = Math.max(...disks.map((d) => d.devicePath.length));
  disks.forEach((disk, index) => {
    const note = unusable[index] ? `  (${unusable[index]})` : '';
    prompter.say(`  ${String(index + 1).padStart(2)}) ${disk.devicePath.padEnd(nameWidth)}  ${formatBytes(disk.sizeBytes).padStart(9)}  ${disk.model ?? ''}${note}`.trimEnd());
  });
  for (;;) {
    const answer = await prompter.ask(`Install to which disk? [1-${disks.length}]: `);
    const index = /^\d+$/.test(answer) ? Number(answer) - 1 : disks.findIndex((d) => d.name === answer.replace(/^\/dev\//, ''));
    const disk = disks[index];
    if (!disk) {
      prompter.say(`"${answer}" is not one of the disks above: answer with its number or its name`);
      continue;
    }
    if (unusable[index]) {
      prompter.say(`${disk.devicePath} cannot be installed to: ${unusable[index]}`);
      continue;
    }
    return disk.devicePath;
  }
}

/**
 * Ask for a configuration for the installed system; each answer is loaded and
 * checked before it is taken. Without one, ask for an SSH key and a password
 * instead: an installed system with neither lets nobody in.
 */
export async function askConfig(system: NodeSystem, prompter: Prompter, current?: string): Promise<InstallConfigFile> {
  prompter.say('The installed system reads its configuration (SSH keys, password, hostname …) from a cloud-config file.');
  for (;;) {
    const answer = await prompter.ask(`Configuration file or http(s) URL${current ? ` [${current}]` : ' (empty: give a key or a password instead)'}: `);
    const source = answer || current;
    if (!source) return askAccess(prompter);
    try {
      const config = await loadInstallConfig(system, source);
      for (const warning of config.warnings) prompter.say(warning);
      return config;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      prompter.say(`${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`);
      current = undefined;
    }
  }
}

/** An OpenSSH public key line, or github:NAME (fetched by the node once its network is up). */
const PUBLIC_KEY = /^(?:(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: .*)?|github:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/;

/** A key and/or a password for rancher, written as the installed system's configuration (the password hashed: never stored in clear). */
export async function askAccess(prompter: Prompter): Promise<InstallConfigFile> {
  for (;;) {
    let key = '';
    for (;;) {
      key = await prompter.ask('SSH public key for rancher ("ssh-ed25519 AAAA…", github:NAME, or empty: none): ');
      if (!key || PUBLIC_KEY.test(key)) break;
      prompter.say('That is not an OpenSSH public key line (type, base64 key, comment) nor github:NAME: try again');
    }
    let password = '';
    for (;;) {
      password = await prompter.askSecret('Password for rancher (not shown; empty: none): ');
      if (!password || password === (await prompter.askSecret('The same password again: '))) break;
      prompter.say('The two passwords differ: try again');
    }
    if (!key && !password) {
      prompter.say('With neither a key nor a password nobody could log in to the installed system: give at least one');
      continue;
    }
    const config = { ...(key ? { ssh_authorized_keys: [key] } : {}), ...(password ? { ros: { password: hashPassword(password) } } : {}) };
    const given = [key && `the SSH key ${key.length > 40 ? `${key.slice(0, 37)}…` : key}`, password && 'a password (hashed)'].filter(Boolean).join(' and ');
    return { source: `${given} for rancher, answered here`, text: `#cloud-config\n${stringify(config, { lineWidth: 0 })}`, warnings: [] };
  }
}

/** Show what is about to happen; only "yes" (or "y") goes on. */
export async function confirmInstall(prompter: Prompter, description: readonly string[], question: string): Promise<boolean> {
  for (const line of description) prompter.say(line);
  const answer = await prompter.ask(`${question} Type "yes" to go on: `);
  return /^y(es)?$/i.test(answer);
}
