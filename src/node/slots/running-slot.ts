import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SlotName } from '../../disk/slots.js';
import type { BootState } from '../boot-state.js';
import { writeFileAtomic } from '../write-atomic.js';

/**
 * Which slot directory holds the running image now. The boot says where it
 * came from (/run/ros/boot); a rollback or an upgrade without a reboot moves
 * it (active to passive, or back) and says so here, so that the next change
 * keeps the running image as the one to come back to instead of dropping it.
 * Under /run: a reboot starts from the boot's word again.
 */
const RUNNING_SLOT = 'run/ros/running-slot';

export async function readRunningSlot(root: string, boot: BootState): Promise<SlotName | undefined> {
  const moved = (await readFile(join(root, RUNNING_SLOT), 'utf8').catch(() => '')).trim();
  return moved === 'active' || moved === 'passive' ? moved : boot.slot;
}

export async function recordRunningSlot(root: string, slot: SlotName): Promise<void> {
  await mkdir(join(root, 'run/ros'), { recursive: true });
  await writeFileAtomic(join(root, RUNNING_SLOT), `${slot}\n`, 0o644);
}
