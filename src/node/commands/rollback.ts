import { join } from 'node:path';
import { STATE_LABEL } from '../../disk/slots.js';
import { readBootState } from '../boot-state.js';
import { clearBootChoices } from '../slots/grubenv.js';
import { bootMountOf, withPartition } from '../slots/partitions.js';
import { withSlotsLock } from '../slots/lock.js';
import { readRunningSlot, recordRunningSlot } from '../slots/running-slot.js';
import { swapSlots } from '../slots/swap.js';
import { cleanInterruptedUpgrade } from '../slots/transition.js';
import type { NodeSystem } from '../system.js';
import { writeFileAtomic } from '../write-atomic.js';
import { LAST_CHANGE, type SlotChange } from './status.js';

/**
 * Passive becomes active (and active passive): the next boot and the default
 * go to it. Boot assessment's mark is cleared first, so a machine that fell
 * back does not fall back again onto the image it just left.
 */
export async function rollback(system: NodeSystem): Promise<string> {
  const boot = await readBootState(system.root);
  if (!boot.slot) throw new Error('not an installed system (booted from a live medium): nothing to roll back');
  if (boot.slot === 'recovery') throw new Error('booted from recovery: `ros upgrade` writes a working image into active and passive (a rollback would only swap the two images that did not boot)');
  await withSlotsLock(system, 'rollback', async () => {
    await clearBootChoices(system);
    const change: SlotChange = { action: 'rollback', at: new Date().toISOString(), result: `passive became active (booted from ${boot.slot}${boot.fallback ? ' as a fallback' : ''})` };
    await withPartition(system, STATE_LABEL, { writable: true, knownMount: bootMountOf(boot, STATE_LABEL) }, async (dir) => {
      for (const line of await cleanInterruptedUpgrade(dir)) system.log(`ros: ${line}`);
      await swapSlots(dir, 'active', 'passive');
      await writeFileAtomic(join(dir, LAST_CHANGE), `${JSON.stringify(change)}\n`, 0o644);
    });
    const running = await readRunningSlot(system.root, boot);
    if (running) await recordRunningSlot(system.root, running === 'active' ? 'passive' : 'active');
  });
  return 'rolled back: the previous image is active from the next boot (reboot to use it)';
}
