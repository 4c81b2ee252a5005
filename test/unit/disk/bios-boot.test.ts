import { describe, expect, it } from 'vitest';
import { patchBootSector, patchCoreImage } from '../../../src/disk/bios-boot.js';

describe('BIOS boot patches', () => {
  it('copies boot.img code into sector 0, keeps the partition table and records the core image sector', () => {
    const sector0 = Buffer.alloc(512, 0xaa);
    const bootImg = Buffer.alloc(512, 0x11);
    const patched = patchBootSector(sector0, bootImg, 2048);
    expect(patched.subarray(0, 0x5c).every((b) => b === 0x11)).toBe(true);
    expect(patched.readBigUInt64LE(0x5c)).toBe(2048n);
    expect(patched.subarray(440).every((b) => b === 0xaa)).toBe(true);
  });

  it('points the core image blocklist at its own remaining sectors', () => {
    const core = Buffer.alloc(512 * 60 + 100, 0x22);
    const patched = patchCoreImage(core, 2048, 2048);
    expect(patched.length).toBe(512 * 61);
    expect(patched.readBigUInt64LE(0x1f4)).toBe(2049n);
    expect(patched.readUInt16LE(0x1fc)).toBe(60);
  });

  it('refuses a core image larger than the BIOS boot partition', () => {
    expect(() => patchCoreImage(Buffer.alloc(512 * 10), 2048, 4)).toThrow(/needs 10 sectors/);
  });
});
