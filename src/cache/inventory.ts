/** The facts prune decides on, gathered from the engine and the cache directory. */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { listOutputRecords } from '../outputs/record.js';
import { isKeyedDirName, type CacheDir, type CacheRecord, type EngineImage } from './prune.js';

/** Every image, intermediate ones included: they carry the parent chains that tell what a removal frees. */
export async function listEngineImages(docker: Docker): Promise<EngineImage[]> {
  const images = await docker.listImages({ all: true });
  return images.map((image) => ({
    id: image.Id,
    parentId: image.ParentId || undefined,
    tags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'),
    labels: image.Labels ?? {},
    size: image.Size,
  }));
}

/** Images that containers, running or stopped, were created from. */
export async function listContainerImageIds(docker: Docker): Promise<Set<string>> {
  const containers = await docker.listContainers({ all: true });
  return new Set(containers.map((container) => container.ImageID));
}

async function readDirents(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Bytes of the files under `path` (apparent sizes; symlinks count as themselves). */
export async function measureBytes(path: string): Promise<number> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readDirents(path)) total += await measureBytes(join(path, entry.name));
  return total;
}

/** Every `<cacheDir>/<kind>/<short key>/`, whatever the kind: builders add kinds, prune need not know them. */
export async function listCacheDirs(cacheDir: string): Promise<CacheDir[]> {
  const dirs: CacheDir[] = [];
  for (const kind of await readDirents(cacheDir)) {
    if (!kind.isDirectory()) continue;
    for (const entry of await readDirents(join(cacheDir, kind.name))) {
      if (!entry.isDirectory() || !isKeyedDirName(entry.name)) continue;
      const path = join(cacheDir, kind.name, entry.name);
      dirs.push({ kind: kind.name, key: entry.name, path, bytes: await measureBytes(path) });
    }
  }
  return dirs;
}

export async function listCacheRecords(cacheDir: string): Promise<CacheRecord[]> {
  return (await listOutputRecords(cacheDir)).map(({ path, record }) => ({ path, key: record.key }));
}
