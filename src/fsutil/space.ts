import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';

const mib = (bytes: number) => `${Math.ceil(bytes / 2 ** 20)} MiB`;

/**
 * Refuse to start writing an artifact that cannot fit. Tools report a full
 * disk in their own words ("I/O error") and delete what they wrote, so the
 * cause is clearest before the first byte.
 */
export async function ensureFreeSpace(dir: string, neededBytes: number, what: string): Promise<void> {
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  if (free < neededBytes) {
    throw new UserError(
      `No space left on device for ${what}: it needs about ${mib(neededBytes)} in ${dir}, which has ${mib(free)} free`,
      'free space on that disk, or pass --output-dir on a larger one',
    );
  }
}

/** Bytes of the regular files under `dir`, however deep (what copying the tree needs). */
export async function measureTree(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}
