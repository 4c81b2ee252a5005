import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SlotName } from '../disk/slots.js';
import { parseKeyValues } from './slots/image-identity.js';

/** What the initramfs wrote about this boot (/run/ros/boot), and what boot assessment concluded. */
export interface BootState {
  /** undefined on a live (ISO) boot: no installed system is running. */
  slot?: SlotName;
  device?: string;
  /** Which try of its image this boot is (GRUB counts them: iso/disk-grub.cfg.hbs); none for recovery. */
  try?: number;
  fallback: boolean;
  /** On a fallback: the images GRUB passed over because their tries ran out. */
  failed: SlotName[];
  /** Why the persistent paths are on a tmpfs instead of COS_PERSISTENT; undefined when they are persistent. */
  persistentProblem?: string;
}

/** Boots an image gets before GRUB passes it over (iso/disk-grub.cfg.hbs counts to this). */
export const BOOT_TRIES = 3;

export async function readBootState(root: string): Promise<BootState> {
  const values = parseKeyValues(await readFile(join(root, 'run/ros/boot'), 'utf8').catch(() => ''));
  const slot = values.IMAGE as SlotName | undefined;
  const fallback = values.FALLBACK === 'yes' || (await access(join(root, 'run/ros/fallback')).then(() => true, () => false));
  const failed = (values.FAILED || (fallback ? 'active' : '')).split(',').filter(Boolean) as SlotName[];
  return {
    slot,
    device: values.DEVICE,
    try: values.TRY ? Number(values.TRY) : undefined,
    fallback,
    failed,
    persistentProblem: values.PERSISTENT_PROBLEM || undefined,
  };
}
