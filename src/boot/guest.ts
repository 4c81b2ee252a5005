/**
 * A booted guest to look inside: qemu started for an artifact (firmware,
 * accelerator, serial log, cleanup on Ctrl-C), its login prompt awaited on
 * the serial console, then commands over SSH through a forwarded port.
 *
 *   const guest = await startGuest({ artifact, ssh: { keyFile, user: 'root' } });
 *   try {
 *     await guest.waitForLogin();
 *     const { exitCode, stdout } = await guest.run('cat /proc/cmdline');
 *     await guest.reboot();
 *   } finally {
 *     await guest.stop();
 *   }
 */
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { registerCleanup } from '../cleanup.js';
import { detectAccelerator, QEMU_BINARY } from './accel.js';
import { locateFirmware } from './firmware.js';
import { serveNetbootDir, type NetbootServing } from './netboot-serve.js';
import type { RequestLog } from '../serve/static-server.js';
import { assertArtifact, assertFormatMatches, defaultLogPath, inferBootMedium, unpackBootDisk, type BootMedium } from './medium.js';
import { computePhases, type Phase } from './phases.js';
import { buildQemuArgs, type Accelerator, type ArtifactKind, type DiskBus, type DriveOptions, type Firmware } from './qemu-args.js';
import { QemuProcess, type BootEvent, type ExitStatus } from './qemu-process.js';
import type { MarkerName, Markers } from './serial-watch.js';
import { assertUsableKey, closeSharedConnection, DEFAULT_SSH_USER, runSsh, SSH_FAILED, waitForSsh, type CommandResult, type RunOptions, type SshTarget } from './ssh.js';
import { addSystemdTimes, parseSystemdStartup, type SystemdTimes } from './systemd-times.js';
import { findFreePort, gatewayAddress, type GuestForward, type HostForward } from './user-net.js';

export type { BootEvent, ExitStatus } from './qemu-process.js';
export type { CommandResult } from './ssh.js';

export const DEFAULT_TIMEOUT_SECONDS = 300;
/** First boots make SSH host keys before sshd starts: about a minute under TCG. */
export const DEFAULT_SSH_TIMEOUT_SECONDS = 180;

export interface GuestOptions {
  /** The ISO or disk image, or a netboot directory (served to the guest when its URL is the host's, 10.0.2.2). */
  artifact: string;
  /** Inferred when omitted: a directory is a netboot one, then by extension: .iso, or a disk (.img, .raw, .qcow2, .vhd, .vmdk). */
  kind?: ArtifactKind;
  /** A disk format as `ros-build disk` names it, or an alias (vpc …); default: from the file name. Naming one implies a disk. */
  diskFormat?: string;
  /** Default virtio. */
  diskBus?: DiskBus;
  /** Boot an ISO as a raw disk, the way it boots written to a USB stick. */
  asDisk?: boolean;
  /** Leave a disk unchanged: guest writes go to an overlay that lives as long as qemu (always for VMDK and ISOs). */
  snapshot?: boolean;
  /** Default bios. */
  firmware?: Firmware;
  /** uefi-secure: the variable store to start from (copied per run), with the keys one enrolled; default OVMF's with Microsoft's keys. */
  ovmfVars?: string;
  /** Per boot: from qemu's start (or the restart) to the login prompt. Default 300. */
  timeoutSeconds?: number;
  memoryMiB?: number;
  cpus?: number;
  /** qemu -cpu model; default max under KVM, qemu's default under TCG. */
  cpu?: string;
  /** Default auto: KVM only when a probe guest runs well under it. */
  accelerator?: 'auto' | Accelerator;
  /** Default beside the artifact: <artifact>.<firmware>.serial.log (…-disk… for an ISO booted as a disk). */
  logPath?: string;
  qemuBinary?: string;
  /** Forward a host port on 127.0.0.1 to the guest's port 22 and run commands with this key. */
  ssh?: {
    keyFile: string;
    /** Default rancher. */
    user?: string;
    /** Default: a free port. */
    port?: number;
    /** How long run() waits for sshd after each boot; default 180 s. */
    timeoutSeconds?: number;
    binary?: string;
  };
  /** qemu user network: its address range (default 10.0.2.0/24) and forwards beyond SSH. */
  network?: {
    cidr?: string;
    hostForwards?: readonly HostForward[];
    /** Guest connections to an address of the network, joined to a host service (see forwardToHost). */
    guestForwards?: readonly GuestForward[];
  };
  /** More drives after the boot medium (a NoCloud seed, a scratch disk). */
  drives?: readonly DriveOptions[];
  /** Default false: qemu keeps running across guest reboots. smokeBoot sets it, so a boot loop ends the run. */
  exitOnReboot?: boolean;
  onEvent?: (event: BootEvent) => void;
  /** A netboot directory served here: each request the guest made, once answered. */
  onServed?: (entry: RequestLog) => void;
  /** Shorthand for the marker events alone. */
  onMarker?: (marker: MarkerName, seconds: number) => void;
}

