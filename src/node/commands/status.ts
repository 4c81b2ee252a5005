import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECOVERY_LABEL, STATE_LABEL, slotDir, type SlotName } from '../../disk/slots.js';
import { readBootState, type BootState } from '../boot-state.js';
import { readSlotIdentity, type ImageIdentity } from '../slots/image-identity.js';
import { BOOT_STATE_MOUNT, withPartition } from '../slots/partitions.js';
import { completeSwap, hasPendingSwap } from '../slots/swap.js';
import type { NodeSystem } from '../system.js';

export const LAST_CHANGE = 'cOS/last-change.json';

/** What `ros rollback` (and `ros upgrade`, next) record on COS_STATE for `ros status`. */
export interface SlotChange {
  action: 'rollback' | 'upgrade';
  /** ISO 8601. */
  at: string;
  result: string;
  /** For an upgrade: the image written, and its digest. */
  image?: string;
  digest?: string;
}

export interface NodeStatus {
  boot: BootState;
  slots: Partial<Record<SlotName, ImageIdentity>>;
  lastChange?: SlotChange;
}

/** The booted slot, each image's identity, the last slot change, whether this boot is a fallback. */
export async function readStatus(system: NodeSystem): Promise<NodeStatus> {
  const boot = await readBootState(system.root);
  if (!boot.slot) return { boot, slots: {} };
  const slots: NodeStatus['slots'] = {};
  let lastChange: SlotChange | undefined;
  const state = { knownMount: BOOT_STATE_MOUNT };
  // Each slot is read from its own squashfs, the running one too: after a rollback the running image sits in the other slot until the next boot.
  const readState = async (dir: string) => {
    for (const slot of ['active', 'passive'] as const) slots[slot] = await readSlotIdentity(system, join(dir, slotDir(slot)), slot);
    lastChange = await readFile(join(dir, LAST_CHANGE), 'utf8').then((t) => JSON.parse(t) as SlotChange, () => undefined);
  };
  // One read-only look, unless a power cut interrupted a swap: then it is finished first, read-write.
  const pending = await withPartition(system, STATE_LABEL, { ...state, writable: false }, async (dir) => {
    if (await hasPendingSwap(dir)) return true;
    await readState(dir);
    return false;
  });
  if (pending) {
    await withPartition(system, STATE_LABEL, { ...state, writable: true }, async (dir) => {
      if (await completeSwap(dir)) system.log('ros: finished a slot swap that was interrupted');
      await readState(dir);
    });
  }
  await withPartition(system, RECOVERY_LABEL, { writable: false }, async (dir) => {
    slots.recovery = await readSlotIdentity(system, join(dir, slotDir('recovery')), 'recovery');
  }).catch((error: Error) => (slots.recovery = { problem: error.message }));
  return { boot, slots, lastChange };
}

export function renderStatus(status: NodeStatus): string {
  if (!status.boot.slot) return 'booted: live medium (not an installed system)\n';
  const lines = [`booted: ${status.boot.slot}${status.boot.fallback ? ' (FALLBACK: the active image did not boot)' : ''}`];
  for (const slot of ['active', 'passive', 'recovery'] as const) {
    const identity = status.slots[slot];
    const text = !identity ? 'unknown' : identity.problem ? `unreadable (${identity.problem})` : `${identity.image ?? 'unknown image'} (version ${identity.version ?? 'unknown'})`;
    lines.push(`${`${slot}:`.padEnd(10)}${text}`);
  }
  const change = status.lastChange;
  lines.push(`last change: ${change ? `${change.action} at ${change.at}: ${change.result}` : 'none recorded'}`);
  // A fallback right after an upgrade is that upgrade failing: its image never finished a boot.
  if (change?.action === 'upgrade' && status.boot.fallback) lines.push(`upgrade FAILED: ${change.image} (${change.digest}) did not complete its boot; running the previous image`);
  return `${lines.join('\n')}\n`;
}
