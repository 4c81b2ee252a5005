/**
 * One running qemu: its serial console goes to a log and through a
 * SerialWatcher, and callers wait on it for a boot verdict, for a reboot's
 * next boot, or for qemu to exit by itself. Knows nothing about what is being
 * booted; guest.ts decides that.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { formatCommand } from '../exec/run.js';
import { lastLines } from '../progress/tail.js';
import { missingQemuError } from './accel.js';
import { QmpShutdownWatch } from './qmp.js';
import type { Accelerator } from './qemu-args.js';
import { SerialWatcher, type MarkerName, type Markers } from './serial-watch.js';

/** How long qemu gets to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5000;

export type BootEvent =
  | { kind: 'accelerator'; accelerator: Accelerator; reason: string }
  | { kind: 'started'; command: string; logPath: string }
  | { kind: 'marker'; name: MarkerName; seconds: number }
  | { kind: 'line'; text: string; seconds: number };

export interface BootVerdict {
  ok: boolean;
  /** On failure, ends with the last lines of serial output. */
  reason: string;
  /** From the start of this boot (qemu's start, or the guest's restart) to the verdict. */
  seconds: number;
  markers: Markers;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface QemuStartOptions {
  binary: string;
  args: string[];
  logPath: string;
  onEvent?: (event: BootEvent) => void;
  /**
   * Turn the guest's resets into power cycles: qemu runs with -no-reboot and a QMP socket at this path, and when it
   * ends because the guest reset, it is started again with the same arguments (the same disks and firmware variables).
   * Under TCG a warm reset of OVMF with SMM has hung for good (no firmware output at 100 % CPU); a cold start has not.
   */
  powerCycleSocket?: string;
}

/** What the log and the watcher get between a reset and qemu's next start. */
export const POWER_CYCLE_LINE = '[ros-build] power cycle: the guest reset; qemu starts again with the same disks and firmware variables';

export class QemuProcess {
  private readonly started = performance.now();
  private readonly decoder = new StringDecoder('utf8');
  private watcher = new SerialWatcher();
  /** qemu time at which the current watcher's boot began. */
  private watchStart = 0;
  private readonly listeners = new Set<() => void>();
  private sawOutput = false;
  private stderr = '';
  private stderrAtLineStart = true;
  private exit: ExitStatus | undefined;
  private spawnError: Error | undefined;
  private logError: Error | undefined;
  /** qemu's pipes can still deliver data after it exited and the log was closed; that output is dropped. */
  private logEnded = false;
  private callbackError: { error: unknown } | undefined;
  private interrupted = false;
  /** Resolves once qemu ended for good (not for a power cycle's restart). */
  private readonly closed: Promise<void>;
  private resolveClosed: () => void = () => undefined;
  private stopping = false;
  private qmp: Promise<QmpShutdownWatch | undefined> | undefined;
  /** What the serial console printed, escape sequences removed, for waitForSerial (the last MiB). */
  private serialText = '';
  /** Where in serialText the next waitForSerial starts looking. */
  private serialMark = 0;
  /** The start of an escape sequence the last chunk ended in. */
  private serialPending = '';

  private constructor(
    private child: ChildProcess,
    private readonly log: WriteStream,
    readonly command: string,
    readonly logPath: string,
    private readonly binary: string,
    private readonly args: readonly string[],
    private readonly onEvent: ((event: BootEvent) => void) | undefined,
    private readonly powerCycleSocket: string | undefined,
  ) {
    // A full disk must not crash the process (and orphan qemu); it fails the next wait instead.
    log.on('error', (error) => {
      this.logError ??= error;
      this.changed();
    });
    this.closed = new Promise((resolveClosed) => {
      this.resolveClosed = resolveClosed;
    });
    this.attach(child);
  }

  private attach(child: ChildProcess): void {
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.onSerial(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.onStderr(chunk));
    child.once('error', (error: NodeJS.ErrnoException) => {
      this.spawnError = error.code === 'ENOENT' ? missingQemuError(this.binary) : new Error(`could not start ${this.binary}: ${error.message}`);
      this.changed();
    });
    const gone = () => child.exitCode !== null || child.signalCode !== null;
    if (this.powerCycleSocket) this.qmp = QmpShutdownWatch.connect(this.powerCycleSocket, gone).catch((error: Error) => {
      if (!gone()) this.onStderr(Buffer.from(`${error.message}: a reset will end this run\n`));
      return undefined;
    });
    // "close" rather than "exit": the last serial output may still be in the pipe when the process ends.
    child.once('close', (code, signal) => void this.onClose(code, signal));
  }

