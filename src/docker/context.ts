import { createHash } from 'node:crypto';
import { readFile, readdir, lstat, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { openFileDigests, type FileDigests } from '../store/file-digests.js';

/** Files this large enter the hash by their own SHA-256, which `digests` may remember. */
const LARGE_FILE_BYTES = 2 ** 20;

export interface ContextTree {
  /** Paths relative to the context root, sorted: what is sent to the engine. */
  files: string[];
  /** Hash of every path, mode, link target and content: the context's cache identity. */
  hash: string;
}

/**
 * Walk a build context once: list what to send and hash it. Modes are part of
 * the hash because COPY keeps them; mtimes are not, so a touch with no change
 * keeps the cache.
 */
export async function hashContext(root: string, digests?: FileDigests): Promise<ContextTree> {
  const large = digests ?? (await openFileDigests());
  const hash = createHash('sha256');
  const files: string[] = [];
  const ignored = await readDockerignore(root);
  async function walk(dir: string): Promise<void> {
    const entries = (await readdir(dir)).sort();
    for (const name of entries) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (ignored.has(rel)) continue;
      const stat = await lstat(path);
      if (stat.isDirectory()) {
        hash.update(`d ${rel} ${stat.mode & 0o7777}\n`);
        await walk(path);
      } else if (stat.isSymbolicLink()) {
        hash.update(`l ${rel} -> ${await readlink(path)}\n`);
        files.push(rel);
      } else if (stat.isFile() && stat.size >= LARGE_FILE_BYTES) {
        hash.update(`F ${rel} ${stat.mode & 0o7777} ${stat.size} ${await large.digestOf(path)}\n`);
        files.push(rel);
      } else if (stat.isFile()) {
        const content = await readFile(path);
        hash.update(`f ${rel} ${stat.mode & 0o7777} ${content.length}\n`);
        hash.update(content);
        files.push(rel);
      }
    }
  }
  await walk(root);
  return { files, hash: hash.digest('hex') };
}

/** Only plain paths are honoured; patterns would need Docker's matcher. */
async function readDockerignore(root: string): Promise<Set<string>> {
  try {
    const text = await readFile(join(root, '.dockerignore'), 'utf8');
    return new Set(
      text
        .split('\n')
        .map((line) => line.trim().replace(/^\.\//, '').replace(/\/$/, ''))
        .filter((line) => line && !line.startsWith('#')),
    );
  } catch {
    return new Set();
  }
}
