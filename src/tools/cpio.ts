/**
 * A cpio archive in the kernel's initramfs format ("newc", 070701): what a
 * boot loader can hand the kernel as one more initrd, whose files the kernel
 * unpacks over the first one's (Documentation/driver-api/early-userspace/
 * buffer-format.rst). Written here rather than with cpio(1) so the bytes
 * depend only on the inputs: every entry is root's, stamped with one time,
 * numbered in order, in a fixed order.
 */

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  path: string;
  /** A file's bytes; absent for a directory. */
  content?: Buffer;
  /** Permission bits (0o644 for files, 0o755 for directories when absent). */
  mode?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const TRAILER = 'TRAILER!!!';

/**
 * The archive of `entries` plus every parent directory they need, parents
 * first, sorted by path; `mtime` stamps them all.
 */
export function buildCpioArchive(entries: readonly CpioEntry[], mtime: number): Buffer {
  const byPath = new Map<string, CpioEntry>();
  for (const entry of entries) {
    const path = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (!path || path.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new Error(`cpio: invalid path ${JSON.stringify(entry.path)}`);
    if (byPath.has(path)) throw new Error(`cpio: ${path} given twice`);
    byPath.set(path, { ...entry, path });
    for (let parent = path; parent.includes('/'); ) {
      parent = parent.slice(0, parent.lastIndexOf('/'));
      if (!byPath.has(parent)) byPath.set(parent, { path: parent });
    }
  }
  const sorted = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  sorted.forEach((entry, index) => {
    const isFile = entry.content !== undefined;
    const mode = (isFile ? S_IFREG : S_IFDIR) | (entry.mode ?? (isFile ? 0o644 : 0o755));
    parts.push(...encodeEntry(entry.path, mode, index + 1, isFile ? 1 : 2, mtime, entry.content ?? Buffer.alloc(0)));
  });
  parts.push(...encodeEntry(TRAILER, 0, 0, 1, 0, Buffer.alloc(0)));
  const archive = Buffer.concat(parts);
  // Boot loaders place each initrd on a 4-byte boundary already; padding to 512 keeps the file a whole number of blocks.
  return Buffer.concat([archive, Buffer.alloc((512 - (archive.length % 512)) % 512)]);
}

function encodeEntry(name: string, mode: number, inode: number, links: number, mtime: number, content: Buffer): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [inode, mode, 0, 0, links, mtime, content.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
  return [header, nameBytes, pad4(header.length + nameBytes.length), content, pad4(content.length)];
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
