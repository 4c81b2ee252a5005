import { describe, expect, it } from 'vitest';
import { deriveGuid, minimumSizes, planDiskLayout, SECTOR } from '../../../src/disk/layout.js';
import { UserError } from '../../../src/errors.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const image = 300 * MiB;

describe('disk layout', () => {
  const layout = planDiskLayout({ imageBytes: image, seed: 'disk:1700000000' });

  it('has the six partitions in order, each named as its filesystem label', () => {
    expect(layout.partitions.map((p) => [p.number, p.name, p.filesystem])).toEqual([
      [1, 'BIOS', 'none'],
      [2, 'COS_GRUB', 'vfat'],
      [3, 'COS_OEM', 'ext4'],
      [4, 'COS_RECOVERY', 'ext4'],
      [5, 'COS_STATE', 'ext4'],
      [6, 'COS_PERSISTENT', 'ext4'],
    ]);
    expect(layout.partitions[0]!.typeGuid).toBe('21686148-6449-6E6F-744E-656564454649');
    expect(layout.partitions[1]!.typeGuid).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  });

  it('starts at 1 MiB, aligns every partition to a MiB, never overlaps and leaves the backup GPT room', () => {
    expect(layout.partitions[0]!.firstSector).toBe(2048);
    expect(layout.partitions[0]!.sizeBytes).toBe(MiB);
    for (const [i, p] of layout.partitions.entries()) {
      expect(p.firstSector % 2048).toBe(0);
      if (i > 0) expect(p.firstSector).toBe(layout.partitions[i - 1]!.lastSector + 1);
    }
    expect(layout.partitions.at(-1)!.lastSector).toBeLessThanOrEqual(layout.sizeBytes / SECTOR - 34);
  });

  it('is a whole GiB, with room on COS_STATE for three images (active, passive, transition)', () => {
    expect(layout.sizeBytes % GiB).toBe(0);
    const state = layout.partitions.find((p) => p.role === 'state')!;
    expect(state.sizeBytes).toBeGreaterThanOrEqual(3 * image);
    // And on COS_RECOVERY for two (recovery, and the transition of `ros upgrade --recovery`).
    expect(layout.partitions.find((p) => p.role === 'recovery')!.sizeBytes).toBeGreaterThanOrEqual(2 * image);
    expect(layout.partitions.find((p) => p.role === 'persistent')!.sizeBytes).toBeGreaterThanOrEqual(minimumSizes(image).persistent);
  });

  it('gives the persistent partition the rest of a larger disk', () => {
    const big = planDiskLayout({ imageBytes: image, totalBytes: 8 * GiB, seed: 's' });
    expect(big.sizeBytes).toBe(8 * GiB);
    expect(big.partitions.at(-1)!.sizeBytes).toBeGreaterThan(5 * GiB);
  });

  it('derives GUIDs from the seed: the same seed gives the same disk, another seed another', () => {
    const again = planDiskLayout({ imageBytes: image, seed: 'disk:1700000000' });
    expect(again).toEqual(layout);
    const other = planDiskLayout({ imageBytes: image, seed: 'disk:1700000001' });
    expect(other.diskGuid).not.toBe(layout.diskGuid);
    expect(new Set(layout.partitions.map((p) => p.guid)).size).toBe(6);
    expect(deriveGuid('a', 'b')).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });

  it('refuses a disk too small for the layout, naming the minimum', () => {
    expect(() => planDiskLayout({ imageBytes: image, totalBytes: GiB, seed: 's' })).toThrow(UserError);
    expect(() => planDiskLayout({ imageBytes: image, totalBytes: GiB, seed: 's' })).toThrow(/needs at least 3GiB/);
  });

  it('refuses a state partition that cannot hold an upgrade, naming the minimum', () => {
    expect(() => planDiskLayout({ imageBytes: image, sizes: { state: 600 * MiB }, seed: 's' })).toThrow(/partitions\.state is 600MiB, but it needs at least \d+MiB/);
  });

  it('grows COS_OEM by what a bundle puts there, with ext4\'s share', () => {
    const oem = (contentBytes?: number) => planDiskLayout({ imageBytes: 400 * MiB, seed: 's', oemContentBytes: contentBytes }).partitions.find((p) => p.role === 'oem')!.sizeBytes;
    expect(oem()).toBe(64 * MiB);
    expect(oem(100 * MiB)).toBe(64 * MiB + 110 * MiB);
  });

  it('takes larger sizes as given', () => {
    const sized = planDiskLayout({ imageBytes: image, sizes: { state: 4 * GiB, oem: 128 * MiB }, seed: 's' });
    expect(sized.partitions.find((p) => p.role === 'state')!.sizeBytes).toBe(4 * GiB);
    expect(sized.partitions.find((p) => p.role === 'oem')!.sizeBytes).toBe(128 * MiB);
  });
});
