/**
 * `ros install`: the live system writes itself to a disk (DESIGN.md section
 * 8): request (command line, then ros.install.*) → checks → questions when
 * someone is there to answer them → write → reboot or power off.
 *
 *   request.ts          what was asked, and from where
 *   plan.ts             every refusal, before a byte is written
 *   interactive.ts      which disk, which configuration, confirmation
 *   write.ts            partitions, file systems, images, COS_OEM
 *   boot-code.ts        BIOS and UEFI boot code from the medium's pieces
 *   devices.ts          disks and partitions, from sysfs
 *   existing-layout.ts  an installed system already on a disk (no_format, fallback_mode)
 */
import { constants, createReadStream, createWriteStream, openSync } from 'node:fs';
import { isatty, ReadStream, WriteStream } from 'node:tty';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { gatherConfig } from '../config-sources.js';
import { readBootState } from '../boot-state.js';
import type { NodeSystem } from '../system.js';
import { checkCoreImage } from './boot-code.js';
import type { InstallConfigFile } from './config-file.js';
import { inspectDevice } from './devices.js';
import { hasInstalledSystem } from './existing-layout.js';
import { askConfig, askDisk, confirmInstall, createPrompter, type Prompter } from './interactive.js';
import { readMedium } from './medium.js';
import { checkInstallImage } from './image.js';
import { fetchIsoMedium, type FetchedMedium } from './iso-medium.js';
import { describePlan, planInstall, refuseInstalledSystem } from './plan.js';
import { resolveInstallRequest, type InstallOptions } from './request.js';
import { writeInstall } from './write.js';

export type { InstallOptions } from './request.js';

export interface InstallIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Whether someone can answer questions on `input` (a TTY). */
  interactive: boolean;
}

export type InstallOutcome =
  | { result: 'installed'; device: string; action: 'reboot' | 'poweroff' | 'none' }
  | { result: 'skipped'; reason: string };

/**
 * Install the live medium's system. Refusals are UserErrors (nothing was
 * written); an automatic run that has nothing to do is 'skipped', not an
 * error, because its unit runs on every live boot.
 */
