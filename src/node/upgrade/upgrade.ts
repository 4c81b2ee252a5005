import { rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { RECOVERY_LABEL, STATE_LABEL, TRANSITION_DIR } from '../../disk/slots.js';
import { readBootState, type BootState } from '../boot-state.js';
import { LAST_CHANGE, type SlotChange } from '../commands/status.js';
import { clearBootChoices } from '../slots/grubenv.js';
import { readIdentity } from '../slots/image-identity.js';
import { bootMountOf, mustRun, withPartition } from '../slots/partitions.js';
import { withSlotsLock } from '../slots/lock.js';
import { readRunningSlot, recordRunningSlot } from '../slots/running-slot.js';
import { completeSwap } from '../slots/swap.js';
import { cleanInterruptedUpgrade, promoteTransition } from '../slots/transition.js';
import type { NodeSystem } from '../system.js';
import { writeFileAtomic } from '../write-atomic.js';
import { estimateImageBytes, renderCheck, resolveUpgrade, type UpgradeCheck, type UpgradeRequest } from './check.js';
import { formatBytes } from '../../format-bytes.js';
import { writeImage } from './write-image.js';
import { updateEspChain, type ChainBytes } from './boot-chain.js';

export interface UpgradeOptions extends UpgradeRequest {
  /** Replace the recovery image instead of the active one. */
  recovery: boolean;
  reboot: boolean;
}

/**
 * Pull an image (checked first: signature, digest), write it beside the
 * running system as a transition image, then put it in the active slot (the
 * running image becomes passive) with boot assessment armed, or in the
 * recovery slot. Nothing is renamed until the new image is whole on disk.
 */
export async function upgradeSystem(system: NodeSystem, options: UpgradeOptions): Promise<string> {
  const boot = await readBootState(system.root);
  if (!boot.slot) throw new Error('this is a live system, not an installed one: install it first (ros install)');
  if (options.recovery && boot.slot === 'recovery') throw new Error('booted from the recovery image: boot active or passive to replace it');
  const summary = await withSlotsLock(system, 'upgrade', () => writeSlot(system, boot, options));
  if (!options.reboot) return `${summary}; reboot to start it\n`;
  system.log(`ros: ${summary}; rebooting`);
  await mustRun(system, 'systemctl', ['reboot']);
  return '';
}

async function writeSlot(system: NodeSystem, boot: BootState, options: UpgradeOptions): Promise<string> {
  const slot = options.recovery ? 'recovery' : 'active';
  const label = options.recovery ? RECOVERY_LABEL : STATE_LABEL;
  const started = Date.now();
  const { check, client, layers } = await resolveUpgrade(system, options);
  system.log(`ros: ${renderCheck(check).trim()}`);
  const previous = await readIdentity(system.root);
  const running = await readRunningSlot(system.root, boot);
  const knownMount = bootMountOf(boot, label);
  let chain: ChainBytes | undefined;
  const summary = await withPartition(system, label, { writable: true, knownMount }, async (dir) => {
    if (await completeSwap(dir)) system.log('ros: finished a slot swap that was interrupted');
    for (const line of await cleanInterruptedUpgrade(dir)) system.log(`ros: ${line}`);
    await checkRoom(dir, label, check);
    const transition = join(dir, TRANSITION_DIR);
    const written = await writeImage(client, layers, transition, system.log).catch(async (error: NodeJS.ErrnoException) => {
      await rm(transition, { recursive: true, force: true });
      if (error.code === 'ENOSPC') throw new Error(`${label} filled up while the new image was written; it was removed and nothing changed. Free space on ${label} or install with a larger ${label}`);
      throw error;
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    system.log(`ros: wrote ${TRANSITION_DIR}: ${written.entries} files, squashfs ${formatBytes(written.squashfsBytes)}, kernel ${written.kernelVersion} (${seconds} s)`);
    chain = written.chain;
    if (slot === 'active') await clearBootChoices(system);
    await promoteTransition(dir, slot, running);
    // The running image is passive now (unless this runs from recovery, whose image is in no A/B slot).
    if (slot === 'active' && running !== 'recovery') await recordRunningSlot(system.root, 'passive');
    const change: SlotChange = {
      action: 'upgrade',
      at: new Date().toISOString(),
      image: check.reference,
      digest: check.digest,
      result: `${check.reference} (${check.digest}) written to ${describeWritten(slot, boot, previous)}`,
    };
    if (slot === 'active') await writeFileAtomic(join(dir, LAST_CHANGE), `${JSON.stringify(change)}\n`, 0o644);
    return change.result;
  });
  // The ESP's chain follows the active image; the recovery image boots with whatever chain the ESP has.
  if (slot === 'active') await followBootChain(system, chain);
  return `upgraded in ${((Date.now() - started) / 1000).toFixed(0)} s: ${summary}`;
}

/** The upgrade stands whatever happens here: the ESP's chain, updated or not, is complete and starts every slot. */
async function followBootChain(system: NodeSystem, chain: ChainBytes | undefined): Promise<void> {
  const line = await updateEspChain(system, chain).catch((error: Error) => `the ESP keeps its boot chain: ${error.message}`);
  system.log(`ros: ${line}`);
}

function describeWritten(slot: 'active' | 'recovery', boot: BootState, previous: { image?: string; version?: string }): string {
  if (slot === 'recovery') return 'recovery';
  if (boot.slot === 'recovery') return 'active and passive (upgraded from recovery)';
  return `active; ${previous.image ?? 'the running image'} (version ${previous.version ?? 'unknown'}) is passive`;
}

/**
 * Refuse before writing when the new image cannot fit beside the ones kept
 * (harvester#7457: a transition image on a full partition corrupted an
 * upgrade). A write that still runs out of room is removed and says so.
 */
async function checkRoom(dir: string, label: string, check: UpgradeCheck): Promise<void> {
  const { compressedBytes } = check;
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const needed = estimateImageBytes(check);
  if (free < needed) {
    throw new Error(
      `not enough room on ${label}: ${formatBytes(free)} free, the new image needs about ${formatBytes(needed)} (${formatBytes(compressedBytes)} of compressed layers, plus kernel and initramfs); nothing was written. Free space on ${label} or install with a larger ${label}`,
    );
  }
}
