import { describe, expect, it } from 'vitest';
import { computePhases } from '../../../src/boot/phases.js';
import { addSystemdTimes, parseSystemdDuration, parseSystemdStartup } from '../../../src/boot/systemd-times.js';

describe('parseSystemdDuration', () => {
  it('reads systemd\'s duration formats', () => {
    expect(parseSystemdDuration('2.345s')).toBe(2.345);
    expect(parseSystemdDuration('345ms')).toBeCloseTo(0.345, 9);
    expect(parseSystemdDuration('1min 2.5s')).toBe(62.5);
    expect(parseSystemdDuration('1h 1min 1s')).toBe(3661);
    expect(parseSystemdDuration('soon')).toBeUndefined();
  });
});

describe('parseSystemdStartup', () => {
  it('reads the kernel, initrd and userspace times of `systemd-analyze time`', () => {
    const output = 'Startup finished in 4.101s (kernel) + 14.052s (initrd) + 30.213s (userspace) = 48.367s \nmulti-user.target reached after 30.102s in userspace\n';
    expect(parseSystemdStartup(output)).toEqual({ kernel: 4.101, initrd: 14.052, userspace: 30.213 });
  });

  it('handles firmware and loader terms, minutes, and a boot without an initramfs', () => {
    expect(parseSystemdStartup('Startup finished in 1.2s (firmware) + 3s (loader) + 2.5s (kernel) + 1min 3.5s (userspace) = 1min 10.2s')).toEqual({ kernel: 2.5, userspace: 63.5 });
  });

  it('gives nothing for a boot that has not finished or unexpected text', () => {
    expect(parseSystemdStartup('Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).')).toBeUndefined();
    expect(parseSystemdStartup('Startup finished in soon (kernel) = 1s')).toBeUndefined();
  });
});

describe('addSystemdTimes', () => {
  it('places the initramfs and the switch to the real root after the kernel start the serial console gave', () => {
    const markers = addSystemdTimes({ kernel: 25.6, 'multi-user': 80, login: 82 }, { kernel: 4.1, initrd: 14, userspace: 30 });
    expect(markers).toEqual({ kernel: 25.6, initrd: 29.7, 'switch-root': 43.7, 'multi-user': 80, login: 82 });
    expect(computePhases(markers).map((phase) => [phase.name, phase.seconds])).toEqual([
      ['bootloader', 25.6],
      ['kernel', 4.1],
      ['initrd', 14],
      ['userspace', 38.3],
    ]);
  });

  it('dates the kernel back from the login prompt when no kernel line was seen', () => {
    expect(addSystemdTimes({ login: 60 }, { kernel: 5, userspace: 40 })).toEqual({ login: 60, kernel: 15, 'switch-root': 20 });
  });
});
