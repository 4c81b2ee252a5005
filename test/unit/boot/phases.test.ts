import { describe, expect, it } from 'vitest';
import { computePhases, formatPhases } from '../../../src/boot/phases.js';

describe('computePhases', () => {
  it('splits a full boot at the kernel, initramfs and switch-root markers', () => {
    const phases = computePhases({ bootloader: 0.4, kernel: 10.2, initrd: 15.6, 'switch-root': 29.3, 'multi-user': 44.1, login: 46.3 });
    expect(phases).toEqual([
      { name: 'bootloader', spans: ['bootloader'], seconds: 10.2, complete: true },
      { name: 'kernel', spans: ['kernel'], seconds: 5.4, complete: true },
      { name: 'initrd', spans: ['initrd'], seconds: 13.7, complete: true },
      { name: 'userspace', spans: ['userspace'], seconds: 17, complete: true },
    ]);
    expect(phases.reduce((sum, phase) => sum + phase.seconds, 0)).toBeCloseTo(46.3, 5);
  });

  it('folds a phase whose start was not seen into the one before (no initramfs, or a quiet boot)', () => {
    expect(computePhases({ kernel: 3, 'switch-root': 5, login: 20 })).toEqual([
      { name: 'bootloader', spans: ['bootloader'], seconds: 3, complete: true },
      { name: 'kernel', spans: ['kernel', 'initrd'], seconds: 2, complete: true },
      { name: 'userspace', spans: ['userspace'], seconds: 15, complete: true },
    ]);
    expect(computePhases({ kernel: 25.6, 'multi-user': 80, login: 82 }).map((phase) => phase.spans)).toEqual([['bootloader'], ['kernel', 'initrd', 'userspace']]);
  });

  it('ignores a marker that comes before the one it should follow', () => {
    expect(computePhases({ kernel: 5, initrd: 4, 'switch-root': 8, login: 10 }).map((phase) => phase.spans)).toEqual([['bootloader'], ['kernel', 'initrd'], ['userspace']]);
  });

  it('runs the phase a failed boot was in to its end, marked unfinished', () => {
    expect(computePhases({ kernel: 10, initrd: 15 }, 300)).toEqual([
      { name: 'bootloader', spans: ['bootloader'], seconds: 10, complete: true },
      { name: 'kernel', spans: ['kernel'], seconds: 5, complete: true },
      { name: 'initrd', spans: ['initrd', 'userspace'], seconds: 285, complete: false },
    ]);
    expect(computePhases({}, 12)).toEqual([{ name: 'bootloader', spans: ['bootloader', 'kernel', 'initrd', 'userspace'], seconds: 12, complete: false }]);
    expect(computePhases({ kernel: 10 })).toEqual([{ name: 'bootloader', spans: ['bootloader'], seconds: 10, complete: true }]);
  });
});

describe('formatPhases', () => {
  it('prints each phase in order, with one decimal, naming folded phases', () => {
    expect(formatPhases(computePhases({ kernel: 10.2, initrd: 15.6, 'switch-root': 29.3, login: 46.3 }))).toBe(
      'bootloader 10.2 s, kernel 5.4 s, initrd 13.7 s, userspace 17.0 s',
    );
    expect(formatPhases(computePhases({ kernel: 10 }, 30))).toBe('bootloader 10.0 s, kernel+initrd+userspace 20.0 s (unfinished)');
  });
});