export interface BootResult {
  ok: boolean;
  /** On failure, ends with the last lines of serial output. */
  reason: string;
  /** From qemu's start (or the guest's restart) to the verdict. */
  seconds: number;
  logPath: string;
  accelerator: Accelerator;
  markers: Markers;
  /** Where the time went: bootloader, kernel, initrd, userspace. */
  phases: Phase[];
}

export interface BootTimes {
  markers: Markers;
  phases: Phase[];
  /** systemd's account, when SSH could ask for it. */
  systemd?: SystemdTimes;
}

/** A boot that did not reach the login prompt; result says why. */
export class BootError extends Error {
  constructor(readonly result: BootResult) {
    super(`boot failed: ${result.reason}\n  serial log: ${result.logPath}`);
    this.name = 'BootError';
  }
}

export interface SerialConsole {
  /** Type text ("\r" is Enter, "\x03" Ctrl-C). */
  type(text: string): void;
  /** The first match of pattern printed since the last match; rejects after timeoutSeconds (default 120) with what was printed. */
  expect(pattern: RegExp, timeoutSeconds?: number): Promise<RegExpExecArray>;
}

export interface Guest {
  readonly logPath: string;
  readonly accelerator: Accelerator;
  /** The qemu command line, as written at the top of the serial log. */
  readonly command: string;
  readonly medium: BootMedium;
  /** The host port forwarded to the guest's port 22, when ssh was asked for. */
  readonly sshPort: number | undefined;
  /** The host as the guest sees it (qemu's gateway, 10.0.2.2 by default). */
  readonly hostAddress: string;
  /** Markers of the boot being watched, so far. */
  readonly markers: Markers;
  /** Wait for multi-user and a login prompt on the serial console; throws BootError when the boot fails or times out. */
  waitForLogin(options?: { timeoutSeconds?: number }): Promise<BootResult>;
  /** Wait until sshd answers with the key; run() does this itself after each boot. */
  waitForSsh(options?: { timeoutSeconds?: number }): Promise<void>;
  /** Run a shell command in the guest; a failing command is a result, not an exception. */
  run(command: string, options?: Pick<RunOptions, 'timeoutSeconds' | 'input'>): Promise<CommandResult>;
  /** Reboot over SSH and wait for the next boot's login prompt and for sshd again. */
  reboot(options?: { command?: string; timeoutSeconds?: number }): Promise<BootResult>;
  /**
   * Where the last boot's time went: the serial markers completed with
   * systemd's own split (`systemd-analyze time` over SSH), which a quiet boot
   * needs. Without SSH, or when systemd has not finished starting within
   * timeoutSeconds (default 60), the serial markers alone.
   */
  measureBoot(options?: { timeoutSeconds?: number }): Promise<BootTimes>;
  /** qemu's exit status when it ends by itself (the guest powered off), or undefined after timeoutSeconds. */
  waitForExit(timeoutSeconds: number): Promise<ExitStatus | undefined>;
  /** The serial console as a person at it uses it: type, and wait for what it prints (a prompt, a command's output). */
  readonly console: SerialConsole;
  /** Stop qemu and remove temporary files; the serial log is kept. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Start qemu for an artifact. Throws only for problems with the request or
 * the host (missing artifact, qemu, OVMF or key); a guest that does not boot
 * is reported by waitForLogin.
 */
export async function startGuest(options: GuestOptions): Promise<Guest> {
  const artifact = resolve(options.artifact);
  const found = await assertArtifact(artifact);
  const request = { kind: options.kind ?? (found === 'netboot' ? ('netboot' as const) : undefined), format: options.diskFormat, asDisk: options.asDisk, snapshot: options.snapshot, bus: options.diskBus };
  const medium = inferBootMedium(artifact, request);
  const firmware = options.firmware ?? 'bios';
  const firmwareFiles = await locateFirmware(firmware, { secureVars: options.ovmfVars });
  const logPath = resolve(options.logPath ?? defaultLogPath(artifact, firmware, medium));
  const binary = options.qemuBinary ?? QEMU_BINARY;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) throw new Error(`invalid boot timeout: ${timeoutSeconds} s`);
  if (options.ssh) await assertUsableKey(options.ssh.keyFile);
  const onEvent = combineCallbacks(options);

  const decision =
    options.accelerator === undefined || options.accelerator === 'auto'
      ? await detectAccelerator({ qemuBinary: binary })
      : { accelerator: options.accelerator, reason: 'requested' };
  onEvent?.({ kind: 'accelerator', ...decision });

