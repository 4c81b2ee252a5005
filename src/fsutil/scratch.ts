import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { registerCleanup } from '../cleanup.js';

/** Run `use` with a fresh directory inside `parent`, removed afterwards, also on failure or Ctrl-C. */
export async function withScratchDir<T>(parent: string, prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(resolve(parent), prefix));
  const unregister = registerCleanup(() => rm(dir, { recursive: true, force: true }));
  try {
    return await use(dir);
  } finally {
    unregister();
    await rm(dir, { recursive: true, force: true });
  }
}
