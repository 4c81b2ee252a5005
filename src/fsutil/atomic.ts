import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { registerCleanup } from '../cleanup.js';

/** The temporary name an output is written under until it is complete. */
export function partialPath(outPath: string): string {
  return join(dirname(outPath), `.${basename(outPath)}.partial-${process.pid}`);
}

/**
 * Produce `outPath` atomically: `produce` writes to a temporary path beside it,
 * which is renamed into place only when it succeeded. On failure or Ctrl-C the
 * temporary file is removed, so the output path never holds half an artifact.
 */
export async function writeAtomically<T>(outPath: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(outPath), { recursive: true });
  const tmpPath = partialPath(outPath);
  const unregister = registerCleanup(() => rm(tmpPath, { force: true, recursive: true }));
  try {
    const result = await produce(tmpPath);
    await renameIntoPlace(tmpPath, outPath);
    return result;
  } catch (error) {
    await rm(tmpPath, { force: true, recursive: true });
    throw error;
  } finally {
    unregister();
  }
}

/**
 * rename(2) replaces a file in one step but refuses a non-empty directory: an
 * older output directory is moved aside first and removed after, so the path
 * lacks it only between two renames.
 */
async function renameIntoPlace(tmpPath: string, outPath: string): Promise<void> {
  const old = await stat(outPath).catch(() => undefined);
  if (!old?.isDirectory()) return rename(tmpPath, outPath);
  const aside = `${tmpPath}.old`;
  await rename(outPath, aside);
  await rename(tmpPath, outPath);
  await rm(aside, { recursive: true, force: true });
}
