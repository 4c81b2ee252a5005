/**
 * Legacy BIOS boot on a GPT disk without grub-install (which wants a block
 * device and root): the two patches grub-bios-setup would make.
 *
 * - sector 0: GRUB's boot.img code (its first 440 bytes; the disk signature
 *   and the protective MBR's partition table after them stay), with the LBA
 *   of the core image's first sector at offset 0x5C;
 * - the core image's first sector (diskboot.img) loads the rest of it from the
 *   blocklist at offset 0x1F4: start LBA (8 bytes) and sector count (2 bytes).
 */
export const MBR_CODE_BYTES = 440;
const KERNEL_SECTOR_OFFSET = 0x5c;
const BLOCKLIST_OFFSET = 0x1f4;
const SECTOR = 512;

/** Sector 0 with boot.img's code and the core image's location; the partition table is kept. */
export function patchBootSector(sector0: Buffer, bootImage: Buffer, coreSector: number): Buffer {
  if (sector0.length !== SECTOR || bootImage.length !== SECTOR) throw new Error('boot sector and boot.img must be 512 bytes');
  const patched = Buffer.from(sector0);
  bootImage.copy(patched, 0, 0, MBR_CODE_BYTES);
  patched.writeBigUInt64LE(BigInt(coreSector), KERNEL_SECTOR_OFFSET);
  return patched;
}

/** The core image with its first sector told where the others are. */
export function patchCoreImage(core: Buffer, coreSector: number, availableSectors: number): Buffer {
  const sectors = Math.ceil(core.length / SECTOR);
  if (sectors > availableSectors) {
    throw new Error(`GRUB core image needs ${sectors} sectors but the BIOS boot partition has ${availableSectors}`);
  }
  const patched = Buffer.alloc(sectors * SECTOR);
  core.copy(patched);
  patched.writeBigUInt64LE(BigInt(coreSector + 1), BLOCKLIST_OFFSET);
  patched.writeUInt16LE(sectors - 1, BLOCKLIST_OFFSET + 8);
  return patched;
}
