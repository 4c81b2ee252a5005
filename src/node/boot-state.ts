import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SlotName } from '../disk/slots.js';
import { parseKeyValues } from './slots/image-identity.js';

/** What the initramfs wrote about this boot (/run/ros/boot), and what boot assessment concluded. */
export interface BootState {
  /** undefined on a live (ISO) boot: no installed system is running. */
  slot?: SlotName;
  device?: string;
  fallback: boolean;
}

export async function readBootState(root: string): Promise<BootState> {
  const values = parseKeyValues(await readFile(join(root, 'run/ros/boot'), 'utf8').catch(() => ''));
  const slot = values.IMAGE as SlotName | undefined;
  const fallback = values.FALLBACK === 'yes' || (await access(join(root, 'run/ros/fallback')).then(() => true, () => false));
  return { slot, device: values.DEVICE, fallback };
}
