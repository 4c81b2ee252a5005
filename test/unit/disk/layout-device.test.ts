import { describe, expect, it } from 'vitest';
import { BIOS_PARTITION_FIRST_SECTOR, BIOS_PARTITION_SECTORS, minimumDiskBytes, planDiskLayout, SECTOR } from '../../../src/disk/layout.js';
import { UserError } from '../../../src/errors.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const image = 300 * MiB;

/** The installer's use of the layout: a real disk has the size it has. */
describe('disk layout for a device (deviceBytes)', () => {
  it('uses the device size exactly, COS_PERSISTENT taking the rest up to the backup GPT', () => {
    const deviceBytes = 20 * GiB + 3 * MiB + 7 * SECTOR; // not a whole GiB, not even a whole MiB
    const layout = planDiskLayout({ imageBytes: image, deviceBytes, seed: 'random' });
    expect(layout.sizeBytes).toBe(deviceBytes);
    const persistent = layout.partitions.at(-1)!;
    expect(persistent.name).toBe('COS_PERSISTENT');
    expect(persistent.lastSector).toBeLessThanOrEqual(deviceBytes / SECTOR - 34);
    expect((persistent.lastSector + 1) % 2048).toBe(0);
    expect(deviceBytes / SECTOR - 34 - persistent.lastSector).toBeLessThan(2048 + 34);
  });

  it('places the BIOS partition where the ISO\'s core image expects it, whatever the size', () => {
    for (const deviceBytes of [minimumDiskBytes(image), 3 * 2 ** 40]) {
      const bios = planDiskLayout({ imageBytes: image, deviceBytes, seed: 's' }).partitions[0]!;
      expect([bios.firstSector, bios.lastSector - bios.firstSector + 1]).toEqual([BIOS_PARTITION_FIRST_SECTOR, BIOS_PARTITION_SECTORS]);
    }
  });

  it('fits exactly minimumDiskBytes and refuses one sector less, naming the device and the minimum', () => {
    const minimum = minimumDiskBytes(image);
    expect(planDiskLayout({ imageBytes: image, deviceBytes: minimum, seed: 's' }).partitions.at(-1)!.sizeBytes).toBe(256 * MiB);
    const tooSmall = () => planDiskLayout({ imageBytes: image, deviceBytes: minimum - SECTOR, deviceName: '/dev/vdb', seed: 's' });
    expect(tooSmall).toThrow(UserError);
    expect(tooSmall).toThrow(`/dev/vdb is too small: it has ${minimum / MiB - 1}MiB, and this system (an image of 300MiB) needs at least ${minimum / MiB}MiB`);
  });

  it('leaves the disk builder\'s rounding alone when no device size is given', () => {
    expect(planDiskLayout({ imageBytes: image, totalBytes: 3 * GiB + 1, seed: 's' }).sizeBytes).toBe(4 * GiB);
  });
});