export async function installSystem(system: NodeSystem, options: InstallOptions, io: InstallIo = standardIo()): Promise<InstallOutcome> {
  const install = (await gatherConfig(system.root)).merged.ros?.install;
  const request = resolveInstallRequest(options, install);
  if (!request) return { result: 'skipped', reason: 'ros.install.automatic is not true (and ros.install.fallback_mode is not install): nothing to do' };
  if (request.trigger !== 'explicit' && (await readBootState(system.root)).slot) {
    return { result: 'skipped', reason: 'this is an installed system: automatic install runs on the live medium only' };
  }
  const terminal: InstallIo & { close?: () => Promise<void> } = request.tty ? openTerminal(system, request.tty) : io;
  const progress = (line: string) => terminal.output.write(`ros install: ${line}\n`);
  const target = request.debug ? traceCommands(system, progress) : system;
  let prompter: Prompter | undefined;
  let fetched: FetchedMedium | undefined;
  try {
    await refuseInstalledSystem(system);
    if (request.image && request.isoUrl) throw new UserError('ros.install.image and ros.install.iso_url both name what to install', 'give one of them');
    if (request.isoUrl) fetched = await fetchIsoMedium(target, request.isoUrl, progress);
    const medium = await readMedium(system, fetched?.dir);
    await checkCoreImage(medium);
    // Checked (digest, signature) before any question or write: a refused image leaves the disk untouched.
    const image = request.image ? await checkInstallImage(target, { ...request, image: request.image }, progress) : undefined;
    let config: InstallConfigFile | undefined;
    let device = request.device;
    if (!device) {
      if (request.silent) throw new UserError('no device to install to, and silent mode cannot ask for one', 'give --device DEVICE or ros.install.device=/dev/…');
      if (!terminal.interactive) {
        // The ISO's install entry: the unit has no terminal, the live consoles ask instead (ros-live-install.sh at their automatic login).
        if (request.trigger !== 'explicit') return { result: 'skipped', reason: 'no ros.install.device: the installer asks at the live consoles instead (or run `sudo ros install` there)' };
        throw new UserError('no device to install to, and no terminal to ask on', 'give --device DEVICE or ros.install.device=/dev/…, or run `ros install` at a login prompt to choose one');
      }
      prompter = createPrompter(terminal.input, terminal.output);
      device = await askDisk(system, prompter, image?.estimatedBytes ?? medium.imageBytes);
      config = await askConfig(system, prompter, request.configSource);
    }
    if (request.trigger === 'fallback') {
      const disk = await inspectDevice(system, device);
      if (disk && (await hasInstalledSystem(target, disk))) {
        return { result: 'skipped', reason: `${device} already holds an installed system (fallback_mode=install installs only onto a disk without one)` };
      }
    }
    const plan = await planInstall(target, { ...request, device, configSource: config?.source ?? request.configSource }, { medium, config, image });
    for (const warning of plan.config?.warnings ?? []) progress(warning);
    // Someone ran `ros install` (or chose the disk here): they confirm, unless they said --silent up front.
    if (!request.silent && (request.trigger === 'explicit' || prompter)) {
      if (!terminal.interactive) {
        throw new UserError(`not erasing ${device} without a confirmation, and there is no terminal to ask on`, 'give --silent to install without asking');
      }
      prompter ??= createPrompter(terminal.input, terminal.output);
      const question = plan.layout ? `Erase ${device} and install?` : `Rewrite the system on ${device}?`;
      if (!(await confirmInstall(prompter, describePlan(plan), question))) throw new UserError('not confirmed: nothing was written');
    } else {
      for (const line of describePlan(plan)) progress(line);
    }
    prompter?.close();
    prompter = undefined;
    progress(`installing to ${device}`);
    await writeInstall(target, plan, progress);
    const action = !request.reboot ? 'none' : request.powerOff ? 'poweroff' : 'reboot';
    progress(`installed to ${device}${action === 'none' ? '' : `; ${action === 'poweroff' ? 'powering off' : 'rebooting'} (remove the installation medium)`}`);
    // --no-block: this very process may be a unit's (ros-install.service), which the reboot must stop.
    if (action !== 'none') await target.run('systemctl', ['--no-block', action]);
    return { result: 'installed', device, action };
  } catch (error) {
    // Whoever watches ros.install.tty sees why it stopped, not only the journal.
    if (request.tty) progress(`error: ${(error as Error).message}${error instanceof UserError && error.hint ? `\n  hint: ${error.hint}` : ''}`);
    throw error;
  } finally {
    prompter?.close();
    await fetched?.release();
    await terminal.close?.();
  }
}

function standardIo(): InstallIo {
  return { input: process.stdin, output: process.stdout, interactive: Boolean(process.stdin.isTTY) };
}

/**
 * ros.install.tty: progress there, and questions when some must be asked. It
 * is opened without becoming our controlling terminal (a service is a
 * session leader: a hangup on that console must not kill the install), once
 * for writing and, only when a question comes, once for reading.
 */
function openTerminal(system: NodeSystem, tty: string): InstallIo & { close(): Promise<void> } {
  const path = join(system.root, tty);
  const openFd = (flags: number) => {
    try {
      return openSync(path, flags | constants.O_NOCTTY);
    } catch (error) {
      throw new UserError(`cannot open ros.install.tty ${tty}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'give a terminal that exists, e.g. /dev/tty1 or /dev/ttyS0');
    }
  };
  const writeFd = openFd(constants.O_WRONLY | constants.O_APPEND);
  const interactive = isatty(writeFd);
  // tty streams do not block a thread on a read, so an unanswered console never keeps the process alive.
  const output = interactive ? new WriteStream(writeFd) : createWriteStream('', { fd: writeFd });
  let input: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  return {
    output,
    get input() {
      if (!input) {
        const readFd = openFd(constants.O_RDONLY);
        input = interactive ? new ReadStream(readFd) : createReadStream('', { fd: readFd });
      }
      return input;
    },
    interactive,
    async close() {
      // Every progress line out before the descriptor goes.
      await new Promise<void>((resolve) => output.end(resolve));
      input?.destroy();
    },
  };
}

/** ros.install.debug: every command, as it runs. */
function traceCommands(system: NodeSystem, progress: (line: string) => void): NodeSystem {
  return {
    ...system,
    run: (file, args, options) => {
      progress(`+ ${[file, ...args].join(' ')}`);
      return system.run(file, args, options);
    },
  };
}
