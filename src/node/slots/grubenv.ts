import { join } from 'node:path';
import type { NodeSystem } from '../system.js';
import { mustRun } from './partitions.js';

const GRUBENV = '/oem/grubenv';
const GRUBENV_TOOL = '/usr/libexec/ros/grubenv';

/**
 * Forget every boot choice GRUB keeps (the one-shot next_entry, the default,
 * boot assessment's pending mark), so the next boot starts the active image
 * afresh: a mark left by an earlier failed upgrade must not send the next
 * one's first boot straight to passive (kairos#4303).
 */
export async function clearBootChoices(system: NodeSystem): Promise<void> {
  await mustRun(system, GRUBENV_TOOL, [join(system.root, GRUBENV), 'boot_pending=', 'next_entry=', 'saved_entry=']);
}
