/**
 * An installed system already on a disk, found by its labels: what
 * `no_format` keeps, and what `fallback_mode=install` looks for before it
 * installs. blkid probes each partition itself (-p), so the answer does not
 * depend on udev having seen the disk yet.
 */
import { BIOS_PARTITION_FIRST_SECTOR, minimumSizes, formatSize, PARTITION_LABELS, type PartitionRole } from '../../disk/layout.js';
import { UserError } from '../../errors.js';
import type { NodeSystem } from '../system.js';
import { listPartitions, type BlockDevice, type PartitionDevice } from './devices.js';

export type ExistingLayout = Record<PartitionRole, PartitionDevice>;

interface ProbedPartition extends PartitionDevice {
  label?: string;
  partLabel?: string;
}

async function probePartitions(system: NodeSystem, disk: BlockDevice): Promise<ProbedPartition[]> {
  const probed: ProbedPartition[] = [];
  for (const partition of await listPartitions(system, disk.name)) {
    // Exit 2 means "nothing found" (no filesystem, e.g. the BIOS partition): not an error here.
    const result = await system.run('blkid', ['-p', '-o', 'export', partition.devicePath]);
    const values = Object.fromEntries(
      result.output
        .split('\n')
        .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    probed.push({ ...partition, label: values.LABEL, partLabel: values.PART_ENTRY_NAME });
  }
  return probed;
}

/** The ros partitions on a disk, by role; the roles found missing are listed instead. */
export async function findExistingLayout(system: NodeSystem, disk: BlockDevice): Promise<{ layout?: ExistingLayout; missing: string[] }> {
  const probed = await probePartitions(system, disk);
  const layout: Partial<ExistingLayout> = {};
  const missing: string[] = [];
  for (const [role, label] of Object.entries(PARTITION_LABELS) as Array<[PartitionRole, string]>) {
    const found = probed.find((p) => (role === 'bios' ? p.partLabel : p.label) === label);
    if (found) layout[role] = found;
    else missing.push(label);
  }
  return missing.length === 0 ? { layout: layout as ExistingLayout, missing } : { missing };
}

/** Whether a disk holds an installed system: a COS_STATE file system among its partitions. */
export async function hasInstalledSystem(system: NodeSystem, disk: BlockDevice): Promise<boolean> {
  return (await probePartitions(system, disk)).some((p) => p.label === PARTITION_LABELS.state);
}

/**
 * The layout `no_format` keeps, checked: every label there, the BIOS
 * partition where the ISO's core image expects it, and slots large enough
 * for this image (an upgrade needs room for three on COS_STATE).
 */
export async function requireExistingLayout(system: NodeSystem, disk: BlockDevice, imageBytes: number): Promise<ExistingLayout> {
  const { layout, missing } = await findExistingLayout(system, disk);
  if (!layout) {
    throw new UserError(
      `no_format keeps the partitions already on ${disk.path}, but it has no ${missing.join(', ')}`,
      'install without no_format (which erases the disk), or give the disk that holds the installed system',
    );
  }
  if (layout.bios.startSector !== BIOS_PARTITION_FIRST_SECTOR) {
    throw new UserError(
      `the BIOS partition on ${disk.path} starts at sector ${layout.bios.startSector}, not ${BIOS_PARTITION_FIRST_SECTOR} where the medium's GRUB core image must be`,
      'install without no_format, which writes a new partition table',
    );
  }
  const minimum = minimumSizes(imageBytes);
  for (const role of ['recovery', 'state'] as const) {
    if (layout[role].sizeBytes < minimum[role]) {
      throw new UserError(
        `${PARTITION_LABELS[role]} on ${disk.path} has ${formatSize(layout[role].sizeBytes)}; this image needs at least ${formatSize(minimum[role])} there`,
        'install without no_format, which sizes the partitions for this image',
      );
    }
  }
  return layout;
}
