/**
 * Carry out a prune: gather the facts, decide (src/cache/prune.ts), remove,
 * and say what went and how much space it freed.
 *
 * Races with a build running meanwhile. A build records each key in the
 * in-use registry as soon as it knows it, and only then looks at the cached
 * output again (src/plan/runner.ts). Prune reads the registry once to decide
 * and again right before each single removal, skipping what became in use.
 * The race left: a build that records a key and finds its cached output in
 * the few milliseconds between that last read and the removal loses it; its
 * next step then fails on the missing image or files, and running it again
 * rebuilds them. Closing that would need a lock every build takes around
 * every cache lookup; for a command run by hand that is not worth it.
 */
import { rm } from 'node:fs/promises';
import type Docker from 'dockerode';
import { forgetOutputRecords } from '../outputs/record.js';
import { collectInUseKeys, readInUse, removeStaleInUse } from '../store/in-use.js';
import { listCacheDirs, listCacheRecords, listContainerImageIds, listEngineImages, measureBytes } from './inventory.js';
import { decidePrune, normalizeKey, sumOwnBytes, type CacheDir, type CacheRecord, type ImageVerdict, type KeepReason, type PruneScope } from './prune.js';

export interface SweepOptions {
  cacheDir: string;
  scope: PruneScope;
  /** Never untagged: the spec's REPO:TAG and base image. */
  protectedRefs: string[];
  dryRun: boolean;
  /** Where running builds record their keys (tests point it elsewhere). */
  inUseDir?: string;
}

export interface SweptImage {
  tags: string[];
  id: string;
  /** `untagged`: the tags went but the image stays (another tag or a child holds it; --all only). */
  outcome: 'removed' | 'untagged' | 'would remove' | 'would untag';
  bytes: number;
}

export interface SweepReport {
  dryRun: boolean;
  images: SweptImage[];
  /** Removals the engine refused (a container created meanwhile), with its message. */
  refused: Array<{ tags: string[]; message: string }>;
  keptImages: ImageVerdict[];
  dirs: CacheDir[];
  keptDirs: Array<CacheDir & { reason: KeepReason }>;
  records: CacheRecord[];
  keptRecords: Array<CacheRecord & { reason: KeepReason }>;
  /** With --all: the rest of the cache directory (scratch directories, the records file). */
  rest?: { path: string; bytes: number; removed: boolean; heldByBuilds: boolean };
  imageBytes: number;
  dirBytes: number;
  /** Pids of builds running meanwhile, whose keys were kept. */
  runningBuilds: number[];
  staleInUseRemoved: number;
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/** Remove one image's ros-build tags without force; the engine's answer lists the images it deleted. */
async function removeTags(docker: Docker, tags: string[]): Promise<{ deleted: string[]; refused?: string }> {
  const deleted: string[] = [];
  for (const tag of tags) {
    try {
      const answer = (await docker.getImage(tag).remove()) as Array<{ Deleted?: string; Untagged?: string }>;
      for (const item of answer ?? []) if (item.Deleted) deleted.push(item.Deleted);
    } catch (error) {
      if (statusOf(error) === 404) continue; // removed meanwhile by someone else
      if (statusOf(error) === 409) return { deleted, refused: (error as Error).message.replace(/^\(HTTP code 409\)[^-]*- /, '').trim() };
      throw error;
    }
  }
  return { deleted };
}

export async function sweepCache(docker: Docker, options: SweepOptions): Promise<SweepReport> {
  const { cacheDir, scope, dryRun } = options;
  const registry = readInUse(options.inUseDir);
  const [images, containerImageIds, cacheDirs, records] = await Promise.all([
    listEngineImages(docker),
    listContainerImageIds(docker),
    listCacheDirs(cacheDir),
    listCacheRecords(cacheDir),
  ]);
  const decision = decidePrune(
    { images, containerImageIds, cacheDirs, records, inUseKeys: collectInUseKeys(registry), protectedRefs: new Set(options.protectedRefs) },
    scope,
  );
  const report: SweepReport = {
    dryRun,
    images: [],
    refused: [],
    keptImages: decision.keepImages,
    dirs: [],
    keptDirs: decision.keepDirs,
    records: [],
    keptRecords: decision.keepRecords,
    imageBytes: 0,
    dirBytes: 0,
    runningBuilds: registry.live.map((entry) => entry.pid),
    staleInUseRemoved: 0,
  };

  if (dryRun) {
    for (const verdict of decision.removeImages) {
      report.images.push({ tags: verdict.tags, id: verdict.image.id, bytes: verdict.bytes ?? 0, outcome: verdict.goes ? 'would remove' : 'would untag' });
    }
    report.imageBytes = decision.imageBytes;
    report.dirs = decision.removeDirs;
    report.dirBytes = decision.removeDirs.reduce((sum, dir) => sum + dir.bytes, 0);
    report.records = decision.removeRecords;
    if (scope.kind === 'all') {
      const heldByBuilds = registry.live.length > 0;
      const bytes = Math.max(0, (await measureBytes(cacheDir)) - report.dirBytes);
      report.rest = { path: cacheDir, bytes, removed: false, heldByBuilds };
    }
    return report;
  }

  report.staleInUseRemoved = removeStaleInUse(registry.stale);
  // Read again right before each removal: a build may have started since the decision.
  const nowInUse = (key: string) => [...collectInUseKeys(readInUse(options.inUseDir))].some((k) => normalizeKey(k) === normalizeKey(key));

  for (const verdict of decision.removeImages) {
    if (nowInUse(verdict.key)) {
      report.keptImages.push({ ...verdict, reason: 'in use' });
      continue;
    }
    const { deleted, refused } = await removeTags(docker, verdict.tags);
    const bytes = sumOwnBytes(images, deleted);
    report.imageBytes += bytes;
    if (refused) report.refused.push({ tags: verdict.tags, message: refused });
    else report.images.push({ tags: verdict.tags, id: verdict.image.id, bytes, outcome: deleted.includes(verdict.image.id) ? 'removed' : 'untagged' });
  }

  for (const dir of decision.removeDirs) {
    if (nowInUse(dir.key)) {
      report.keptDirs.push({ ...dir, reason: 'in use' });
      continue;
    }
    await rm(dir.path, { recursive: true, force: true });
    report.dirs.push(dir);
    report.dirBytes += dir.bytes;
  }

  const dropRecords = decision.removeRecords.filter((record) => !nowInUse(record.key));
  await forgetOutputRecords(cacheDir, dropRecords);
  report.records = dropRecords;

  if (scope.kind === 'all') {
    // Scratch directories (overlay context, ISO work) are not keyed: only when no build runs may they go.
    const heldByBuilds = readInUse(options.inUseDir).live.length > 0;
    const bytes = heldByBuilds ? 0 : await measureBytes(cacheDir);
    if (!heldByBuilds) await rm(cacheDir, { recursive: true, force: true });
    report.rest = { path: cacheDir, bytes, removed: !heldByBuilds, heldByBuilds };
    report.dirBytes += bytes;
  }
  return report;
}
