/**
 * Reads a serial console as it arrives and decides whether the system came up.
 * Pure: the caller supplies the text and the time, so transcripts can be
 * replayed in tests exactly as qemu delivered them.
 *
 * Success needs both systemd reaching multi-user.target and a getty login
 * prompt: multi-user alone can be reached while the console getty is broken,
 * and a prompt alone can come from an initrd or a half-started system.
 *
 * The markers also divide the boot into phases (phases.ts): firmware and boot
 * loader until the kernel's first line, the kernel until it runs the
 * initramfs, the initramfs until it switches to the real root, userspace
 * until the login prompt.
 */

export type MarkerName = 'bootloader' | 'kernel' | 'initrd' | 'switch-root' | 'multi-user' | 'login';
/** Seconds since the start of the boot at which each marker was first seen. */
export type Markers = Partial<Record<MarkerName, number>>;

export type WatchState =
  | { status: 'booting' }
  | { status: 'up' }
  | { status: 'failed'; reason: string };

export interface MarkerHit {
  name: MarkerName;
  seconds: number;
}

export interface WatchUpdate {
  /** Markers seen for the first time in this chunk, in order. */
  markers: MarkerHit[];
  /** Complete, non-empty lines of this chunk with escapes removed. */
  lines: string[];
}

interface MarkerRule {
  name: MarkerName;
  pattern: RegExp;
  /** Prompts are printed without a newline, so they are also looked for in the unfinished line. */
  prompt?: boolean;
}

