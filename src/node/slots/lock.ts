import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NodeSystem } from '../system.js';

/** Under /run: a reboot, which ends every holder, also drops the lock. */
export const SLOTS_LOCK = 'run/ros/slots.lock';

interface LockHolder {
  pid: number;
  /** The process's start time (/proc/PID/stat): a pid reused by another process is not the holder. */
  started: string;
  command: string;
  at: string;
}

/**
 * Run `change` holding the lock on the boot slots. An upgrade and a rollback
 * both clean up an unfinished cOS/transition before they start: without the
 * lock a second one would delete the first one's image while it is written.
 * A lock whose holder has died is taken over (two commands taking over the
 * same dead holder's lock at the same instant is the one race left).
 */
export async function withSlotsLock<T>(system: NodeSystem, command: string, change: () => Promise<T>): Promise<T> {
  const path = join(system.root, SLOTS_LOCK);
  const holder: LockHolder = { pid: process.pid, started: await readProcessStart(process.pid) ?? '', command, at: new Date().toISOString() };
  await takeLock(path, holder);
  try {
    return await change();
  } finally {
    const current = await readHolder(path);
    if (current?.pid === holder.pid && current.started === holder.started) await rm(path, { force: true });
  }
}

async function takeLock(path: string, holder: LockHolder): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  // Written whole under another name, then linked: a reader never sees half a lock.
  const candidate = `${path}.${holder.pid}`;
  await writeFile(candidate, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(candidate, path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = await readHolder(path);
      if (current && (await isRunning(current))) {
        throw new Error(`another ros ${current.command} (pid ${current.pid}, since ${current.at}) is changing the boot slots: wait until it ends, then run this again`);
      }
      await rm(path, { force: true }); // left by a ros that died
    }
    throw new Error(`could not take ${path}: other commands keep taking it; try again`);
  } finally {
    await rm(candidate, { force: true });
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

async function isRunning(holder: LockHolder): Promise<boolean> {
  return (await readProcessStart(holder.pid)) === holder.started;
}

/** Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces and parentheses). */
async function readProcessStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
