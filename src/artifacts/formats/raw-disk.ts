/** What every format checks and shares: the raw input, the epoch, a private staging directory. */
import { mkdir, rm, stat } from 'node:fs/promises';
import { registerCleanup } from '../../cleanup.js';
import { UserError } from '../../errors.js';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/**
 * Check that `rawPath` is a raw disk the formats can take and return its
 * size. The disk builder rounds every disk up to a whole GiB before writing
 * the GPT (GCE requires a whole GiB, Azure a whole MiB, and the backup GPT
 * must sit at the very end), so any other size means the file is not one of
 * its disks.
 */
export async function checkRawDisk(rawPath: string): Promise<number> {
  let info;
  try {
    info = await stat(rawPath);
  } catch {
    throw new UserError(`raw disk not found: ${rawPath}`, 'build the disk first (ros-build disk)');
  }
  if (!info.isFile()) throw new UserError(`raw disk ${rawPath} is not a regular file`, 'give the path of the raw disk image the disk builder wrote');
  if (info.size === 0 || info.size % GiB !== 0) {
    throw new UserError(
      `raw disk ${rawPath} is ${info.size} bytes, not a whole number of GiB`,
      'the disk formats take the disks ros-build disk writes, which it rounds up to whole GiB before writing the partition table',
    );
  }
  return info.size;
}

export function checkEpoch(epoch: number): number {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`invalid epoch ${epoch}: it must be a whole number of seconds since 1970`);
  return epoch;
}

/**
 * Run `use` with an empty directory beside `tmpPath` (so on the output's file
 * system, not a small /tmp), removed afterwards, also on Ctrl-C. For tools
 * that write a name into their output (a VMDK names its own file) or need a
 * member with a fixed name (the GCE tarball's disk.raw).
 */
export async function withStageDirectory<T>(tmpPath: string, use: (directory: string) => Promise<T>): Promise<T> {
  const directory = `${tmpPath}.d`;
  const remove = () => rm(directory, { recursive: true, force: true });
  const unregister = registerCleanup(remove);
  try {
    await remove();
    await mkdir(directory);
    return await use(directory);
  } finally {
    unregister();
    await remove();
  }
}
