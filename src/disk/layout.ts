/**
 * The installed system's partition layout: one module for the disk builder
 * (which writes it into an image file) and the installer (which writes it to
 * a real disk). Pure: sizes in, partitions with sectors, types and GUIDs out.
 *
 *   1 BIOS        1 MiB    BIOS boot (GRUB's core image for SeaBIOS/legacy boot on GPT)
 *   2 COS_GRUB    64 MiB   EFI system partition (vfat): BOOTX64.EFI and grub.cfg
 *   3 COS_OEM     64 MiB   ext4: cloud-config, GRUB environment (grubenv)
 *   4 COS_RECOVERY          ext4: cOS/recovery/{rootfs.squashfs,vmlinuz,initrd}, room for a transition image
 *   5 COS_STATE             ext4: cOS/active/…, cOS/passive/…, room for a transition image
 *   6 COS_PERSISTENT        ext4: the rest of the disk
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';

export const SECTOR = 512;
const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** Partitions start on whole MiB: what every partitioning tool does, and what flash and cloud disks want. */
const ALIGN_SECTORS = MiB / SECTOR;
/** The backup GPT (header and 128 entries) at the end of the disk. */
const BACKUP_GPT_SECTORS = 33;
/**
 * Where the BIOS boot partition (the first) always starts: GRUB's core image
 * is patched for this sector, so the ISO can carry one made in advance for
 * the installer (which has no grub-mkimage).
 */
export const BIOS_PARTITION_FIRST_SECTOR = ALIGN_SECTORS;
/** The BIOS boot partition's size: 1 MiB, room for any GRUB core image. */
const BIOS_PARTITION_BYTES = MiB;
export const BIOS_PARTITION_SECTORS = BIOS_PARTITION_BYTES / SECTOR;

export type PartitionRole = 'bios' | 'efi' | 'oem' | 'recovery' | 'state' | 'persistent';
export type Filesystem = 'none' | 'vfat' | 'ext4';

