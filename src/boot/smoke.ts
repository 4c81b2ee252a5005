import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { registerCleanup } from '../cleanup.js';
import { UserError } from '../errors.js';
import { formatCommand } from '../exec/run.js';
import { lastLines } from '../progress/tail.js';
import { detectAccelerator, missingQemuError, QEMU_BINARY } from './accel.js';
import { locateFirmware } from './firmware.js';
import { buildQemuArgs, type Accelerator, type ArtifactKind, type DiskFormat, type Firmware } from './qemu-args.js';
import { SerialWatcher, type MarkerName, type Markers } from './serial-watch.js';

export const DEFAULT_TIMEOUT_SECONDS = 300;
/** How long qemu gets to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5000;

export interface SmokeBootOptions {
  /** The ISO or disk image. */
  artifact: string;
  /** Inferred from the extension when omitted: .iso, .qcow2, .img or .raw. */
  kind?: ArtifactKind;
  /** For disks; inferred from the extension (qcow2 for .qcow2, raw otherwise). */
  diskFormat?: DiskFormat;
  /** Boot an ISO as a raw disk, the way it boots written to a USB stick. */
  asDisk?: boolean;
  /** Default bios. */
  firmware?: Firmware;
  /** Default 300. Counted from qemu's start, not including the accelerator probe. */
  timeoutSeconds?: number;
  memoryMiB?: number;
  cpus?: number;
  /** Default auto: KVM only when a probe guest runs well under it. */
  accelerator?: 'auto' | Accelerator;
  /** Default beside the artifact: <artifact>.<firmware>.serial.log (…-disk… for an ISO booted as a disk). */
  logPath?: string;
  qemuBinary?: string;
  onEvent?: (event: BootEvent) => void;
  /** Shorthand for the marker events alone. */
  onMarker?: (marker: MarkerName, seconds: number) => void;
}

export type BootEvent =
  | { kind: 'accelerator'; accelerator: Accelerator; reason: string }
  | { kind: 'started'; command: string; logPath: string }
  | { kind: 'marker'; name: MarkerName; seconds: number }
  | { kind: 'line'; text: string; seconds: number };

export interface BootResult {
  ok: boolean;
  /** On failure, ends with the last lines of serial output. */
  reason: string;
  /** From qemu's start to the verdict. */
  seconds: number;
  logPath: string;
  accelerator: Accelerator;
  markers: Markers;
}

export interface BootMedium {
  kind: ArtifactKind;
  diskFormat?: DiskFormat;
}

/** How to attach the artifact: what the caller said, else what its extension says. */
export function inferBootMedium(artifact: string, options: Pick<SmokeBootOptions, 'kind' | 'diskFormat' | 'asDisk'> = {}): BootMedium {
  const extension = extname(artifact).toLowerCase();
  const kind = options.asDisk ? 'disk' : (options.kind ?? kindFromExtension(artifact, extension));
  if (kind === 'iso') return { kind };
  return { kind, diskFormat: options.diskFormat ?? (extension === '.qcow2' ? 'qcow2' : 'raw') };
}

function kindFromExtension(artifact: string, extension: string): ArtifactKind {
  if (extension === '.iso') return 'iso';
  if (extension === '.qcow2' || extension === '.img' || extension === '.raw') return 'disk';
  throw new UserError(
    `Cannot tell from its name whether ${artifact} is an ISO or a disk image`,
    'name it .iso, .img, .raw or .qcow2, or say which it is',
  );
}

export function defaultLogPath(artifact: string, firmware: Firmware, medium: BootMedium): string {
  // An ISO booted both ways must not overwrite one log with the other.
  const asDisk = medium.kind === 'disk' && extname(artifact).toLowerCase() === '.iso' ? '-disk' : '';
  return `${artifact}.${firmware}${asDisk}.serial.log`;
}

/**
 * Boot an artifact in qemu and watch its serial console until it shows a login
 * prompt after reaching multi-user, fails, or runs out of time. qemu is always
 * stopped and the temporary firmware variables removed, also on Ctrl-C; the
 * serial log is kept. Throws only for problems with the request or the host
 * (missing artifact, qemu or OVMF); a guest that does not boot is a result.
 */
