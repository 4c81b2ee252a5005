import { readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { slotDir, type SlotName } from '../../disk/slots.js';
import { writeFileAtomic } from '../write-atomic.js';
import { syncPath } from '../durable.js';

/**
 * Exchange two slot directories on one partition (rollback: active ⇄
 * passive). Three renames cannot be one atomic step, so the intent is written
 * first with the inode of each directory, and completeSwap finishes from
 * whatever state a power cut left; GRUB boots any of those states (a missing
 * active falls back to passive).
 */
interface SwapIntent {
  a: SlotName;
  b: SlotName;
  inodeA: number;
  inodeB: number;
}

const INTENT = 'cOS/.swap.json';
const PARKED = 'cOS/.swap';

export async function swapSlots(partitionDir: string, a: SlotName, b: SlotName): Promise<void> {
  const intent: SwapIntent = { a, b, inodeA: await inodeOf(join(partitionDir, slotDir(a))), inodeB: await inodeOf(join(partitionDir, slotDir(b))) };
  await writeFileAtomic(join(partitionDir, INTENT), JSON.stringify(intent), 0o600);
  await syncPath(join(partitionDir, 'cOS'));
  await completeSwap(partitionDir);
}

export async function hasPendingSwap(partitionDir: string): Promise<boolean> {
  return stat(join(partitionDir, INTENT)).then(() => true, () => false);
}

/** Finish a swap a crash interrupted; nothing to do when there is no intent. Returns whether it did something. */
export async function completeSwap(partitionDir: string): Promise<boolean> {
  const text = await readFile(join(partitionDir, INTENT), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const intent = JSON.parse(text) as SwapIntent;
  const pathA = join(partitionDir, slotDir(intent.a));
  const pathB = join(partitionDir, slotDir(intent.b));
  const parked = join(partitionDir, PARKED);
  // Each step runs only when its source is still where the step expects it: repeating a finished step is a no-op.
  if ((await inodeOf(pathA).catch(() => -1)) === intent.inodeA) await rename(pathA, parked);
  if ((await inodeOf(pathB).catch(() => -1)) === intent.inodeB) await rename(pathB, pathA);
  if ((await inodeOf(parked).catch(() => -1)) === intent.inodeA) await rename(parked, pathB);
  await syncPath(join(partitionDir, 'cOS'));
  await rm(join(partitionDir, INTENT), { force: true });
  await syncPath(join(partitionDir, 'cOS'));
  return true;
}

async function inodeOf(path: string): Promise<number> {
  return (await stat(path)).ino;
}
