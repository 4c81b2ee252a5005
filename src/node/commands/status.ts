import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECOVERY_LABEL, STATE_LABEL, slotDir, type SlotName } from '../../disk/slots.js';
import { BOOT_TRIES, readBootState, type BootState } from '../boot-state.js';
import { describeKubernetes } from '../kubernetes/status.js';
import { readGrubEnv } from '../slots/grubenv.js';
import { readSlotIdentity, type ImageIdentity } from '../slots/image-identity.js';
import { bootMountOf, withPartition } from '../slots/partitions.js';
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

/** How the firmware started this boot: BIOS, or UEFI with Secure Boot on or off. */
export type FirmwareState = 'bios' | 'uefi' | 'uefi-secure';

export interface NodeStatus {
  boot: BootState;
  firmware: FirmwareState;
  slots: Partial<Record<SlotName, ImageIdentity>>;
  lastChange?: SlotChange;
  /** Boots of active and passive counted by GRUB and not yet seen coming up. */
  tries?: { active: number; passive: number };
  /** The last boots that came up (boot assessment's record, /var/lib/ros/boots), oldest first. */
  recentBoots?: string[];
  /** The Kubernetes distribution's line, when the node runs one. */
  kubernetes?: string;
}

/** Boot assessment's record of the boots that came up (images/framework/…/boot-assessment). */
const BOOT_HISTORY = 'var/lib/ros/boots';

/** The SecureBoot variable of the EFI global namespace: 4 bytes of attributes, then 1 when Secure Boot is enforced. */
const SECURE_BOOT_VARIABLE = 'sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';

/** The firmware this boot came through, from what the kernel shows of it. */
export async function readFirmware(system: NodeSystem): Promise<FirmwareState> {
  const efi = await readFile(join(system.root, 'sys/firmware/efi/fw_platform_size'), 'utf8').then(() => true, () => false);
  if (!efi) return 'bios';
  const secureBoot = await readFile(join(system.root, SECURE_BOOT_VARIABLE)).catch(() => Buffer.alloc(0));
  return secureBoot[4] === 1 ? 'uefi-secure' : 'uefi';
}

/** The booted slot, each image's identity, the last slot change, whether this boot is a fallback. */
export async function readStatus(system: NodeSystem): Promise<NodeStatus> {
  const boot = await readBootState(system.root);
  const firmware = await readFirmware(system);
  if (!boot.slot) return { boot, firmware, slots: {} };
  const slots: NodeStatus['slots'] = {};
  let lastChange: SlotChange | undefined;
  const state = { knownMount: bootMountOf(boot, STATE_LABEL) };
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
  await withPartition(system, RECOVERY_LABEL, { writable: false, knownMount: bootMountOf(boot, RECOVERY_LABEL) }, async (dir) => {
    slots.recovery = await readSlotIdentity(system, join(dir, slotDir('recovery')), 'recovery');
  }).catch((error: Error) => (slots.recovery = { problem: error.message }));
  const grubEnv = await readGrubEnv(system);
  const tries = { active: Number(grubEnv.active_tries || 0), passive: Number(grubEnv.passive_tries || 0) };
  const history = await readFile(join(system.root, BOOT_HISTORY), 'utf8').catch(() => '');
  const kubernetes = await describeKubernetes(system);
  return { boot, firmware, slots, lastChange, tries, recentBoots: history.trim().split('\n').filter(Boolean).slice(-5), kubernetes };
}

function describeBoot(boot: BootState): string {
  const attempt = boot.try ? ` (try ${boot.try} of ${BOOT_TRIES})` : '';
  if (!boot.fallback) return `booted: ${boot.slot}${attempt}`;
  // readBootState names active as the failed image when an older initramfs said only FALLBACK=yes: failed is never empty here.
  return `booted: ${boot.slot}${attempt} (FALLBACK: the ${boot.failed.join(' and ')} image${boot.failed.length > 1 ? 's' : ''} did not boot)`;
}

const FIRMWARE_TEXT: Record<FirmwareState, string> = { bios: 'BIOS', uefi: 'UEFI, Secure Boot off', 'uefi-secure': 'UEFI, Secure Boot on' };

export function renderStatus(status: NodeStatus): string {
  const firmware = `firmware: ${FIRMWARE_TEXT[status.firmware]}`;
  if (!status.boot.slot) return `booted: live medium (not an installed system)\n${firmware}\n`;
  const lines = [describeBoot(status.boot), firmware];
  if (status.tries) {
    const count = (slot: 'active' | 'passive') => `${slot} ${status.tries![slot]} of ${BOOT_TRIES}${status.tries![slot] >= BOOT_TRIES ? ' (passed over until an upgrade or a rollback)' : ''}`;
    lines.push(`boot tries: ${count('active')}, ${count('passive')}`);
  }
  lines.push(status.boot.persistentProblem ? `persistent: NOT KEPT: ${status.boot.persistentProblem}; /var, /home and the other persistent paths are on a tmpfs` : 'persistent: COS_PERSISTENT');
  for (const slot of ['active', 'passive', 'recovery'] as const) {
    const identity = status.slots[slot];
    const text = !identity ? 'unknown' : identity.problem ? `unreadable (${identity.problem})` : `${identity.image ?? 'unknown image'} (version ${identity.version ?? 'unknown'})`;
    lines.push(`${`${slot}:`.padEnd(10)}${text}`);
  }
  const change = status.lastChange;
  lines.push(`last change: ${change ? `${change.action} at ${change.at}: ${change.result}` : 'none recorded'}`);
  // A fallback right after an upgrade is that upgrade failing: its image never finished a boot.
  if (change?.action === 'upgrade' && status.boot.fallback) lines.push(`upgrade FAILED: ${change.image} (${change.digest}) did not complete its boot; running the previous image`);
  if (status.kubernetes) lines.push(status.kubernetes);
  if (status.recentBoots?.length) lines.push('recent boots that came up:', ...status.recentBoots.map((line) => `  ${line}`));
  return `${lines.join('\n')}\n`;
}
