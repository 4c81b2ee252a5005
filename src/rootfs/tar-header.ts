/** Minimal ustar header reading and writing: only what the rootfs filter needs. */
export const BLOCK = 512;

export interface TarHeader {
  name: string;
  type: string;
  size: number;
  linkname: string;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function readString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

/** Sizes above 8 GiB use GNU base-256 encoding (high bit set in the first byte). */
function readSize(block: Buffer): number {
  if ((block[124]! & 0x80) !== 0) {
    let value = 0;
    for (let i = 125; i < 136; i++) value = value * 256 + block[i]!;
    return value;
  }
  const text = readString(block, 124, 12).trim();
  return text ? parseInt(text, 8) : 0;
}

export function parseHeader(block: Buffer): TarHeader {
  const name = readString(block, 0, 100);
  const prefix = block.toString('ascii', 257, 262) === 'ustar' ? readString(block, 345, 155) : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(block[156] || 0x30),
    size: readSize(block),
    linkname: readString(block, 157, 100),
  };
}

/** The `path` record of a pax extended header, which overrides the ustar name. */
export function parsePaxPath(data: Buffer): string | undefined {
  return parsePaxRecord(data, 'path');
}

/** One record (`path`, `linkpath`, …) of a pax extended header. */
export function parsePaxRecord(data: Buffer, key: string): string | undefined {
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = parseInt(data.toString('ascii', offset, space), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals !== -1 && record.toString('utf8', 0, equals) === key) {
      return record.toString('utf8', equals + 1);
    }
    offset += length;
  }
  return undefined;
}

export interface NewEntry {
  name: string;
  type: 'file' | 'symlink';
  mode: number;
  content?: Buffer;
  linkname?: string;
  mtime: number;
}

function writeOctal(block: Buffer, value: number, start: number, length: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', start, length, 'ascii');
}

function writeChecksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
}

/**
 * The header with its mtime clamped to `max` (reproducible-builds.org's rule
 * for SOURCE_DATE_EPOCH), or the same buffer when it is not newer. An export
 * stamps the directories Docker touched (/etc, /dev) with the container's
 * creation time, which would make every export of one image differ.
 */
export function clampHeaderMtime(header: Buffer, max: number): Buffer {
  const text = readString(header, 136, 12).trim();
  const mtime = text ? parseInt(text, 8) : 0;
  if (!(mtime > max)) return header;
  const clamped = Buffer.from(header);
  writeOctal(clamped, max, 136, 12);
  writeChecksum(clamped);
  return clamped;
}

/** The header of a hard link turned into a regular file of `size` bytes (its owner, mode and times kept). */
export function asRegularFile(header: Buffer, size: number): Buffer {
  const file = Buffer.from(header);
  file.write('0', 156, 1, 'ascii');
  file.fill(0, 157, 257);
  writeOctal(file, size, 124, 12);
  writeChecksum(file);
  return file;
}

/** Header plus padded data for a small entry we write ourselves (root-owned). */
export function encodeEntry(entry: NewEntry): Buffer {
  const content = entry.type === 'file' ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const header = Buffer.alloc(BLOCK);
  header.write(entry.name, 0, 100, 'utf8');
  writeOctal(header, entry.mode, 100, 8);
  writeOctal(header, 0, 108, 8);
  writeOctal(header, 0, 116, 8);
  writeOctal(header, content.length, 124, 12);
  writeOctal(header, entry.mtime, 136, 12);
  header.write(entry.type === 'file' ? '0' : '2', 156, 1, 'ascii');
  if (entry.linkname) header.write(entry.linkname, 157, 100, 'utf8');
  header.write('ustar\u000000', 257, 8, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  writeChecksum(header);
  return Buffer.concat([header, content, Buffer.alloc(paddedSize(content.length) - content.length)]);
}

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
