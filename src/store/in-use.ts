/**
 * Which cache keys running builds use, so that a `ros-build prune` running at
 * the same time leaves them alone.
 *
 * Every running plan owns one file, `<dir>/<pid>-<n>.json` holding the keys
 * it has learnt so far; the file goes when the plan ends (or the process is
 * interrupted). A file whose pid is no longer alive is stale: prune ignores
 * and deletes it.
 *
 * The directory is one per machine, not one per output directory: layer
 * images live in the engine and are shared by every spec and output
 * directory, so a prune of one output directory must see the builds writing
 * into another. It is world-writable and sticky, like /tmp, so builds run as
 * root (the tests) and as a user see each other. It sits in /tmp itself, not
 * in $TMPDIR: two shells with different TMPDIR must still meet.
 *
 * What is not covered: builds on another machine sharing the same engine
 * (DOCKER_HOST over TCP), and a pid reused by an unrelated process, which
 * only keeps a stale file (and its keys) alive longer.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, chmodSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultInUseDir(): string {
  return join(process.platform === 'win32' ? tmpdir() : '/tmp', 'ros-build-in-use');
}

export interface InUseEntry {
  pid: number;
  file: string;
  keys: string[];
}

export interface InUseSnapshot {
  /** Entries of processes that are still running. */
  live: InUseEntry[];
  /** Files left by processes that are gone. */
  stale: string[];
}

export interface InUseRecord {
  /** Note one more key this run uses (written to disk before returning). */
  add(key: string): void;
  /** Forget this run's keys; safe to call more than once. */
  release(): void;
}

const ENTRY = /^(\d+)-\d+\.json$/;
const PARTIAL = /^\.(\d+)-\d+\.json\.tmp$/;
let sequence = 0;

/** Alive, or alive under another user (EPERM): either way not ours to call stale. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a registry file belongs to, or undefined when the name is not one of ours. */
export function parseInUseFileName(name: string): number | undefined {
  const match = ENTRY.exec(name) ?? PARTIAL.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Create the shared directory; refuse a symlink or a non-directory planted in its place. */
function ensureInUseDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o1777 });
  const info = lstatSync(dir);
  if (!info.isDirectory()) throw new Error(`${dir} is not a directory`);
  // mkdir's mode is cut by the umask; whoever created the directory opens it to everyone.
  if (info.uid === process.getuid?.() && (info.mode & 0o1777) !== 0o1777) chmodSync(dir, 0o1777);
}

/** Write without following a symlink someone else may have put at our temporary name. */
function writeEntry(dir: string, name: string, content: string): void {
  const partial = join(dir, `.${name}.tmp`);
  const fd = openSync(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0), 0o644);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, join(dir, name));
}

/**
 * Start recording the keys of one run. Failing to record must not fail the
 * build, but it must not go unnoticed either: `warn` is told once.
 */
export function openInUseRecord(options: { dir?: string; warn?: (message: string) => void } = {}): InUseRecord {
  const dir = options.dir ?? defaultInUseDir();
  const name = `${process.pid}-${sequence++}.json`;
  const keys = new Set<string>();
  let written = false;
  let broken = false;
  let released = false;
  return {
    add(key) {
      if (released || broken || keys.has(key)) return;
      keys.add(key);
      try {
        ensureInUseDir(dir);
        writeEntry(dir, name, JSON.stringify({ pid: process.pid, keys: [...keys] }));
        written = true;
      } catch (error) {
        broken = true;
        options.warn?.(
          `warning: cannot record the cache keys this build uses in ${dir} (${(error as Error).message}); a \`ros-build prune\` running meanwhile may remove them`,
        );
      }
    },
    release() {
      if (released) return;
      released = true;
      if (!written) return;
      try {
        unlinkSync(join(dir, name));
      } catch {
        // Already gone; a leftover would be stale once this process exits anyway.
      }
    },
  };
}

/** Every registry entry, split into those of running processes and stale files. */
export function readInUse(dir = defaultInUseDir()): InUseSnapshot {
  const snapshot: InUseSnapshot = { live: [], stale: [] };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return snapshot;
  }
  for (const name of names) {
    const pid = parseInUseFileName(name);
    if (pid === undefined) continue;
    const file = join(dir, name);
    if (!isProcessAlive(pid)) {
      snapshot.stale.push(file);
      continue;
    }
    if (!ENTRY.test(name)) continue;
    try {
      const { keys } = JSON.parse(readFileSync(file, 'utf8')) as { keys?: unknown };
      snapshot.live.push({ pid, file, keys: Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [] });
    } catch {
      // Removed between readdir and read: that run just ended.
    }
  }
  return snapshot;
}

/** The keys of all running builds. */
export function collectInUseKeys(snapshot: InUseSnapshot): Set<string> {
  return new Set(snapshot.live.flatMap((entry) => entry.keys));
}

/** Delete stale files; those of another user's dead processes may not be ours to delete (sticky directory). */
export function removeStaleInUse(files: string[]): number {
  let removed = 0;
  for (const file of files) {
    try {
      unlinkSync(file);
      removed++;
    } catch {
      // Not ours, or already gone.
    }
  }
  return removed;
}
