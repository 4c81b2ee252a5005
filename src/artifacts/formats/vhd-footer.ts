/**
 * The 512-byte VHD footer (Microsoft's "Virtual Hard Disk Image Format
 * Specification"), big-endian. A fixed VHD is the raw disk followed by this
 * footer and nothing else.
 *
 * qemu-img stamps two fields that change on every run: the creation time and
 * a random unique id. setVhdFooterIdentity() replaces them with values from
 * the build (its epoch, an id derived from the disk's content) and
 * recomputes the checksum, so the same disk gives the same file.
 */

export const VHD_FOOTER_SIZE = 512;
export const VHD_COOKIE = 'conectix';
/** VHD times are seconds since 2000-01-01T00:00:00Z. */
export const VHD_EPOCH_OFFSET = 946_684_800;
export const VHD_DISK_TYPE_FIXED = 2;

const OFFSET = {
  cookie: 0,
  timestamp: 24,
  currentSize: 48,
  diskType: 60,
  checksum: 64,
  uniqueId: 68,
} as const;
const UNIQUE_ID_SIZE = 16;

export interface VhdFooterFields {
  cookie: string;
  /** Seconds since 2000-01-01. */
  timestamp: number;
  /** The virtual size in bytes. */
  currentSize: bigint;
  diskType: number;
  checksum: number;
  uniqueId: Buffer;
}

export function readVhdFooter(footer: Buffer): VhdFooterFields {
  if (footer.length !== VHD_FOOTER_SIZE) throw new Error(`a VHD footer is ${VHD_FOOTER_SIZE} bytes, got ${footer.length}`);
  return {
    cookie: footer.toString('latin1', OFFSET.cookie, OFFSET.cookie + 8),
    timestamp: footer.readUInt32BE(OFFSET.timestamp),
    currentSize: footer.readBigUInt64BE(OFFSET.currentSize),
    diskType: footer.readUInt32BE(OFFSET.diskType),
    checksum: footer.readUInt32BE(OFFSET.checksum),
    uniqueId: Buffer.from(footer.subarray(OFFSET.uniqueId, OFFSET.uniqueId + UNIQUE_ID_SIZE)),
  };
}

/** The footer checksum: the one's complement of the sum of all its bytes except the checksum field. */
export function computeVhdChecksum(footer: Buffer): number {
  let sum = 0;
  for (let i = 0; i < footer.length; i++) {
    if (i >= OFFSET.checksum && i < OFFSET.checksum + 4) continue;
    sum += footer[i]!;
  }
  return ~sum >>> 0;
}

/**
 * The epoch as a VHD time. Before 2000 there is no VHD time: 0. The field
 * is 32 bits, so it runs out in 2136; later epochs are clamped, not wrapped,
 * so the order of times is kept.
 */
export function vhdTimestamp(epochSeconds: number): number {
  return Math.min(Math.max(epochSeconds - VHD_EPOCH_OFFSET, 0), 0xffff_ffff);
}

/**
 * A VHD unique id from 16 bytes of a hash: marked as an RFC 9562 version 8
 * (custom) UUID, since it is neither random nor time-based.
 */
export function vhdUniqueId(hashBytes: Buffer): Buffer {
  if (hashBytes.length < UNIQUE_ID_SIZE) throw new Error(`need ${UNIQUE_ID_SIZE} bytes for a VHD unique id, got ${hashBytes.length}`);
  const id = Buffer.from(hashBytes.subarray(0, UNIQUE_ID_SIZE));
  id[6] = (id[6]! & 0x0f) | 0x80;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return id;
}

/**
 * A copy of `footer` with the given time and unique id and a checksum that
 * matches. Refuses anything that is not an intact fixed-VHD footer, so a
 * change in what qemu-img writes fails the build instead of being patched.
 */
export function setVhdFooterIdentity(footer: Buffer, identity: { epochSeconds: number; uniqueId: Buffer }): Buffer {
  const fields = readVhdFooter(footer);
  if (fields.cookie !== VHD_COOKIE) throw new Error(`not a VHD footer: the cookie is ${JSON.stringify(fields.cookie)}, not "${VHD_COOKIE}"`);
  if (fields.checksum !== computeVhdChecksum(footer)) throw new Error('VHD footer checksum does not match its bytes: the file is damaged');
  if (fields.diskType !== VHD_DISK_TYPE_FIXED) throw new Error(`VHD disk type is ${fields.diskType}, not ${VHD_DISK_TYPE_FIXED} (fixed)`);
  if (identity.uniqueId.length !== UNIQUE_ID_SIZE) throw new Error(`a VHD unique id is ${UNIQUE_ID_SIZE} bytes, got ${identity.uniqueId.length}`);
  const patched = Buffer.from(footer);
  patched.writeUInt32BE(vhdTimestamp(identity.epochSeconds), OFFSET.timestamp);
  identity.uniqueId.copy(patched, OFFSET.uniqueId);
  patched.writeUInt32BE(computeVhdChecksum(patched), OFFSET.checksum);
  return patched;
}