const markerRules: readonly MarkerRule[] = [
  // GRUB's banner can arrive with cursor moves inside the words ("We", ESC[03;03H, "lcome"); its menu header follows.
  { name: 'bootloader', pattern: /Welcome to GRUB!|GNU GRUB {1,2}version \d|^\s*Booting `|^Loading Linux |ISOLINUX \d|SYSLINUX \d/ },
  // With "quiet" the kernel's banner is not printed, but any timestamped printk line (or the EFI stub) proves the kernel runs.
  { name: 'kernel', pattern: /Linux version \d|^\[\s*\d+\.\d+\] |^EFI stub: / },
  // The kernel hands over to the initramfs ("Run /init", a KERN_INFO line), whose systemd then greets with "(Initramfs)".
  { name: 'initrd', pattern: /\bRun \/init as init process\b|^Welcome to .+\(Initramfs\)!$|systemd\[1\]: Running in initrd\b/ },
  // The initramfs's systemd starts the switch, and the real root's systemd greets without "(Initramfs)"; whichever comes
  // first (status lines can be cut to the console width). Without an initramfs the kernel runs the real init itself.
  {
    name: 'switch-root',
    pattern: /Starting (?:initrd-switch-root\b|Switch Root\.\.\.)|systemd\[1\]: Switching root\.|^Welcome to (?!GRUB!)(?!.*\(Initramfs\)!$).+!$|\bRun \/(?!init )\S+ as init process\b/,
  },
  // Newer systemd names the unit ("multi-user.target - Multi-User System"), older prints only the description.
  // The OS also writes "ros: reached multi-user.target" to the kernel log (ros-boot-done.service), which reaches the
  // serial console even after systemd has stopped printing status there.
  { name: 'multi-user', pattern: /Reached target (?:multi-user\.target\b|Multi-User System\b)|\bros: reached multi-user\.target\b/ },
  // "<hostname> login:" anywhere in the line: kernel messages often land on the same line as the prompt.
  { name: 'login', pattern: /(?:^|\s)(?!Last login)[A-Za-z0-9][\w.-]* login:(?:\s|$)/, prompt: true },
];

interface FailureRule {
  label: string;
  pattern: RegExp;
  prompt?: boolean;
}

/*
 * Dead ends that no amount of waiting fixes. Warnings are deliberately absent:
 * dracut's "starting timeout scripts" and "/dev/... does not exist" often
 * precede a successful boot; only the emergency shell that may follow is fatal.
 */
const failureRules: readonly FailureRule[] = [
  { label: 'kernel panic', pattern: /Kernel panic - not syncing/ },
  { label: 'emergency mode', pattern: /You are in emergency mode|Entering emergency mode|Reached target (?:emergency\.target\b|Emergency Mode\b)/ },
  { label: 'rescue mode', pattern: /You are in rescue mode/ },
  { label: 'maintenance shell', pattern: /Give root password for maintenance|Cannot open access to console, the root account is locked/ },
  { label: 'initramfs shell', pattern: /Dropping to a shell!|Unable to find a medium containing a live file system/ },
  { label: 'initramfs shell', pattern: /^\(initramfs\)\s*$/, prompt: true },
  // OVMF with Secure Boot on, refusing the medium's loader: signed with a key its db does not hold (or not at all).
  { label: 'the firmware refused the boot loader (Secure Boot: Access Denied)', pattern: /BdsDxe: failed to load Boot\S+ .*: Access Denied/ },
  // The iPXE script of ros-build netboot, when a file could not be fetched (it stops at iPXE's shell instead of looping).
  { label: 'network boot failed (iPXE could not fetch the files)', pattern: /ros: network boot failed/ },
  { label: 'network boot failed (iPXE got no boot file)', pattern: /No more network devices|PXE-E\w+|Nothing to boot/ },
  { label: 'no bootable device', pattern: /No bootable device|BdsDxe: No bootable option/ },
  { label: 'firmware fell through to the UEFI shell', pattern: /UEFI Interactive Shell/ },
  { label: 'boot loader rescue shell', pattern: /^grub rescue>\s*$/, prompt: true },
  { label: 'boot loader shell (no configuration found)', pattern: /Minimal BASH-like line editing is supported/ },
];

// CSI (colours, cursor moves, "ESC[=3h" from OVMF), OSC, charset selection, and the remaining two-byte escapes.
// The last alternative excludes "[" and "]" so a sequence cut off by a chunk boundary is not half-removed.
const escapeSequence = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+][0-~]|[0-Z\\^-~])/g;
// Other control characters (BEL, backspace, NUL, a lone ESC) carry no text.
const controlCharacter = /[\x00-\x08\x0b-\x1f\x7f]/g;
const lineBreak = /\r\n|\r|\n/;

/**
 * Strip terminal escapes and control characters so patterns see plain text.
 * For an unfinished line, an ESC left after removing complete sequences is the
 * start of one the next chunk completes, so it and what follows are dropped.
 */
export function cleanSerialLine(raw: string, unfinished = false): string {
  let text = raw.replace(escapeSequence, '');
  if (unfinished) text = text.replace(/\x1b[^]*$/, '');
  return text.replace(controlCharacter, '').trimEnd();
}

const printkTimestamp = /^\[\s*(\d+\.\d+)\] /;

/*
 * When the kernel started, from a line it stamped with its uptime: the
 * line's arrival minus that uptime (the guest's clock follows the host's, also
 * under TCG). With "quiet" the first kernel line may come a minute into the
 * boot; the kernel still started near its beginning.
 */
function estimateKernelStart(line: string, seconds: number): number | undefined {
  const stamp = printkTimestamp.exec(line)?.[1];
  return stamp === undefined ? undefined : Math.max(0, seconds - Number(stamp));
}

/** A guest printing without newlines must not grow the buffer forever. */
const MAX_PENDING_CHARS = 8192;
const TAIL_LINES = 50;

/*
 * The kernel's last words before a reset (an emergency-level line, printed
 * even with "quiet"), SeaBIOS starting again for a reset that bypassed it, or
 * the harness's line when it power-cycles a guest that reset (qemu-process.ts).
 */
const restartPattern = /\breboot: Restarting system\b|^SeaBIOS \(version |^\[ros-build\] power cycle:/;

export interface WatcherOptions {
  /**
   * Watch the next boot of a running guest: everything before the guest
   * restarts (its shutdown, the old prompt) is ignored, and marker times count
   * from the restart line instead of from the first chunk.
   */
  afterRestart?: boolean;
}

export class SerialWatcher {
  private pending = '';
  private currentState: WatchState = { status: 'booting' };
  private readonly seen: Markers = {};
  private readonly recent: string[] = [];
  /** Until the restart line arrives (afterRestart only): undefined; afterwards, the time subtracted from marker times. */
  private origin: number | undefined;

  constructor(options: WatcherOptions = {}) {
    this.origin = options.afterRestart ? undefined : 0;
  }

  /** False while an afterRestart watcher still waits for the guest to restart. */
  get restarted(): boolean {
    return this.origin !== undefined;
  }

  get state(): WatchState {
    return this.currentState;
  }

  /** A copy of the markers seen so far. */
  get markers(): Markers {
    return { ...this.seen };
  }

  /**
   * Take the next piece of output (lines, escape sequences and markers may be
   * split anywhere). Nothing is evaluated once the boot is up or failed.
   */
  feed(chunk: string, seconds: number): WatchUpdate {
    const update: WatchUpdate = { markers: [], lines: [] };
    if (this.currentState.status !== 'booting') return update;

    const pieces = (this.pending + chunk).split(lineBreak);
    this.pending = pieces.pop() ?? '';
    if (this.pending.length > MAX_PENDING_CHARS) {
      pieces.push(this.pending);
      this.pending = '';
    }
    for (const raw of pieces) {
      const line = cleanSerialLine(raw);
      if (line.trim() === '') continue;
      this.remember(line);
      update.lines.push(line);
      if (this.origin === undefined) {
        if (restartPattern.test(line)) this.origin = seconds;
        continue;
      }
      this.examine(line, seconds - this.origin, false, update);
      if (this.currentState.status !== 'booting') return update;
    }
    const unfinished = cleanSerialLine(this.pending, true);
    if (unfinished.trim() !== '' && this.origin !== undefined) this.examine(unfinished, seconds - this.origin, true, update);
    return update;
  }

  /** The last meaningful lines, including an unfinished prompt, for failure messages. */
  tail(count = 20): string[] {
    const unfinished = cleanSerialLine(this.pending, true);
    const lines = unfinished.trim() === '' ? this.recent : [...this.recent, unfinished];
    return lines.slice(-count);
  }

  private examine(line: string, seconds: number, unfinished: boolean, update: WatchUpdate): void {
    const kernelStart = unfinished ? undefined : estimateKernelStart(line, seconds);
    for (const rule of markerRules) {
      if (this.seen[rule.name] !== undefined || (unfinished && !rule.prompt)) continue;
      if (rule.pattern.test(line)) {
        const at = rule.name === 'kernel' && kernelStart !== undefined ? kernelStart : seconds;
        this.seen[rule.name] = at;
        update.markers.push({ name: rule.name, seconds: at });
      }
    }
    // Later lines can only be delayed more on their way out, never less: the earliest estimate is the best.
    if (kernelStart !== undefined && this.seen.kernel !== undefined && kernelStart < this.seen.kernel) this.seen.kernel = kernelStart;
    for (const rule of failureRules) {
      if (unfinished && !rule.prompt) continue;
      if (rule.pattern.test(line)) {
        this.currentState = { status: 'failed', reason: `${rule.label}: ${line.trim()}` };
        return;
      }
    }
    if (this.seen['multi-user'] !== undefined && this.seen.login !== undefined) this.currentState = { status: 'up' };
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > TAIL_LINES) this.recent.shift();
  }
}