export async function smokeBoot(options: SmokeBootOptions): Promise<BootResult> {
  const artifact = resolve(options.artifact);
  await assertArtifactFile(artifact);
  const medium = inferBootMedium(artifact, options);
  const firmware = options.firmware ?? 'bios';
  const firmwareFiles = await locateFirmware(firmware);
  const logPath = resolve(options.logPath ?? defaultLogPath(artifact, firmware, medium));
  const binary = options.qemuBinary ?? QEMU_BINARY;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) throw new Error(`invalid boot timeout: ${timeoutSeconds} s`);
  const events = createNotifier(options);

  const decision =
    options.accelerator === undefined || options.accelerator === 'auto'
      ? await detectAccelerator({ qemuBinary: binary })
      : { accelerator: options.accelerator, reason: 'requested' };
  events.notify({ kind: 'accelerator', ...decision });
  events.rethrow();

  const scratch = await mkdtemp(join(tmpdir(), 'ros-build-boot-'));
  let qemu: ChildProcess | undefined;
  let interrupted = false;
  const release = async () => {
    if (qemu) await stopProcess(qemu);
    await rm(scratch, { recursive: true, force: true });
  };
  const unregister = registerCleanup(() => {
    interrupted = true;
    return release();
  });
  try {
    let ovmfVars: string | undefined;
    if (firmwareFiles.firmware === 'uefi' && firmwareFiles.vars) {
      // OVMF writes its variable store: every boot starts from a fresh, writable copy, never the shared template.
      ovmfVars = join(scratch, 'OVMF_VARS.fd');
      await copyFile(firmwareFiles.vars, ovmfVars);
      await chmod(ovmfVars, 0o600);
    }
    const args = buildQemuArgs({
      artifact,
      ...medium,
      firmware,
      ovmfCode: firmwareFiles.firmware === 'uefi' ? firmwareFiles.code : undefined,
      ovmfVars,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      accel: [decision.accelerator],
    });
    const command = formatCommand(binary, args);
    await mkdir(dirname(logPath), { recursive: true });
    await writeFile(logPath, `$ ${command}\n`);

    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    qemu = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    events.notify({ kind: 'started', command, logPath });
    const watched = await watchBoot(qemu, { binary, logPath, timeoutSeconds, elapsed, events, interrupted: () => interrupted });
    const seconds = round(elapsed());
    await stopProcess(qemu);
    await watched.logClosed();
    events.rethrow();
    return {
      ok: watched.ok,
      reason: watched.ok ? `reached multi-user.target and a login prompt after ${seconds} s` : watched.reason,
      seconds,
      logPath,
      accelerator: decision.accelerator,
      markers: watched.markers,
    };
  } finally {
    await release();
    unregister();
  }
}

async function assertArtifactFile(artifact: string): Promise<void> {
  let info;
  try {
    info = await stat(artifact);
  } catch {
    throw new UserError(`Artifact not found: ${artifact}`, 'build it first, or check the path');
  }
  if (!info.isFile()) throw new UserError(`Not a file: ${artifact}`, 'pass the ISO or disk image itself');
}

interface WatchContext {
  binary: string;
  logPath: string;
  timeoutSeconds: number;
  elapsed: () => number;
  events: Notifier;
  /** True once Ctrl-C stopped qemu: its exit is then no verdict on the image. */
  interrupted: () => boolean;
}

interface WatchOutcome {
  ok: boolean;
  reason: string;
  markers: Markers;
  logClosed: () => Promise<void>;
}

