import { describe, expect, it } from 'vitest';
import { buildMcopyLoaderArgs, buildMkfsVfatArgs, buildMmdArgs, espSizeKiB, fatVolumeId } from '../../../src/tools/fat.js';

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

  it('makes EFI before EFI/BOOT and copies the loader to the removable-media path', () => {
    expect(buildMmdArgs('/w/efi.img')).toEqual(['-i', '/w/efi.img', '::/EFI', '::/EFI/BOOT']);
    expect(buildMcopyLoaderArgs('/w/efi.img', '/w/BOOTX64.EFI')).toEqual(['-i', '/w/efi.img', '/w/BOOTX64.EFI', '::/EFI/BOOT/BOOTX64.EFI']);
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
