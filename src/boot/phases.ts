/**
 * Where a boot's time went, from the serial markers: firmware and boot loader
 * (until the kernel's first line), kernel (until it runs the initramfs),
 * initramfs (until the switch to the real root), userspace (until the login
 * prompt). Pure, so transcripts' markers can be checked in tests.
 */
import type { MarkerName, Markers } from './serial-watch.js';

export type PhaseName = 'bootloader' | 'kernel' | 'initrd' | 'userspace';

export interface Phase {
  name: PhaseName;
  /**
   * This phase and the following ones whose start was not seen, which it
   * therefore includes: a quiet boot shows no initramfs on the console, so
   * its kernel phase runs on to the login prompt ("kernel+initrd+userspace").
   */
  spans: PhaseName[];
  /** From its first marker to the next phase's (or the login prompt). */
  seconds: number;
  /** False for the phase a boot was still in when it ended without a login prompt. */
  complete: boolean;
}

/** Each phase and the marker it starts at; the first starts with qemu (or the restart). */
const PHASE_STARTS: ReadonlyArray<[PhaseName, MarkerName | undefined]> = [
  ['bootloader', undefined],
  ['kernel', 'kernel'],
  ['initrd', 'initrd'],
  ['userspace', 'switch-root'],
];

/**
 * A phase whose start marker was not seen is folded into the phase before
 * (listed in its spans): a disk booted without an initramfs has no initrd
 * phase, a quiet one shows none. A marker earlier than the one before it is
 * ignored the same way.
 * Without a login marker the last phase runs to endSeconds, marked incomplete.
 */
export function computePhases(markers: Markers, endSeconds?: number): Phase[] {
  const starts: Array<{ spans: PhaseName[]; at: number }> = [];
  for (const [name, marker] of PHASE_STARTS) {
    const at = marker === undefined ? 0 : markers[marker];
    const previous = starts[starts.length - 1];
    if (previous && (at === undefined || at < previous.at)) previous.spans.push(name);
    else if (at !== undefined) starts.push({ spans: [name], at });
  }
  const login = markers.login;
  const end = login ?? endSeconds;
  return starts.flatMap(({ spans, at }, i) => {
    const next = starts[i + 1]?.at ?? end;
    if (next === undefined) return [];
    const complete = i + 1 < starts.length || login !== undefined;
    return [{ name: spans[0]!, spans, seconds: round(Math.max(0, next - at)), complete }];
  });
}

/** One line for people: "bootloader 10.2 s, kernel 5.2 s, initrd 13.8 s, userspace 17.1 s". */
export function formatPhases(phases: readonly Phase[]): string {
  return phases.map((phase) => `${phase.spans.join('+')} ${phase.seconds.toFixed(1)} s${phase.complete ? '' : ' (unfinished)'}`).join(', ');
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
