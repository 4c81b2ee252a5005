/**
 * Block devices as the kernel describes them in sysfs: what the installer
 * checks a target against, lists in interactive mode, and finds partitions
 * through. sysfs rather than lsblk: lsblk's labels come from udev's database,
 * which a live system starting up (or a container) may not have yet, and a
 * test can lay sysfs out under a temporary root.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { NodeSystem } from '../system.js';

const SECTOR = 512;

export interface BlockDevice {
  /** The path as the user gave it, e.g. /dev/disk/by-id/… or /dev/vda. */
  path: string;
  /** The kernel's name, e.g. vda, nvme0n1, loop3. */
  name: string;
  /** /dev/<name>: what programs are given. */
  devicePath: string;
  sizeBytes: number;
  readOnly: boolean;
  /** Set when this is a partition, not a whole disk: the disk it is on. */
  partitionOf?: string;
  /** "major:minor", as /proc/self/mountinfo names devices. */
  devNumber: string;
  model?: string;
}

export interface PartitionDevice {
  number: number;
  name: string;
  devicePath: string;
  devNumber: string;
  /** First sector on the disk (512-byte units, as sysfs counts). */
  startSector: number;
  sizeBytes: number;
}

const sysBlock = (system: NodeSystem, name: string) => join(system.root, 'sys/class/block', name);

async function readSys(dir: string, file: string): Promise<string | undefined> {
  return readFile(join(dir, file), 'utf8').then((t) => t.trim(), () => undefined);
}

/**
 * The device at `path`, or undefined when there is no such block device.
 * Symlinks (/dev/disk/by-id/…) are followed to the kernel's name.
 */
export async function inspectDevice(system: NodeSystem, path: string): Promise<BlockDevice | undefined> {
  let real: string;
  try {
    real = await realpath(join(system.root, path));
  } catch {
    return undefined;
  }
  const name = basename(real);
  const dir = sysBlock(system, name);
  const devNumber = await readSys(dir, 'dev');
  if (!devNumber) return undefined;
  const isPartition = (await readSys(dir, 'partition')) !== undefined;
  // A partition's sysfs directory sits inside its disk's: the parent's name is the disk.
  const partitionOf = isPartition ? basename(join(await realpath(dir), '..')) : undefined;
  const model = [await readSys(join(dir, 'device'), 'vendor'), await readSys(join(dir, 'device'), 'model')].filter(Boolean).join(' ') || undefined;
  return {
    path,
    name,
    devicePath: `/dev/${name}`,
    sizeBytes: Number((await readSys(dir, 'size')) ?? 0) * SECTOR,
    readOnly: (await readSys(dir, 'ro')) === '1',
    partitionOf,
    devNumber,
    model,
  };
}

/**
 * The disks one could install to, for the interactive list: real disks only
 * (those with a `device` in sysfs: not loop, ram, zram, dm or md devices),
 * with a size, sorted by name.
 */
export async function listDisks(system: NodeSystem): Promise<BlockDevice[]> {
  const names = await readdir(join(system.root, 'sys/block')).catch(() => [] as string[]);
  const disks: BlockDevice[] = [];
  for (const name of names.sort()) {
    const hasDevice = await stat(join(system.root, 'sys/block', name, 'device')).then(() => true, () => false);
    if (!hasDevice) continue;
    const disk = await inspectDevice(system, `/dev/${name}`);
    if (disk && disk.sizeBytes > 0 && !disk.partitionOf) disks.push(disk);
  }
  return disks;
}

/** The partitions the kernel knows on a disk, by number. */
export async function listPartitions(system: NodeSystem, diskName: string): Promise<PartitionDevice[]> {
  const dir = join(system.root, 'sys/block', diskName);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const partitions: PartitionDevice[] = [];
  for (const name of entries) {
    const number = await readSys(join(dir, name), 'partition');
    if (number === undefined) continue;
    partitions.push({
      number: Number(number),
      name,
      devicePath: `/dev/${name}`,
      devNumber: (await readSys(join(dir, name), 'dev')) ?? '',
      startSector: Number((await readSys(join(dir, name), 'start')) ?? 0),
      sizeBytes: Number((await readSys(join(dir, name), 'size')) ?? 0) * SECTOR,
    });
  }
  return partitions.sort((a, b) => a.number - b.number);
}

/** What holds a disk or any of its partitions: mount points, swap, device-mapper/RAID holders. Empty when it is free. */
export async function findUsers(system: NodeSystem, disk: BlockDevice): Promise<string[]> {
  const partitions = await listPartitions(system, disk.name);
  const devices = [{ name: disk.name, devNumber: disk.devNumber }, ...partitions];
  const mountinfo = await readFile(join(system.root, 'proc/self/mountinfo'), 'utf8').catch(() => '');
  const swaps = await readFile(join(system.root, 'proc/swaps'), 'utf8').catch(() => '');
  const users: string[] = [];
  for (const device of devices) {
    for (const line of mountinfo.split('\n')) {
      const fields = line.split(' ');
      if (fields[2] === device.devNumber) users.push(`/dev/${device.name} is mounted on ${unescapeMountPath(fields[4] ?? '?')}`);
    }
    if (swaps.split('\n').slice(1).some((line) => basename(line.split(/\s+/)[0] ?? '') === device.name)) users.push(`/dev/${device.name} is in use as swap`);
    const holders = await readdir(join(system.root, 'sys/class/block', device.name, 'holders')).catch(() => [] as string[]);
    for (const holder of holders) users.push(`/dev/${device.name} is held by /dev/${holder} (device mapper, LVM or RAID)`);
  }
  return users;
}

/** mountinfo writes spaces and other characters in paths as octal escapes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
