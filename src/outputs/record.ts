import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../fsutil/atomic.js';
import { writeFile } from 'node:fs/promises';

/** What we know of an output file we wrote: the key it was built from and its checksum. */
export interface OutputRecord {
  key: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

type Records = Record<string, OutputRecord>;

function recordsPath(cacheDir: string): string {
  return join(cacheDir, 'outputs.json');
}

async function readRecords(cacheDir: string): Promise<Records> {
  try {
    return JSON.parse(await readFile(recordsPath(cacheDir), 'utf8')) as Records;
  } catch {
    return {};
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The record of `path` if the file is still exactly what was built from `key`. */
export async function findCurrentOutput(cacheDir: string, path: string, key: string): Promise<OutputRecord | undefined> {
  const record = (await readRecords(cacheDir))[path];
  if (!record || record.key !== key) return undefined;
  try {
    const info = await stat(path);
    return info.size === record.size && info.mtimeMs === record.mtimeMs ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Several outputs built from one key (a disk's formats, a netboot directory's files): every one current, or undefined. */
export async function findCurrentOutputs<T extends { path: string }>(cacheDir: string, outputs: readonly T[], key: string): Promise<Array<T & { record: OutputRecord }> | undefined> {
  const found: Array<T & { record: OutputRecord }> = [];
  for (const output of outputs) {
    const record = await findCurrentOutput(cacheDir, output.path, key);
    if (!record) return undefined;
    found.push({ ...output, record });
  }
  return found;
}

export async function recordOutput(cacheDir: string, path: string, key: string): Promise<OutputRecord> {
  const info = await stat(path);
  const record: OutputRecord = { key, size: info.size, mtimeMs: info.mtimeMs, sha256: await sha256File(path) };
  const records = await readRecords(cacheDir);
  records[path] = record;
  await writeAtomically(recordsPath(cacheDir), (tmp) => writeFile(tmp, JSON.stringify(records, null, 2)));
  return record;
}

/** Every output record with the path it describes: what `ros-build prune` weighs. */
export async function listOutputRecords(cacheDir: string): Promise<Array<{ path: string; record: OutputRecord }>> {
  return Object.entries(await readRecords(cacheDir)).map(([path, record]) => ({ path, record }));
}

/**
 * Drop the records of these paths, each only while it still holds the given
 * key: a build may have recorded a new output at that path meanwhile. The
 * file is read again just before it is rewritten, which narrows but does not
 * close the window in which a concurrent recordOutput is lost (its next build
 * then rebuilds that output once).
 */
export async function forgetOutputRecords(cacheDir: string, drop: Array<{ path: string; key: string }>): Promise<number> {
  const records = await readRecords(cacheDir);
  let forgotten = 0;
  for (const { path, key } of drop) {
    if (records[path]?.key !== key) continue;
    delete records[path];
    forgotten++;
  }
  if (forgotten) await writeAtomically(recordsPath(cacheDir), (tmp) => writeFile(tmp, JSON.stringify(records, null, 2)));
  return forgotten;
}
