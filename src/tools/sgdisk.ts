/** sgdisk arguments that write a planned GPT (src/disk/layout.ts) onto a disk or an image file. */
import type { DiskLayout } from '../disk/layout.js';

/**
 * One invocation: zap whatever table is there, set the disk GUID, then each
 * partition's sectors, type, name and GUID. sgdisk also writes the
 * protective MBR; on an image file it needs no privileges.
 */
export function buildSgdiskArgs(layout: DiskLayout, device: string): string[] {
  const args = ['--zap-all', '--clear', `--disk-guid=${layout.diskGuid}`];
  for (const p of layout.partitions) {
    args.push(
      `--new=${p.number}:${p.firstSector}:${p.lastSector}`,
      `--typecode=${p.number}:${p.typeGuid}`,
      `--change-name=${p.number}:${p.name}`,
      `--partition-guid=${p.number}:${p.guid}`,
    );
  }
  return [...args, device];
}
