import { lstat, readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../node/write-atomic.js';
import { sha256File } from '../outputs/record.js';

/**
 * SHA-256 of large files, remembered by what the file system says of them:
 * the ros layer's context holds a 127 MB Node.js, and reading it at every
 * build made a no-op `make iso` 0.4 s slower (1.27 s; 2.2 s in one bench
 * run). The identity includes ctime, which every write sets and nothing sets
 * back, so a changed file is never taken for the old one. As git does with its index, a digest
 * is not remembered while the file's ctime is within a few seconds of now: a
 * write in the same clock tick would leave the same times.
 */
export interface FileDigests {
  digestOf(path: string): Promise<string>;
  /** Store what was learned (a no-op for a memory-only set). */
  save(): Promise<void>;
}

interface Remembered {
  identity: string;
  sha256: string;
}

const SETTLED_NS = 3_000_000_000n;

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** Digests kept in `storePath` across runs, or only for this run without one. */
export async function openFileDigests(storePath?: string, clock = nowNs): Promise<FileDigests> {
  const known = storePath ? await readStore(storePath) : new Map<string, Remembered>();
  let changed = false;
  return {
    async digestOf(path) {
      const stats = await lstat(path, { bigint: true });
      const identity = [stats.dev, stats.ino, stats.size, stats.mtimeNs, stats.ctimeNs].join(':');
      const remembered = known.get(path);
      if (remembered?.identity === identity) return remembered.sha256;
      const sha256 = await sha256File(path);
      if (clock() - stats.ctimeNs > SETTLED_NS) {
        known.set(path, { identity, sha256 });
        changed = true;
      }
      return sha256;
    },
    async save() {
      if (!storePath || !changed) return;
      // Files gone since are forgotten, so the store does not grow with every moved context.
      const kept = await Promise.all([...known].map(async ([path, entry]) => ((await stat(path).catch(() => undefined)) ? [[path, entry] as const] : [])));
      await writeFileAtomic(storePath, `${JSON.stringify(Object.fromEntries(kept.flat()))}\n`, 0o644);
    },
  };
}

async function readStore(storePath: string): Promise<Map<string, Remembered>> {
  try {
    return new Map(Object.entries(JSON.parse(await readFile(storePath, 'utf8')) as Record<string, Remembered>));
  } catch {
    return new Map(); // none yet, or unreadable: digests are only an optimisation
  }
}
