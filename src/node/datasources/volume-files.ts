/** Reading files on a mounted data source volume. */
import { readFile } from 'node:fs/promises';

/** The file's bytes, or undefined when it does not exist (volumes leave optional files out). */
export async function readOptionalFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