  // Also where an archive's disk is unpacked (sparse: what the disk holds, not its size; TMPDIR moves it).
  const scratch = await mkdtemp(join(tmpdir(), 'ros-build-boot-'));
  let qemu: QemuProcess | undefined;
  let target: SshTarget | undefined;
  let netboot: NetbootServing | undefined;
  const release = async (interrupted: boolean) => {
    if (target) await closeSharedConnection(target, options.ssh?.binary);
    await qemu?.stop({ interrupted });
    await netboot?.close();
    await rm(scratch, { recursive: true, force: true });
  };
  const unregister = registerCleanup(() => release(true));
  try {
    if (medium.kind === 'netboot') netboot = await serveNetbootDir(artifact, gatewayAddress(options.network?.cidr), options.onServed);
    const disk = netboot ? netboot.bootfile : await unpackBootDisk(artifact, medium, scratch);
    await assertFormatMatches(disk, medium, request);
    let ovmfVars: string | undefined;
    if (firmwareFiles.firmware !== 'bios' && firmwareFiles.vars) {
      // OVMF writes its variable store: every run starts from a fresh, writable copy, never the shared template.
      ovmfVars = join(scratch, 'OVMF_VARS.fd');
      await copyFile(firmwareFiles.vars, ovmfVars);
      await chmod(ovmfVars, 0o600);
    }
    const sshPort = options.ssh ? (options.ssh.port ?? (await findFreePort())) : undefined;
    const args = buildQemuArgs({
      artifact: disk,
      kind: medium.kind,
      ...(medium.kind === 'disk' ? { diskFormat: medium.format, diskBus: medium.bus, snapshot: medium.snapshot } : {}),
      firmware,
      ovmfCode: firmwareFiles.firmware === 'bios' ? undefined : firmwareFiles.code,
      ovmfVars,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      cpu: options.cpu,
      accel: [decision.accelerator],
      exitOnReboot: options.exitOnReboot ?? false,
      network: {
        cidr: options.network?.cidr,
        hostForwards: [...(sshPort === undefined ? [] : [{ hostPort: sshPort, guestPort: 22 }]), ...(options.network?.hostForwards ?? [])],
        guestForwards: options.network?.guestForwards,
      },
      drives: options.drives,
    });
    // A session that reboots under OVMF power-cycles instead (see powerCycleSocket); not with a snapshot overlay, which qemu's exit would discard.
    const snapshot = (medium.kind === 'disk' && medium.snapshot) || (options.drives ?? []).some((drive) => drive.snapshot);
    const powerCycleSocket = !(options.exitOnReboot ?? false) && firmware !== 'bios' && !snapshot ? join(scratch, 'qmp.sock') : undefined;
    qemu = await QemuProcess.start({ binary, args, logPath, onEvent, powerCycleSocket });
    target = options.ssh && sshPort !== undefined
      ? { host: '127.0.0.1', port: sshPort, user: options.ssh.user ?? DEFAULT_SSH_USER, keyFile: options.ssh.keyFile, controlPath: join(scratch, 'ssh') }
      : undefined;
    return new RunningGuest(qemu, {
      medium,
      accelerator: decision.accelerator,
      hostAddress: gatewayAddress(options.network?.cidr),
      timeoutSeconds,
      target,
      sshTimeoutSeconds: options.ssh?.timeoutSeconds ?? DEFAULT_SSH_TIMEOUT_SECONDS,
      sshBinary: options.ssh?.binary,
      exitOnReboot: options.exitOnReboot ?? false,
      release: async () => {
        await release(false);
        unregister();
      },
    });
  } catch (error) {
    await release(false);
    unregister();
    throw error;
  }
}

interface GuestSettings {
  medium: BootMedium;
  accelerator: Accelerator;
  hostAddress: string;
  timeoutSeconds: number;
  target: SshTarget | undefined;
  sshTimeoutSeconds: number;
  sshBinary: string | undefined;
  exitOnReboot: boolean;
  release: () => Promise<void>;
}

