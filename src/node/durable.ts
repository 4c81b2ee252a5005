import { open } from 'node:fs/promises';

/** Flush a file's data, or a directory's entries (renames are durable only once their directory is flushed). */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
