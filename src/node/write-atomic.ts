import { chmod, chown, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * Write a file whole or not at all (a temporary name beside it, then a
 * rename), with its mode and owner set before it appears: a power cut never
 * leaves half a key file, and a secret is never readable by others for a moment.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode: number, owner?: FileOwner): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const temporary = `${path}.ros-${process.pid}.tmp`;
  try {
    await writeFile(temporary, content, { mode: 0o600 });
    if (owner) await chown(temporary, owner.uid, owner.gid);
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
