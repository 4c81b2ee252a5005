import { link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PARKED_DIR, slotDir, TRANSITION_DIR, type SlotName } from '../../disk/slots.js';
import { syncPath } from '../durable.js';

/**
 * A new image (written into cOS/transition) takes its slot's place in renames
 * ordered so that a power cut between any two leaves the old system bootable:
 *
 *   active:   drop the image not running, active → passive (unless passive
 *             is the one running), transition → active. Without an active
 *             image GRUB falls back to passive, the old system. Run from
 *             recovery (active and passive may both be broken: that is how a
 *             machine gets there), both slots get the new image.
 *   recovery: recovery → parked, transition → recovery, drop parked.
 *
 * cleanInterruptedUpgrade undoes whatever such a cut left, back to the state
 * before the upgrade, so the next `ros upgrade` starts clean.
 */
export async function promoteTransition(partitionDir: string, slot: 'active' | 'recovery', running: SlotName | undefined): Promise<void> {
  const path = (name: string) => join(partitionDir, name);
  const cos = path('cOS');
  if (slot === 'recovery') {
    await rm(path(PARKED_DIR), { recursive: true, force: true });
    if (await exists(path(slotDir('recovery')))) await rename(path(slotDir('recovery')), path(PARKED_DIR));
    await syncPath(cos);
    await rename(path(TRANSITION_DIR), path(slotDir('recovery')));
    await syncPath(cos);
    await rm(path(PARKED_DIR), { recursive: true, force: true });
    return;
  }
  if (running === 'recovery') {
    // Hard links, not a copy: an image's files are never written in place, and the slots share a partition.
    await rm(path(LINKED_DIR), { recursive: true, force: true });
    await mkdir(path(LINKED_DIR));
    for (const name of await readdir(path(TRANSITION_DIR))) await link(join(path(TRANSITION_DIR), name), join(path(LINKED_DIR), name));
    await drop(partitionDir, slotDir('passive'));
    await syncPath(cos);
    await rename(path(LINKED_DIR), path(slotDir('passive')));
    await drop(partitionDir, slotDir('active'));
  } else if (running === 'passive') {
    // The machine runs passive (a fallback, or chosen): it stays the one to come back to.
    await drop(partitionDir, slotDir('active'));
  } else {
    await drop(partitionDir, slotDir('passive'));
    if (await exists(path(slotDir('active')))) await rename(path(slotDir('active')), path(slotDir('passive')));
  }
  await syncPath(cos);
  await rename(path(TRANSITION_DIR), path(slotDir('active')));
  await syncPath(cos);
}

/** Put back what an interrupted upgrade moved and drop its partial image. Returns what it did, for the log. */
export async function cleanInterruptedUpgrade(partitionDir: string): Promise<string[]> {
  const path = (name: string) => join(partitionDir, name);
  const done: string[] = [];
  await rm(path(DROPPED_DIR), { recursive: true, force: true });
  await rm(path(LINKED_DIR), { recursive: true, force: true });
  if (!(await exists(path(TRANSITION_DIR)))) {
    if (await exists(path(PARKED_DIR))) {
      await rm(path(PARKED_DIR), { recursive: true, force: true });
      done.push(`removed ${PARKED_DIR} (the image it replaced is in place)`);
    }
    return done;
  }
  if (!(await exists(path(slotDir('active')))) && (await exists(path(slotDir('passive'))))) {
    await rename(path(slotDir('passive')), path(slotDir('active')));
    done.push('passive is active again (an upgrade stopped between its renames)');
  }
  if (!(await exists(path(slotDir('recovery')))) && (await exists(path(PARKED_DIR)))) {
    await rename(path(PARKED_DIR), path(slotDir('recovery')));
    done.push('the previous recovery image is back');
  }
  await rm(path(TRANSITION_DIR), { recursive: true, force: true });
  await rm(path(PARKED_DIR), { recursive: true, force: true });
  done.push(`removed the unfinished ${TRANSITION_DIR}`);
  await syncPath(path('cOS'));
  return done;
}

/** Where a slot goes to be deleted: one rename takes it out whole, so a cut during the deletion never leaves half an image in a slot. */
const DROPPED_DIR = 'cOS/.dropped';
/** Where the passive copy of an upgrade made from recovery is put together before it takes the passive slot. */
const LINKED_DIR = 'cOS/.linked';

async function drop(partitionDir: string, slot: string): Promise<void> {
  const dropped = join(partitionDir, DROPPED_DIR);
  await rm(dropped, { recursive: true, force: true });
  if (!(await exists(join(partitionDir, slot)))) return;
  await rename(join(partitionDir, slot), dropped);
  await syncPath(join(partitionDir, 'cOS'));
  await rm(dropped, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