  private async onClose(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const qmp = await this.qmp;
    // The SHUTDOWN event is written before qemu exits; its connection's end means it has been read.
    if (qmp) await settlesWithin(qmp.ended, 2000);
    if (qmp?.shutdownReason === 'guest-reset' && code === 0 && !this.stopping && !this.spawnError) {
      if (!this.logEnded) this.log.write(`\n${POWER_CYCLE_LINE}\n`);
      this.watcher.feed(`\n${POWER_CYCLE_LINE}\n`, this.elapsed() - this.watchStart);
      this.notify({ kind: 'line', text: POWER_CYCLE_LINE, seconds: this.elapsed() - this.watchStart });
      this.attach(spawn(this.binary, [...this.args], { stdio: ['pipe', 'pipe', 'pipe'] }));
      return;
    }
    qmp?.close();
    this.exit = { code, signal };
    this.changed();
    this.resolveClosed();
  }

  /** Write the command at the top of the log and start qemu. */
  static async start(options: QemuStartOptions): Promise<QemuProcess> {
    const args = options.powerCycleSocket
      ? [...options.args.filter((arg) => arg !== '-no-reboot'), '-no-reboot', '-qmp', `unix:${options.powerCycleSocket},server=on,wait=off`]
      : options.args;
    const command = formatCommand(options.binary, args);
    await mkdir(dirname(options.logPath), { recursive: true });
    await writeFile(options.logPath, `$ ${command}\n`);
    const log = createWriteStream(options.logPath, { flags: 'a' });
    // stdin is the serial console's input (-serial stdio): typeOnSerial writes there.
    const child = spawn(options.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const qemu = new QemuProcess(child, log, command, options.logPath, options.binary, args, options.onEvent, options.powerCycleSocket);
    qemu.notify({ kind: 'started', command, logPath: options.logPath });
    return qemu;
  }

  /** Seconds since qemu started. */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  get running(): boolean {
    return this.exit === undefined && this.spawnError === undefined;
  }

  /** Markers of the boot being watched, so far. */
  get markers(): Markers {
    return roundMarkers(this.watcher.markers);
  }

  /**
   * Resolve when the boot being watched reaches multi-user and a login
   * prompt, fails, qemu exits, or timeoutSeconds after the boot began. Rejects
   * for problems of the host, not the guest: qemu missing, the log not
   * writable, a progress callback that threw.
   */
  waitForBoot(timeoutSeconds: number): Promise<BootVerdict> {
    return new Promise((resolveVerdict, rejectVerdict) => {
      const remainingMs = Math.max(0, (this.watchStart + timeoutSeconds - this.elapsed()) * 1000);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      const fail = (reason: string) => finish(() => resolveVerdict(this.verdict(false, reason)));
      const check = () => {
        const hostProblem = this.hostProblem();
        if (hostProblem) return finish(() => rejectVerdict(hostProblem.error));
        const state = this.watcher.state;
        if (state.status === 'up') return finish(() => resolveVerdict(this.verdict(true, '')));
        if (state.status === 'failed') return fail(state.reason);
        if (this.exit) fail(this.interrupted ? 'interrupted' : this.describeExit('before the system came up'));
      };
      const timer = setTimeout(() => fail(this.describeTimeout(timeoutSeconds)), remainingMs);
      this.listeners.add(check);
      check();
    });
  }

  /**
   * From now on watch for the guest's next boot: call it before asking the
   * guest to reboot, so no output of the restart is missed.
   */
  watchNextBoot(): void {
    this.watcher = new SerialWatcher({ afterRestart: true });
    this.watchStart = this.elapsed();
  }

  /** Type on the serial console, as a person at it would ("\r" is Enter, "\x03" Ctrl-C). */
  typeOnSerial(text: string): void {
    if (!this.running || !this.child.stdin) throw new Error('qemu is not running: nothing to type on');
    this.child.stdin.write(text);
  }

  /**
   * Resolve with the first match of pattern in what the serial console printed
   * since the last match (escape sequences removed); reject after
   * timeoutSeconds, or when qemu exits, with the last lines printed.
   */
  waitForSerial(pattern: RegExp, timeoutSeconds: number): Promise<RegExpExecArray> {
    return new Promise((resolveMatch, rejectMatch) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      const failure = (why: string) => new Error(`${why} waiting for ${pattern} on the serial console; it printed:\n${indent(lastLines(this.serialText.slice(this.serialMark), 15))}`);
      const check = () => {
        const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(this.serialText.slice(this.serialMark));
        if (match) {
          this.serialMark += match.index + match[0].length;
          return finish(() => resolveMatch(match));
        }
        if (this.exit || this.spawnError) finish(() => rejectMatch(failure('qemu exited')));
      };
      const timer = setTimeout(() => finish(() => rejectMatch(failure(`${timeoutSeconds} s passed`))), timeoutSeconds * 1000);
      this.listeners.add(check);
      check();
    });
  }

