/**
 * systemd's own account of a boot ("Startup finished in 4.1s (kernel) +
 * 14.0s (initrd) + 30.2s (userspace) = 48.3s", from `systemd-analyze time`).
 * A quiet boot prints almost nothing on the serial console, so this is where
 * the split between kernel, initramfs and userspace comes from then.
 */
import type { Markers } from './serial-watch.js';

export interface SystemdTimes {
  /** Kernel start to the initramfs's systemd (or to the real init without an initramfs). */
  kernel: number;
  /** The initramfs's systemd to the switch to the real root; absent without an initramfs. */
  initrd?: number;
  /** The real root's systemd to the default target. */
  userspace: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { h: 3600, min: 60, s: 1, ms: 0.001, us: 0.000001, 'µs': 0.000001 };

/** "1min 2.345s", "345ms", "2.1s" as seconds; undefined for anything else. */
export function parseSystemdDuration(text: string): number | undefined {
  const parts = text.trim().split(/\s+/);
  let total = 0;
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)(h|min|s|ms|us|µs)$/.exec(part);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  }
  return parts.length > 0 ? total : undefined;
}

/** The times in a "Startup finished in …" line, wherever it is in the text; undefined when there is none. */
export function parseSystemdStartup(text: string): SystemdTimes | undefined {
  const line = /Startup finished in (.+?) = /.exec(text)?.[1];
  if (!line) return undefined;
  const parts = new Map<string, number>();
  for (const term of line.split(' + ')) {
    const match = /^(.+) \((\w+)\)$/.exec(term.trim());
    const seconds = match ? parseSystemdDuration(match[1]!) : undefined;
    if (!match || seconds === undefined) return undefined;
    parts.set(match[2]!, seconds);
  }
  const kernel = parts.get('kernel');
  const userspace = parts.get('userspace');
  if (kernel === undefined || userspace === undefined) return undefined;
  const initrd = parts.get('initrd');
  return initrd === undefined ? { kernel, userspace } : { kernel, initrd, userspace };
}

/**
 * Serial markers completed with systemd's split: the initramfs and the switch
 * to the real root are placed after the kernel's start, which the serial
 * console gives (the first kernel line, back-dated by its timestamp) or,
 * failing that, the login prompt minus systemd's total.
 */
export function addSystemdTimes(markers: Markers, times: SystemdTimes): Markers {
  const total = times.kernel + (times.initrd ?? 0) + times.userspace;
  const kernel = markers.kernel ?? (markers.login === undefined ? undefined : Math.max(0, markers.login - total));
  if (kernel === undefined) return markers;
  const switchRoot = kernel + times.kernel + (times.initrd ?? 0);
  const initrd = times.initrd === undefined ? undefined : kernel + times.kernel;
  const result: Markers = { ...markers, kernel: round(kernel), 'switch-root': round(switchRoot) };
  if (initrd === undefined) delete result.initrd;
  else result.initrd = round(initrd);
  return result;
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
