/**
 * Writing a checked plan (plan.ts) to the disk: partition table, file
 * systems, the three images, COS_OEM, and the boot code last, so a disk whose
 * install was cut short boots nothing rather than half a system. Every mount
 * is undone, also when a step fails.
 */
import { chmod, copyFile, cp, mkdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { formatSize, PARTITION_LABELS, type DiskLayout, type PartitionRole } from '../../disk/layout.js';
import { IMAGE_FILES, slotDir, type SlotName } from '../../disk/slots.js';
import { OEM_BUNDLE_DIR } from '../../disk/bundle.js';
import { formatBytes } from '../../format-bytes.js';
import { buildMke2fsArgs } from '../../tools/mke2fs.js';
import { buildSgdiskArgs } from '../../tools/sgdisk.js';
import { mustRun } from '../slots/partitions.js';
import type { NodeSystem } from '../system.js';
import { writeBiosBootCode, writeEsp } from './boot-code.js';
import { listPartitions, type BlockDevice } from './devices.js';
import type { InstallPlan } from './plan.js';

export type Progress = (line: string) => void;

/** Where the installer mounts the partitions it fills. */
export const INSTALL_MOUNT_DIR = '/run/ros/install';

/** GRUB's environment block as `grub-editenv create` makes it: GRUB's save_env rewrites it in place, so its size is fixed. */
export const FRESH_GRUBENV = '# GRUB Environment Block\n'.padEnd(1024, '#');

const ROLES_WITH_IMAGES: ReadonlyArray<{ role: 'state' | 'recovery'; slots: SlotName[] }> = [
  { role: 'recovery', slots: ['recovery'] },
  { role: 'state', slots: ['active', 'passive'] },
];

/** How long the partition devices may take to appear after the table is written (udev on a slow machine). */
const PARTITION_WAIT_MS = 30_000;

export async function writeInstall(system: NodeSystem, plan: InstallPlan, progress: Progress): Promise<void> {
  const mounts = createMountStack(system);
  try {
    const devices = plan.layout ? await partitionDisk(system, plan.disk, plan.layout, progress) : mapExistingDevices(plan);
    if (plan.layout) await makeFileSystems(system, plan.layout, devices, progress);
    const oem = await mounts.mount(devices.oem, PARTITION_LABELS.oem);
    const recovery = await mounts.mount(devices.recovery, PARTITION_LABELS.recovery);
    const state = await mounts.mount(devices.state, PARTITION_LABELS.state);
    const dirs = { recovery, state };
    // The medium's image, or ros.install.image pulled into the first slot and copied from there to the others.
    let source: ImageSource | undefined = plan.image ? undefined : { squashfsPath: plan.medium.files.squashfs, kernelPath: plan.medium.files.kernel, initrdPath: plan.medium.files.initrd };
    for (const { role, slots } of ROLES_WITH_IMAGES) {
      // no_format: the old images (and any swap journal or transition image beside them) go; the partition stays.
      await rm(join(dirs[role], 'cOS'), { recursive: true, force: true });
      for (const slot of slots) {
        const dir = join(dirs[role], slotDir(slot));
        if (source) await copyImage(source, dir, slot, progress);
        else {
          progress(`pulling ${plan.image!.reference} into ${slot}`);
          await mkdir(dir, { recursive: true });
          await plan.image!.pullInto(dir);
          source = Object.fromEntries(Object.entries(IMAGE_FILES).map(([key, name]) => [key, join(dir, name)])) as ImageSource;
        }
      }
    }
    await writeOem(oem, plan, progress);
    progress('writing the boot code (BIOS and UEFI)');
    await writeEsp(system, devices.efi, plan.medium);
    await writeBiosBootCode(system, plan.disk.devicePath, plan.medium);
    await mustRun(system, 'sync', []);
  } finally {
    await mounts.releaseAll(progress);
  }
}

/** Old signatures off every partition and the disk (so no stale RAID or LVM label reappears), then the new GPT. */
async function partitionDisk(system: NodeSystem, disk: BlockDevice, layout: DiskLayout, progress: Progress): Promise<Record<PartitionRole, string>> {
  progress(`partitioning ${disk.path} (${formatSize(layout.sizeBytes)})`);
  const old = await listPartitions(system, disk.name);
  await mustRun(system, 'wipefs', ['--all', '--quiet', ...old.map((p) => join(system.root, p.devicePath)), join(system.root, disk.devicePath)]);
  await mustRun(system, 'sgdisk', buildSgdiskArgs(layout, join(system.root, disk.devicePath)));
  return waitForPartitions(system, disk, layout);
}

/**
 * The kernel re-reads the table when sgdisk asks, udev then makes the device
 * nodes; partx covers a kernel that did not re-read (a loop device), and the
 * names come from sysfs because they differ by driver (vda1, nvme0n1p1).
 */
async function waitForPartitions(system: NodeSystem, disk: BlockDevice, layout: DiskLayout): Promise<Record<PartitionRole, string>> {
  const device = join(system.root, disk.devicePath);
  await system.run('partx', ['--update', device]);
  const deadline = Date.now() + PARTITION_WAIT_MS;
  for (;;) {
    await system.run('udevadm', ['settle', '--timeout=10']);
    const found = await listPartitions(system, disk.name);
    const devices: Partial<Record<PartitionRole, string>> = {};
    for (const planned of layout.partitions) {
      const partition = found.find((p) => p.number === planned.number && p.startSector === planned.firstSector);
      if (partition && (await exists(join(system.root, partition.devicePath)))) devices[planned.role] = partition.devicePath;
    }
    if (Object.keys(devices).length === layout.partitions.length) return devices as Record<PartitionRole, string>;
    if (Date.now() > deadline) {
      throw new Error(`the partitions of ${disk.path} did not appear within ${PARTITION_WAIT_MS / 1000} s (found: ${found.map((p) => p.name).join(', ') || 'none'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function mapExistingDevices(plan: InstallPlan): Record<PartitionRole, string> {
  const existing = plan.existing!;
  return Object.fromEntries(Object.entries(existing).map(([role, p]) => [role, p.devicePath])) as Record<PartitionRole, string>;
}

/** ext4 with the disk builder's options (GRUB-readable, 4 KiB blocks); the ESP is made with its contents (boot-code.ts). */
async function makeFileSystems(system: NodeSystem, layout: DiskLayout, devices: Record<PartitionRole, string>, progress: Progress): Promise<void> {
  for (const partition of layout.partitions.filter((p) => p.filesystem === 'ext4')) {
    progress(`making ${partition.name} (ext4, ${formatSize(partition.sizeBytes)})`);
    const args = buildMke2fsArgs({
      imagePath: join(system.root, devices[partition.role]),
      sizeBytes: partition.sizeBytes,
      label: partition.name,
      uuid: randomUUID(),
      reserveForRoot: partition.role === 'persistent',
    });
    await mustRun(system, 'mkfs.ext4', args);
  }
}

type ImageSource = Record<keyof typeof IMAGE_FILES, string>;

/** Each slot gets its own copy: active and passive never share blocks, so writing one can never touch the other. */
async function copyImage(from: ImageSource, dir: string, slot: SlotName, progress: Progress): Promise<void> {
  progress(`copying the image to ${slot}`);
  await mkdir(dir, { recursive: true });
  for (const [key, name] of Object.entries(IMAGE_FILES) as Array<[keyof typeof IMAGE_FILES, string]>) {
    await copyMediumFile(from[key], join(dir, name));
    await chmod(join(dir, name), 0o644);
  }
}

/** A fresh grubenv on a new COS_OEM (no_format keeps the machine's own), and the configuration, readable by root only. */
async function writeOem(dir: string, plan: InstallPlan, progress: Progress): Promise<void> {
  if (plan.layout) await writeFile(join(dir, 'grubenv'), FRESH_GRUBENV, { mode: 0o644 });
  if (plan.medium.bundle) {
    // The ISO's air-gap bundle, where the installed node reads it (disk/bundle.ts).
    progress(`copying the medium's air-gap bundle (${formatBytes(plan.medium.bundle.bytes)}) to COS_OEM`);
    await rm(join(dir, OEM_BUNDLE_DIR), { recursive: true, force: true });
    await cp(plan.medium.bundle.dir, join(dir, OEM_BUNDLE_DIR), { recursive: true });
  }
  if (!plan.config) return;
  progress(`writing the configuration from ${plan.config.source} to COS_OEM`);
  const path = join(dir, 'cloud-config.yaml');
  await writeFile(path, plan.config.text, { mode: 0o600 });
  await chmod(path, 0o600); // an existing file (no_format) keeps its mode through writeFile
}

interface MountStack {
  mount(devicePath: string, label: string): Promise<string>;
  releaseAll(progress: Progress): Promise<void>;
}

/** Mounts made by this install, undone in reverse order; a failed unmount is reported, never hidden. */
function createMountStack(system: NodeSystem): MountStack {
  const mounted: string[] = [];
  return {
    async mount(devicePath, label) {
      const dir = join(system.root, INSTALL_MOUNT_DIR, label);
      await mkdir(dir, { recursive: true });
      await mustRun(system, 'mount', ['-t', 'ext4', join(system.root, devicePath), dir]);
      mounted.push(dir);
      return dir;
    },
    async releaseAll(progress) {
      for (const dir of mounted.reverse()) {
        const result = await system.run('umount', [dir]);
        if (result.code !== 0) progress(`warning: could not unmount ${dir}: ${result.output.trim()}`);
        else await rmdir(dir).catch(() => {});
      }
      mounted.length = 0;
    },
  };
}

/** copyFile copies a block device's stat size, 0 bytes: a network boot's squashfs (a loop device) is streamed instead. */
async function copyMediumFile(from: string, to: string): Promise<void> {
  if ((await stat(from)).isFile()) return copyFile(from, to);
  await pipeline(createReadStream(from), createWriteStream(to));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
