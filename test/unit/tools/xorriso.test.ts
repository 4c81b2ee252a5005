import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import {
  buildHybridIsoArgs,
  escapeGraftPath,
  graftPointArg,
  isoTimestamp,
  validateVolumeLabel,
  type HybridIsoOptions,
} from '../../../src/tools/xorriso.js';

const options: HybridIsoOptions = {
  outputPath: '/out/.ros.iso.partial-1',
  volumeLabel: 'ROS_LIVE',
  espImagePath: '/w/efi.img',
  sourceDateEpoch: 1_700_000_000,
  grafts: [
    { isoPath: '/boot/vmlinuz', sourcePath: '/r/vmlinuz-6.1' },
    { isoPath: '/LiveOS/squashfs.img', sourcePath: '/r/rootfs.squashfs' },
    { isoPath: '/boot/grub/i386-pc/eltorito.img', sourcePath: '/w/eltorito.img' },
  ],
};

/** The `count` values following `flag` in argv (which must occur exactly once). */
function after(args: string[], flag: string, count = 1): string[] {
  expect(args.filter((a) => a === flag), `${flag} occurs once`).toHaveLength(1);
  const i = args.indexOf(flag);
  return args.slice(i + 1, i + 1 + count);
}

describe('xorriso hybrid ISO arguments', () => {
  const args = buildHybridIsoArgs(options);

  it('skips startup files and runs the mkisofs emulation', () => {
    expect(args.slice(0, 3)).toEqual(['-no_rc', '-as', 'mkisofs']);
    expect(after(args, '-o')).toEqual(['/out/.ros.iso.partial-1']);
  });

  it('sets the volume id, Rock Ridge with normalised owners, Joliet and level 3', () => {
    expect(after(args, '-V')).toEqual(['ROS_LIVE']);
    expect(args).toContain('-r');
    expect(args).toContain('-J');
    expect(after(args, '-iso-level')).toEqual(['3']);
  });

  it('derives every timestamp and GUID from the epoch', () => {
    expect(args).toContain('--modification-date=2023111422132000');
    expect(after(args, '--set_all_file_dates')).toEqual(['=1700000000']);
    expect(after(args, '--gpt_disk_guid')).toEqual(['modification-date']);
  });

  it('boots BIOS from El Torito and from the hybrid MBR', () => {
    expect(after(args, '-b', 6)).toEqual([
      'boot/grub/i386-pc/eltorito.img',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      '--grub2-boot-info',
    ]);
    expect(after(args, '--grub2-mbr')).toEqual(['/usr/lib/grub/i386-pc/boot_hybrid.img']);
    expect(after(args, '-c')).toEqual(['boot/grub/boot.cat']);
    expect(after(args, '-partition_offset')).toEqual(['16']);
  });

  it('appends the ESP as GPT partition 2 and makes it the UEFI El Torito entry too', () => {
    expect(after(args, '-append_partition', 3)).toEqual(['2', '0xef', '/w/efi.img']);
    expect(args).toContain('-appended_part_as_gpt');
    expect(args).toContain('--mbr-force-bootable');
    expect(after(args, '-e', 2)).toEqual(['--interval:appended_partition_2:all::', '-no-emul-boot']);
    // The UEFI entry is an alternative entry after the BIOS one.
    expect(args.indexOf('-b')).toBeLessThan(args.indexOf('-eltorito-alt-boot'));
    expect(args.indexOf('-eltorito-alt-boot')).toBeLessThan(args.indexOf('-e'));
  });

  it('ends with the tree as graft points', () => {
    const i = args.indexOf('-graft-points');
    expect(args.slice(i + 1)).toEqual([
      '/boot/vmlinuz=/r/vmlinuz-6.1',
      '/LiveOS/squashfs.img=/r/rootfs.squashfs',
      '/boot/grub/i386-pc/eltorito.img=/w/eltorito.img',
    ]);
  });

  it('differs only in the dates for another epoch', () => {
    const other = buildHybridIsoArgs({ ...options, sourceDateEpoch: 0 });
    const changed = other.filter((a, i) => a !== args[i]);
    expect(changed).toEqual(['--modification-date=1970010100000000', '=0']);
  });

  it('refuses a tree without the BIOS boot image, and a bad label', () => {
    expect(() => buildHybridIsoArgs({ ...options, grafts: options.grafts.slice(0, 2) })).toThrow(/BIOS boot image/);
    expect(() => buildHybridIsoArgs({ ...options, volumeLabel: 'ros' })).toThrow(UserError);
  });
});

describe('xorriso helpers', () => {
  it('formats the epoch as a GMT YYYYMMDDhhmmsscc timestring', () => {
    expect(isoTimestamp(0)).toBe('1970010100000000');
    expect(isoTimestamp(1_700_000_000)).toBe('2023111422132000');
    expect(isoTimestamp(951_782_400)).toBe('2000022900000000');
    expect(() => isoTimestamp(-1)).toThrow();
    expect(() => isoTimestamp(1.5)).toThrow();
  });

  it('escapes = and backslash in graft points', () => {
    expect(escapeGraftPath('/a=b\\c')).toBe('/a\\=b\\\\c');
    expect(graftPointArg({ isoPath: '/x', sourcePath: '/tmp/k=v' })).toBe('/x=/tmp/k\\=v');
    expect(() => graftPointArg({ isoPath: 'x', sourcePath: '/y' })).toThrow(/absolute/);
    expect(() => graftPointArg({ isoPath: '/x', sourcePath: 'y' })).toThrow(/absolute/);
  });
});

describe('volume label validation', () => {
  it('accepts uppercase letters, digits and underscore up to 32 characters', () => {
    for (const label of ['ROS', 'ROS_LIVE_2024', 'A', 'X'.repeat(32), '0_9']) expect(validateVolumeLabel(label)).toBe(label);
  });

  it.each([
    ['ros_live', /outside A-Z/],
    ['ROS-LIVE', /outside A-Z/],
    ['ROS LIVE', /outside A-Z/],
    ['ROS.LIVE', /outside A-Z/],
    ['RÖS', /outside A-Z/],
    ['', /empty/],
    ['X'.repeat(33), /33 characters/],
  ])('rejects %j naming the label and the rule', (label, problem) => {
    let error: unknown;
    try {
      validateVolumeLabel(label);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const message = (error as UserError).message;
    expect(message).toContain(JSON.stringify(label));
    expect(message).toMatch(problem);
    expect(message).toMatch(/1 to 32 characters of uppercase A-Z, digits 0-9 and underscore/);
  });

  it('suggests a valid label', () => {
    expect(() => validateVolumeLabel('ros-live')).toThrow(expect.objectContaining({ hint: expect.stringContaining('"ROS_LIVE"') }));
  });
});