  /** qemu's exit status once it ends by itself (a guest that powers off), or undefined after timeoutSeconds. */
  async waitForExit(timeoutSeconds: number): Promise<ExitStatus | undefined> {
    if (this.spawnError) throw this.spawnError;
    if (!(await settlesWithin(this.closed, timeoutSeconds * 1000))) return undefined;
    return this.exit;
  }

  /** Stop qemu (SIGTERM, then SIGKILL after a grace period) and close the log. Safe to call twice. */
  async stop(options: { interrupted?: boolean } = {}): Promise<void> {
    if (options.interrupted) this.interrupted = true;
    this.stopping = true;
    await stopProcess(this.child);
    // The process's end is handled once its QMP connection has ended too.
    await settlesWithin(this.closed, STOP_GRACE_MS);
    if (!this.logEnded) {
      this.logEnded = true;
      await new Promise<void>((resolveEnd) => this.log.end(() => resolveEnd()));
    }
  }

  /** The last lines of serial output, or why there are none. */
  describeSerial(): string {
    const tail = this.watcher.tail(20);
    return this.sawOutput && tail.length > 0
      ? `last serial output:\n${indent(tail.join('\n'))}`
      : 'no serial output (is console=ttyS0 on the kernel command line, and does the firmware find the boot loader?)';
  }

  /** "qemu exited with code 1 <when>:" and its last stderr lines. */
  describeExit(when: string): string {
    const status = this.exit?.code === null ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit?.code}`;
    const detail = lastLines(this.stderr, 5);
    return `qemu ${status} ${when}${detail ? `:\n${indent(detail)}` : ''}`;
  }

  private hostProblem(): { error: unknown } | undefined {
    if (this.callbackError) return this.callbackError;
    if (this.spawnError) return { error: this.spawnError };
    if (this.logError) return { error: new Error(`could not write the serial log ${this.logPath}: ${this.logError.message}`) };
    return undefined;
  }

  private verdict(ok: boolean, reason: string): BootVerdict {
    const seconds = round(this.elapsed() - this.watchStart);
    return { ok, reason: ok ? '' : `${reason}\n${this.describeSerial()}`, seconds, markers: this.markers };
  }

  private describeTimeout(timeoutSeconds: number): string {
    const markers = this.watcher.markers;
    if (!this.watcher.restarted) return `the guest did not restart within ${timeoutSeconds} s`;
    const wanted: MarkerName[] = ['kernel', 'multi-user', 'login'];
    const missing = wanted.filter((name) => markers[name] === undefined);
    const seen = Object.keys(markers);
    return `no login prompt within ${timeoutSeconds} s (seen: ${seen.join(', ') || 'nothing'}; missing: ${missing.join(', ')})`;
  }

  private onSerial(chunk: Buffer): void {
    this.sawOutput = true;
    if (!this.logEnded) this.log.write(chunk);
    const seconds = this.elapsed() - this.watchStart;
    const text = this.decoder.write(chunk);
    this.keepSerialText(text);
    const update = this.watcher.feed(text, seconds);
    for (const text of update.lines) this.notify({ kind: 'line', text, seconds });
    for (const marker of update.markers) this.notify({ kind: 'marker', ...marker });
    this.changed();
  }

  private keepSerialText(text: string): void {
    // Colours, cursor moves and the carriage returns of a terminal session are not what a reader matches on.
    // A sequence cut in two by the pipe waits for its end in the next chunk.
    const combined = this.serialPending + text;
    const cut = /\x1b(?:\[[0-9;?]*|[()])?$/.exec(combined);
    this.serialPending = cut ? cut[0] : '';
    this.serialText += combined.slice(0, cut ? cut.index : undefined).replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g, '');
    const excess = this.serialText.length - 2 ** 20;
    if (excess > 0) {
      this.serialText = this.serialText.slice(excess);
      this.serialMark = Math.max(0, this.serialMark - excess);
    }
  }

  private onStderr(chunk: Buffer): void {
    const text = chunk.toString('utf8');
    this.stderr += text;
    // Prefix whole lines, though a line may arrive in several chunks.
    let marked = '';
    for (const piece of text.split(/(?<=\n)/)) {
      marked += (this.stderrAtLineStart ? '[qemu] ' : '') + piece;
      this.stderrAtLineStart = piece.endsWith('\n');
    }
    if (!this.logEnded) this.log.write(marked);
  }

  /** Callbacks run inside stream handlers, where a throw would crash the process and orphan qemu; it fails the waits instead. */
  private notify(event: BootEvent): void {
    if (this.callbackError || !this.onEvent) return;
    try {
      this.onEvent(event);
    } catch (error) {
      this.callbackError = { error };
    }
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** SIGTERM, then SIGKILL if the process has not exited after a grace period. */
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

function roundMarkers(markers: Markers): Markers {
  return Object.fromEntries(Object.entries(markers).map(([name, seconds]) => [name, round(seconds)]));
}

export function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}