/** Feed qemu's serial output to the watcher and the log until a verdict, qemu's exit or the timeout. */
async function watchBoot(qemu: ChildProcess, context: WatchContext): Promise<WatchOutcome> {
  const watcher = new SerialWatcher();
  const decoder = new StringDecoder('utf8');
  const log = createWriteStream(context.logPath, { flags: 'a' });
  let logError: Error | undefined;
  // qemu's pipes can still deliver data after it exited and the log was closed; that output is dropped.
  let logEnded = false;
  // A full disk must not crash the process (and orphan qemu); it is reported after the boot.
  log.on('error', (error) => {
    logError ??= error;
  });
  let stderr = '';
  let stderrAtLineStart = true;
  let sawOutput = false;

  const verdict = await new Promise<{ ok: boolean; reason: string }>((resolveVerdict, rejectVerdict) => {
    const timer = setTimeout(() => resolveVerdict({ ok: false, reason: describeTimeout(context.timeoutSeconds, watcher.markers) }), context.timeoutSeconds * 1000);
    const settle = (outcome: { ok: boolean; reason: string }) => {
      clearTimeout(timer);
      resolveVerdict(outcome);
    };

    qemu.stdout?.on('data', (chunk: Buffer) => {
      sawOutput = true;
      if (!logEnded) log.write(chunk);
      const seconds = context.elapsed();
      const update = watcher.feed(decoder.write(chunk), seconds);
      for (const text of update.lines) context.events.notify({ kind: 'line', text, seconds });
      for (const marker of update.markers) context.events.notify({ kind: 'marker', ...marker });
      const state = watcher.state;
      if (state.status === 'up') settle({ ok: true, reason: '' });
      else if (state.status === 'failed') settle({ ok: false, reason: state.reason });
      else if (context.events.failed()) settle({ ok: false, reason: 'progress callback failed' });
    });
    qemu.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderr += text;
      // Prefix whole lines, though a line may arrive in several chunks.
      let marked = '';
      for (const piece of text.split(/(?<=\n)/)) {
        marked += (stderrAtLineStart ? '[qemu] ' : '') + piece;
        stderrAtLineStart = piece.endsWith('\n');
      }
      if (!logEnded) log.write(marked);
    });
    qemu.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      rejectVerdict(error.code === 'ENOENT' ? missingQemuError(context.binary) : new Error(`could not start ${context.binary}: ${error.message}`));
    });
    // "close" rather than "exit": the last serial output may still be in the pipe when the process ends.
    qemu.once('close', (code, signal) => {
      if (context.interrupted()) {
        settle({ ok: false, reason: 'interrupted' });
        return;
      }
      const status = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      const detail = lastLines(stderr, 5);
      settle({ ok: false, reason: `qemu ${status} before the system came up${detail ? `:\n${indent(detail)}` : ''}` });
    });
  }).catch(async (error: unknown) => {
    logEnded = true;
    await closeStream(log);
    throw error;
  });

  const tail = watcher.tail(20);
  const serial = sawOutput && tail.length > 0
    ? `last serial output:\n${indent(tail.join('\n'))}`
    : 'no serial output (is console=ttyS0 on the kernel command line, and does the firmware find the boot loader?)';
  return {
    ok: verdict.ok,
    reason: verdict.ok ? '' : `${verdict.reason}\n${serial}`,
    markers: roundMarkers(watcher.markers),
    logClosed: async () => {
      logEnded = true;
      await closeStream(log);
      if (logError) throw new Error(`could not write the serial log ${context.logPath}: ${logError.message}`);
    },
  };
}

function describeTimeout(timeoutSeconds: number, markers: Markers): string {
  const wanted: MarkerName[] = ['kernel', 'multi-user', 'login'];
  const missing = wanted.filter((name) => markers[name] === undefined);
  const seen = Object.keys(markers);
  return `no login prompt within ${timeoutSeconds} s (seen: ${seen.join(', ') || 'nothing'}; missing: ${missing.join(', ')})`;
}

/** SIGTERM, then SIGKILL if qemu has not exited after a grace period. */
async function stopProcess(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  if (await settlesWithin(exited, graceMs)) return;
  child.kill('SIGKILL');
  // A process stuck in the kernel can outlive SIGKILL for a while; do not hang the caller on it.
  await settlesWithin(exited, graceMs);
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  const settled = await Promise.race([promise.then(() => true as const), timeout]);
  clearTimeout(timer);
  return settled;
}

interface Notifier {
  notify: (event: BootEvent) => void;
  failed: () => boolean;
  rethrow: () => void;
}

/** Callbacks run inside stream handlers, where a throw would crash the process and orphan qemu; it is rethrown after cleanup instead. */
function createNotifier(options: Pick<SmokeBootOptions, 'onEvent' | 'onMarker'>): Notifier {
  let error: unknown;
  let hasError = false;
  return {
    notify(event) {
      if (hasError) return;
      try {
        options.onEvent?.(event);
        if (event.kind === 'marker') options.onMarker?.(event.name, event.seconds);
      } catch (caught) {
        error = caught;
        hasError = true;
      }
    },
    failed: () => hasError,
    rethrow() {
      if (hasError) throw error;
    },
  };
}

function closeStream(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolveClose) => stream.end(() => resolveClose()));
}

function roundMarkers(markers: Markers): Markers {
  return Object.fromEntries(Object.entries(markers).map(([name, seconds]) => [name, round(seconds)]));
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}
