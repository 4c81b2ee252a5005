import { describe, expect, it } from 'vitest';
import { buildFatTreeCommands, buildMkfsVfatArgs, espSizeKiB, fatVolumeId } from '../../../src/tools/fat.js';

describe('ESP image arguments', () => {
  it('creates the image file with a fixed volume id and no time-based values', () => {
    expect(buildMkfsVfatArgs({ imagePath: '/w/efi.img', sizeKiB: 2048, volumeId: '0a1b2c3d' })).toEqual([
      '--invariant', '-i', '0a1b2c3d', '-n', 'ESP', '-C', '/w/efi.img', '2048',
    ]);
  });

  it('rejects a volume id that is not 32 bits of hex, and a size that is not whole KiB', () => {
    expect(() => buildMkfsVfatArgs({ imagePath: 'x', sizeKiB: 2048, volumeId: 'xyz' })).toThrow(/8 hex digits/);
    expect(() => buildMkfsVfatArgs({ imagePath: 'x', sizeKiB: 1.5, volumeId: '00000000' })).toThrow(/size/);
  });

  it('makes every directory once, parents first, then copies the files in sorted order whatever order they came in', () => {
    const files = [
      { target: 'grub/grub.cfg', source: '/w/grub.cfg' },
      { target: 'EFI/debian/grub.cfg', source: '/w/stub.cfg' },
      { target: 'EFI/BOOT/grubx64.efi', source: '/w/grub.efi' },
      { target: 'EFI/BOOT/BOOTX64.EFI', source: '/w/shim.efi' },
    ];
    const commands = buildFatTreeCommands('/w/efi.img', files);
    expect(commands).toEqual(buildFatTreeCommands('/w/efi.img', [...files].reverse()));
    expect(commands).toEqual([
      { tool: 'mmd', args: ['-i', '/w/efi.img', '::/EFI', '::/EFI/BOOT', '::/EFI/debian', '::/grub'] },
      { tool: 'mcopy', args: ['-i', '/w/efi.img', '/w/shim.efi', '::/EFI/BOOT/BOOTX64.EFI'] },
      { tool: 'mcopy', args: ['-i', '/w/efi.img', '/w/grub.efi', '::/EFI/BOOT/grubx64.efi'] },
      { tool: 'mcopy', args: ['-i', '/w/efi.img', '/w/stub.cfg', '::/EFI/debian/grub.cfg'] },
      { tool: 'mcopy', args: ['-i', '/w/efi.img', '/w/grub.cfg', '::/grub/grub.cfg'] },
    ]);
  });

  it('refuses a path that leaves the image or is absolute', () => {
    expect(() => buildFatTreeCommands('/w/efi.img', [{ target: '../x', source: '/w/x' }])).toThrow(/invalid path/);
    expect(() => buildFatTreeCommands('/w/efi.img', [{ target: '/EFI/x', source: '/w/x' }])).toThrow(/invalid path/);
  });

  it('derives the volume id from the label: stable per label, different across labels', () => {
    expect(fatVolumeId('ROS_LIVE')).toMatch(/^[0-9a-f]{8}$/);
    expect(fatVolumeId('ROS_LIVE')).toBe(fatVolumeId('ROS_LIVE'));
    expect(fatVolumeId('ROS_LIVE')).not.toBe(fatVolumeId('ROS_LIVE2'));
  });

  it('sizes the image to the loader plus headroom, in whole MiB', () => {
    expect(espSizeKiB(0)).toBe(1024);
    expect(espSizeKiB(700_416)).toBe(2048); // 684 KiB -> 1264.4 KiB with headroom
    expect(espSizeKiB(4 * 1024 * 1024)).toBe(5120);
    for (const bytes of [1, 500_000, 3_000_000, 10_000_000]) {
      const kib = espSizeKiB(bytes);
      expect(kib % 1024).toBe(0);
      expect(kib * 1024).toBeGreaterThan(bytes * 1.1 + 256 * 1024);
    }
    expect(() => espSizeKiB(-1)).toThrow();
  });
});
