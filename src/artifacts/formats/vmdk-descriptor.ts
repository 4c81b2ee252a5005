/**
 * The text descriptor inside a monolithic VMDK (VMware's "Virtual Disk
 * Format 1.1"): the sparse extent header (little-endian, magic "KDMV") says
 * where it is, as a sector offset and a sector count; the text is padded with
 * NULs to fill them.
 *
 * qemu-img writes a random content id (`CID=xxxxxxxx`, up to 8 hex digits: it
 * prints it without leading zeros) into
 * it, and the only other thing that varies is the extent's file name. The CID
 * is replaced by one derived from the disk's content, always 8 digits (keeping
 * qemu's width made one conversion in 16 differ, when its random CID had a
 * leading zero); the text after it moves by a few bytes inside the
 * descriptor's NUL-padded region, so no offset outside it changes (the extent
 * header holds no checksum of the descriptor).
 */

const SECTOR = 512;
const MAGIC = 0x564d444b; // "KDMV" read as a little-endian u32

export interface DescriptorLocation {
  /** Byte offset in the file. */
  offset: number;
  /** Bytes reserved for it. */
  size: number;
}

/** Where the descriptor is, from the first 512 bytes of the file. */
export function readVmdkDescriptorLocation(header: Buffer): DescriptorLocation {
  if (header.length < 44 || header.readUInt32LE(0) !== MAGIC) throw new Error('not a VMDK sparse extent: no "KDMV" magic at the start');
  const offsetSectors = Number(header.readBigUInt64LE(28));
  const sizeSectors = Number(header.readBigUInt64LE(36));
  // qemu-img puts it right after the header and keeps it small (20 sectors); far off means another layout.
  if (offsetSectors < 1 || sizeSectors < 1 || sizeSectors > 2048) {
    throw new Error(`unexpected VMDK descriptor location: sector ${offsetSectors}, ${sizeSectors} sectors`);
  }
  return { offset: offsetSectors * SECTOR, size: sizeSectors * SECTOR };
}

/** The descriptor text: up to the first NUL. */
export function descriptorText(region: Buffer): string {
  const end = region.indexOf(0);
  return region.toString('latin1', 0, end === -1 ? region.length : end);
}

/** The CID as the descriptor writes it: 8 lowercase hex digits. */
export function formatCid(cid: number): string {
  if (!Number.isInteger(cid) || cid < 0 || cid > 0xffff_ffff) throw new Error(`invalid VMDK CID ${cid}`);
  return cid.toString(16).padStart(8, '0');
}

/**
 * A copy of the descriptor region with `CID=` set to `cid` in 8 digits, the
 * rest of the text after it and NULs to the region's end. Refuses a
 * descriptor without exactly one CID line of 1 to 8 hex digits, so a change
 * in what qemu-img writes fails the build rather than being patched blindly.
 */
export function setVmdkDescriptorCid(region: Buffer, cid: number): Buffer {
  const text = descriptorText(region);
  const lines = [...text.matchAll(/^CID=([0-9a-fA-F]*)$/gm)];
  const width = lines[0]?.[1]?.length ?? 0;
  if (lines.length !== 1 || width < 1 || width > 8) {
    throw new Error(`expected one "CID=" line of 1 to 8 hex digits in the VMDK descriptor, found ${lines.map((m) => JSON.stringify(m[0])).join(', ') || 'none'}`);
  }
  const start = lines[0]!.index!;
  const patchedText = `${text.slice(0, start)}CID=${formatCid(cid)}${text.slice(start + 'CID='.length + width)}`;
  if (patchedText.length > region.length) throw new Error('the VMDK descriptor region has no room for an 8-digit CID');
  const patched = Buffer.alloc(region.length);
  patched.write(patchedText, 0, 'latin1');
  return patched;
}