export const PARTITION_TYPES = {
  bios: '21686148-6449-6E6F-744E-656564454649',
  efi: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

export interface Partition {
  number: number;
  role: PartitionRole;
  /** The GPT partition name, and the filesystem label. */
  name: string;
  filesystem: Filesystem;
  typeGuid: string;
  guid: string;
  firstSector: number;
  /** Inclusive, as GPT counts. */
  lastSector: number;
  sizeBytes: number;
}

export interface DiskLayout {
  sizeBytes: number;
  diskGuid: string;
  partitions: Partition[];
}

/** Sizes the layout may be given; the rest are defaults. */
export type PartitionSizes = Partial<Record<Exclude<PartitionRole, 'bios'>, number>>;

export interface LayoutRequest {
  /** Size of one OS image as stored on disk (squashfs + kernel + initrd). */
  imageBytes: number;
  sizes?: PartitionSizes;
  /** Total disk size; rounded up to a whole GiB. Default: the smallest that fits. */
  totalBytes?: number;
  /** What COS_OEM carries beyond its configuration (an air-gap bundle): it grows by this much, with ext4's share. */
  oemContentBytes?: number;
  /**
   * The size of a real disk (the installer): used exactly as it is, never
   * rounded, with COS_PERSISTENT taking the rest. Wins over totalBytes. Too
   * small is a UserError naming `deviceName` and the minimum.
   */
  deviceBytes?: number;
  /** How the messages name the device, e.g. "/dev/vda"; default "the disk". */
  deviceName?: string;
  /** GUIDs are derived from it: the same seed gives the same disk (reproducible builds); the installer passes a random one. */
  seed: string;
}

/** The name each role carries: the GPT name for BIOS (it has no filesystem), the GPT name and filesystem label for the rest. */
export const PARTITION_LABELS: Readonly<Record<PartitionRole, string>> = {
  bios: 'BIOS',
  efi: 'COS_GRUB',
  oem: 'COS_OEM',
  recovery: 'COS_RECOVERY',
  state: 'COS_STATE',
  persistent: 'COS_PERSISTENT',
};

/** Where every GRUB of an installed disk (BIOS core image, UEFI loader, the signed GRUB's stub) reads its menu: on the ESP. */
export const ESP_GRUB_PREFIX = '/grub';
export const ESP_GRUB_CONFIG = `${ESP_GRUB_PREFIX.slice(1)}/grub.cfg`;

const ROLES: ReadonlyArray<{ role: PartitionRole; name: string; filesystem: Filesystem; type: string }> = [
  { role: 'bios', name: PARTITION_LABELS.bios, filesystem: 'none', type: PARTITION_TYPES.bios },
  { role: 'efi', name: PARTITION_LABELS.efi, filesystem: 'vfat', type: PARTITION_TYPES.efi },
  { role: 'oem', name: PARTITION_LABELS.oem, filesystem: 'ext4', type: PARTITION_TYPES.linux },
  { role: 'recovery', name: PARTITION_LABELS.recovery, filesystem: 'ext4', type: PARTITION_TYPES.linux },
  { role: 'state', name: PARTITION_LABELS.state, filesystem: 'ext4', type: PARTITION_TYPES.linux },
  { role: 'persistent', name: PARTITION_LABELS.persistent, filesystem: 'ext4', type: PARTITION_TYPES.linux },
];

/**
 * Smallest sizes that work for an image of `imageBytes`. ext4 keeps about 5 %
 * for itself. COS_STATE holds three images at once during an upgrade
 * (active, passive, transition), with 25 % headroom for a new image that
 * grew: Kairos users hit upgrades that did not fit (kairos#1751), and a sparse
 * transition image on a full partition corrupted Harvester upgrades.
 */
export function minimumSizes(imageBytes: number, oemContentBytes = 0): Record<Exclude<PartitionRole, 'bios'>, number> {
  const image = Math.ceil(imageBytes * 1.25);
  return {
    efi: 64 * MiB,
    // ext4's metadata and reserve take about a tenth of a partition this small.
    oem: 64 * MiB + roundUp(Math.ceil((oemContentBytes * 11) / 10), MiB),
    // Two images: `ros upgrade --recovery` writes the new one beside the old, which it drops only once the new one is whole.
    recovery: roundUp(2 * image + 32 * MiB, MiB),
    state: roundUp(3 * image + 64 * MiB, MiB),
    persistent: 256 * MiB,
  };
}

/** Plan the partitions; every size is checked before anything is written. */
export function planDiskLayout(request: LayoutRequest): DiskLayout {
  if (!(request.imageBytes > 0)) throw new Error(`invalid image size: ${request.imageBytes}`);
  const minimum = minimumSizes(request.imageBytes, request.oemContentBytes);
  const sizes: Record<PartitionRole, number> = { bios: BIOS_PARTITION_BYTES, ...minimum };
  for (const [role, bytes] of Object.entries(request.sizes ?? {}) as Array<[Exclude<PartitionRole, 'bios'>, number]>) {
    if (bytes < minimum[role]) {
      throw new UserError(
        `artifacts.disk.partitions.${role} is ${formatSize(bytes)}, but it needs at least ${formatSize(minimum[role])} for an image of ${formatSize(request.imageBytes)}`,
        `set it to ${formatSize(minimum[role])} or more, or leave it out for the default`,
      );
    }
    sizes[role] = roundUp(bytes, MiB);
  }
  const needed = neededBytes(sizes);
  if (request.deviceBytes !== undefined) {
    // A device has the size it has: whole sectors, never rounded up to anything.
    const deviceBytes = Math.floor(request.deviceBytes / SECTOR) * SECTOR;
    if (deviceBytes < needed) {
      const name = request.deviceName ?? 'the disk';
      throw new UserError(
        `${name} is too small: it has ${formatSizeDown(deviceBytes)}, and this system (an image of ${formatSize(request.imageBytes)}) needs at least ${formatSize(roundUp(needed, MiB))}`,
        `use a disk of ${formatSize(roundUp(needed, MiB))} or more`,
      );
    }
    return placePartitions(request.seed, sizes, deviceBytes);
  }
  const totalBytes = roundUp(request.totalBytes ?? needed, GiB);
  if (totalBytes < needed) {
    throw new UserError(
      `artifacts.disk.size ${formatSize(request.totalBytes!)} is too small: this layout needs at least ${formatSize(roundUp(needed, GiB))}`,
      `set artifacts.disk.size (or --size) to ${formatSize(roundUp(needed, GiB))} or more`,
    );
  }
  return placePartitions(request.seed, sizes, totalBytes);
}

/**
 * The smallest disk (bytes) that holds this layout for an image of
 * `imageBytes`: what the installer checks a device against and shows.
 */
export function minimumDiskBytes(imageBytes: number, sizes: PartitionSizes = {}): number {
  const all: Record<PartitionRole, number> = { bios: BIOS_PARTITION_BYTES, ...minimumSizes(imageBytes) };
  for (const [role, bytes] of Object.entries(sizes) as Array<[Exclude<PartitionRole, 'bios'>, number]>) all[role] = Math.max(all[role], roundUp(bytes, MiB));
  return neededBytes(all);
}

/** 1 MiB before the first partition (protective MBR, GPT), the partitions, one MiB at the end for the backup GPT. */
function neededBytes(sizes: Record<PartitionRole, number>): number {
  return MiB + ROLES.reduce((sum, { role }) => sum + sizes[role], 0) + MiB;
}

function placePartitions(seed: string, sizes: Record<PartitionRole, number>, totalBytes: number): DiskLayout {
  const totalSectors = totalBytes / SECTOR;
  const lastUsable = totalSectors - BACKUP_GPT_SECTORS - 1;
  let next = ALIGN_SECTORS;
  const partitions = ROLES.map(({ role, name, filesystem, type }, index): Partition => {
    const firstSector = next;
    const lastSector = role === 'persistent' ? alignDown(lastUsable + 1) - 1 : firstSector + sizes[role] / SECTOR - 1;
    next = lastSector + 1;
    return {
      number: index + 1,
      role,
      name,
      filesystem,
      typeGuid: type,
      guid: deriveGuid(seed, name),
      firstSector,
      lastSector,
      sizeBytes: (lastSector - firstSector + 1) * SECTOR,
    };
  });
  return { sizeBytes: totalBytes, diskGuid: deriveGuid(seed, 'disk'), partitions };
}

export function findPartition(layout: DiskLayout, role: PartitionRole): Partition {
  const partition = layout.partitions.find((p) => p.role === role);
  if (!partition) throw new Error(`internal: layout has no ${role} partition`);
  return partition;
}

/** A GUID (RFC 4122 version 4 layout) from a hash of the seed and a name: stable for a seed, distinct per name. */
export function deriveGuid(seed: string, name: string): string {
  const bytes = createHash('sha256').update(`ros-build guid\0${seed}\0${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase();
}

export function formatSize(bytes: number): string {
  return bytes >= GiB && bytes % (GiB / 4) === 0 ? `${bytes / GiB}GiB` : `${Math.ceil(bytes / MiB)}MiB`;
}

/** A size one has (a device's), rounded down: a disk a few sectors short of the minimum must not read as the minimum. */
export function formatSizeDown(bytes: number): string {
  return bytes >= GiB && bytes % (GiB / 4) === 0 ? `${bytes / GiB}GiB` : `${Math.floor(bytes / MiB)}MiB`;
}

function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

function alignDown(sector: number): number {
  return Math.floor(sector / ALIGN_SECTORS) * ALIGN_SECTORS;
}