class RunningGuest implements Guest {
  /** sshd answered since the current boot began. */
  private sshReady = false;
  private lastBoot: BootResult | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly qemu: QemuProcess,
    private readonly settings: GuestSettings,
  ) {}

  get logPath(): string {
    return this.qemu.logPath;
  }

  get accelerator(): Accelerator {
    return this.settings.accelerator;
  }

  get command(): string {
    return this.qemu.command;
  }

  get medium(): BootMedium {
    return this.settings.medium;
  }

  get sshPort(): number | undefined {
    return this.settings.target?.port;
  }

  get hostAddress(): string {
    return this.settings.hostAddress;
  }

  get markers(): Markers {
    return this.qemu.markers;
  }

  get console(): SerialConsole {
    return {
      type: (text) => this.qemu.typeOnSerial(text),
      expect: (pattern, timeoutSeconds = 120) => this.qemu.waitForSerial(pattern, timeoutSeconds),
    };
  }

  async waitForLogin(options: { timeoutSeconds?: number } = {}): Promise<BootResult> {
    const verdict = await this.qemu.waitForBoot(options.timeoutSeconds ?? this.settings.timeoutSeconds);
    const result: BootResult = {
      ok: verdict.ok,
      reason: verdict.ok ? `reached multi-user.target and a login prompt after ${verdict.seconds} s` : verdict.reason,
      seconds: verdict.seconds,
      logPath: this.logPath,
      accelerator: this.accelerator,
      markers: verdict.markers,
      phases: computePhases(verdict.markers, verdict.seconds),
    };
    this.lastBoot = result;
    if (!result.ok) throw new BootError(result);
    return result;
  }

  async measureBoot(options: { timeoutSeconds?: number } = {}): Promise<BootTimes> {
    const markers = this.lastBoot?.markers ?? this.markers;
    const serial = { markers, phases: computePhases(markers, this.lastBoot?.seconds) };
    if (!this.settings.target || !this.lastBoot?.ok) return serial;
    const deadline = performance.now() + (options.timeoutSeconds ?? 60) * 1000;
    for (;;) {
      // "Bootup is not yet finished" until every start job is done, which can be a little after the login prompt.
      const analyzed = await this.run('systemd-analyze time', { timeoutSeconds: 30 });
      const systemd = analyzed.exitCode === 0 ? parseSystemdStartup(analyzed.stdout) : undefined;
      if (systemd) {
        const combined = addSystemdTimes(markers, systemd);
        return { markers: combined, phases: computePhases(combined), systemd };
      }
      const unfinished = /not yet finished/.test(analyzed.stdout + analyzed.stderr);
      if (!unfinished || performance.now() > deadline) return serial;
      await new Promise((resolveWait) => setTimeout(resolveWait, 2000));
    }
  }

  async waitForSsh(options: { timeoutSeconds?: number } = {}): Promise<void> {
    const target = this.requireSsh('wait for SSH');
    await waitForSsh(target, {
      timeoutSeconds: options.timeoutSeconds ?? this.settings.sshTimeoutSeconds,
      binary: this.settings.sshBinary,
      abandon: () => (this.qemu.running ? undefined : `${this.qemu.describeExit('while waiting')}\n${this.qemu.describeSerial()}`),
    });
    this.sshReady = true;
  }

  async run(command: string, options: Pick<RunOptions, 'timeoutSeconds' | 'input'> = {}): Promise<CommandResult> {
    const target = this.requireSsh(`run "${command}"`);
    if (!this.sshReady) await this.waitForSsh();
    return runSsh(target, command, { ...options, binary: this.settings.sshBinary });
  }

  async reboot(options: { command?: string; timeoutSeconds?: number } = {}): Promise<BootResult> {
    const target = this.requireSsh('reboot');
    if (this.settings.exitOnReboot) throw new Error('this guest was started with exitOnReboot: qemu would exit instead of rebooting');
    if (!this.sshReady) await this.waitForSsh();
    const command = options.command ?? (target.user === 'root' ? 'systemctl reboot' : 'sudo -n systemctl reboot');
    // Watch before asking: the restart line could otherwise arrive before the watcher does.
    this.qemu.watchNextBoot();
    this.sshReady = false;
    const asked = await runSsh(target, command, { timeoutSeconds: 60, binary: this.settings.sshBinary });
    await closeSharedConnection(target, this.settings.sshBinary);
    // The connection may drop as sshd stops (255); any other failure means the guest refused.
    if (asked.exitCode !== 0 && asked.exitCode !== SSH_FAILED) {
      throw new Error(`"${command}" failed in the guest with exit code ${asked.exitCode}: ${asked.stderr.trim() || asked.stdout.trim()}`);
    }
    const result = await this.waitForLogin({ timeoutSeconds: options.timeoutSeconds });
    await this.waitForSsh();
    return result;
  }

  waitForExit(timeoutSeconds: number): Promise<ExitStatus | undefined> {
    return this.qemu.waitForExit(timeoutSeconds);
  }

  stop(): Promise<void> {
    this.stopped ??= this.settings.release();
    return this.stopped;
  }

  private requireSsh(what: string): SshTarget {
    if (!this.settings.target) throw new Error(`cannot ${what}: the guest was started without ssh options (a key file)`);
    return this.settings.target;
  }
}

function combineCallbacks(options: Pick<GuestOptions, 'onEvent' | 'onMarker'>): ((event: BootEvent) => void) | undefined {
  if (!options.onEvent && !options.onMarker) return undefined;
  return (event) => {
    options.onEvent?.(event);
    if (event.kind === 'marker') options.onMarker?.(event.name, event.seconds);
  };
}
