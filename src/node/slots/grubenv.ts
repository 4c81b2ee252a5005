import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSystem } from '../system.js';
import { parseKeyValues } from './image-identity.js';
import { mustRun } from './partitions.js';

const GRUBENV = '/oem/grubenv';
const GRUBENV_TOOL = '/usr/libexec/ros/grubenv';

/**
 * Forget every boot choice GRUB keeps (the one-shot next_entry, the default,
 * boot assessment's counts of tries, and boot_pending, the mark of a grub.cfg
 * from before tries were counted), so the next boot starts the active image
 * afresh: a count left by an earlier failed upgrade must not send the next
 * one's first boot straight to a fallback (kairos#4303).
 */
export async function clearBootChoices(system: NodeSystem): Promise<void> {
  await mustRun(system, GRUBENV_TOOL, [join(system.root, GRUBENV), 'active_tries=', 'passive_tries=', 'boot_pending=', 'next_entry=', 'saved_entry=']);
}

/** GRUB's environment as the node sees it (COS_OEM mounted on /oem); empty when there is none. */
export async function readGrubEnv(system: NodeSystem): Promise<Record<string, string>> {
  return parseKeyValues(await readFile(join(system.root, GRUBENV), 'utf8').catch(() => ''));
}
