/**
 * The installed system as a raw GPT disk image, built without root, loop
 * devices or mounts: sgdisk writes the table into a sparse file, mke2fs
 * makes each ext4 partition in place (-E offset, -d from a staged
 * directory), mkfs.vfat + mtools the ESP, and the BIOS boot code is patched
 * in as grub-bios-setup would (src/disk/bios-boot.ts).
 *
 *   COS_GRUB        /EFI/BOOT/BOOTX64.EFI, /grub/grub.cfg
 *   COS_OEM         /grubenv, /cloud-config.yaml (0600, when given), /bundle (--bundle)
 *   COS_RECOVERY    /cOS/recovery/{rootfs.squashfs,vmlinuz,initrd}
 *   COS_STATE       /cOS/active/…, /cOS/passive/… (independent copies)
 *   COS_PERSISTENT  empty; grows to fill the disk on first boot
 *
 * Each image keeps its kernel and initramfs beside it, so GRUB never opens a
 * squashfs (GRUB 2.06 cannot read zstd ones) and one directory rename swaps
 * a whole slot during an upgrade.
 */
import { copyFile, cp, link, mkdir, open, readdir, rm, stat, truncate, utimes, writeFile, chmod } from 'node:fs/promises';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { findTool } from '../exec/find-tool.js';
import { runCommand } from '../exec/run.js';
import { deriveGuid, ESP_GRUB_CONFIG, findPartition, SECTOR, type DiskLayout, type Partition } from '../disk/layout.js';
import { IMAGE_FILES, slotDir } from '../disk/slots.js';
import { OEM_BUNDLE_DIR } from '../disk/bundle.js';
import { patchBootSector } from '../disk/bios-boot.js';
import { buildMke2fsArgs } from '../tools/mke2fs.js';
import { buildSgdiskArgs } from '../tools/sgdisk.js';
import { buildFatTreeCommands, buildMkfsVfatArgs, fatVolumeId } from '../tools/fat.js';
import { withScratchDir } from '../fsutil/scratch.js';
import { makeBiosBootCode } from './disk-boot.js';
import { ESP_LABEL, stageEspFiles } from './esp.js';
import type { RootfsArtifacts } from './squashfs.js';

/** What writing the disk itself runs (before any format's conversion), with the Debian package of each. */
export const DISK_BUILDER = {
  name: 'installed-system',
  tools: [
    { command: 'sgdisk', package: 'gdisk' },
    { command: 'mkfs.ext4', package: 'e2fsprogs' },
    { command: 'debugfs', package: 'e2fsprogs' },
    { command: 'mkfs.vfat', package: 'dosfstools' },
    { command: 'mmd', package: 'mtools' },
    { command: 'mcopy', package: 'mtools' },
    { command: 'grub-mkimage', package: 'grub-common' },
    { command: 'grub-editenv', package: 'grub-common' },
  ],
} as const;

export interface DiskInput {
  rootfs: RootfsArtifacts;
  layout: DiskLayout;
  cloudConfigPath?: string;
  /** An air-gap bundle's directory (artifacts/bundle.ts), copied to COS_OEM. */
  bundleDir?: string;
  /** Every timestamp, and with the disk's name the seed of every GUID and UUID. */
  epoch: number;
  /** Scratch space for staged partition contents; removed afterwards. */
  workDir: string;
  logPath?: string;
}

/** Bytes one OS image takes on disk: what the layout sizes the slots by. */
export async function measureImage(rootfs: RootfsArtifacts): Promise<number> {
  const sizes = await Promise.all([rootfs.squashfsPath, rootfs.kernelPath, rootfs.initrdPath].map(async (path) => (await stat(path)).size));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Write everything but the ESP into `rawPath` (created here): the GPT, the
 * ext4 partitions and the BIOS boot code. The ESP comes from writeEsp, so
 * disks that differ only in their kernel arguments share this work.
 */
export async function writeDiskBase(rawPath: string, input: DiskInput): Promise<void> {
  const { layout, logPath } = input;
  const env = { E2FSPROGS_FAKE_TIME: String(input.epoch), SOURCE_DATE_EPOCH: String(input.epoch) };
  await rm(rawPath, { force: true });
  await writeFile(rawPath, '');
  await truncate(rawPath, layout.sizeBytes);
  await runCommand('sgdisk', buildSgdiskArgs(layout, rawPath), { logPath });

  await withScratchDir(input.workDir, 'disk-', async (stage) => {
    const contents = await stagePartitions(stage, input);
    for (const partition of layout.partitions.filter((p) => p.filesystem === 'ext4')) {
      await makeExt4(rawPath, partition, contents[partition.role], input, env);
    }
    await writeBiosBoot(rawPath, layout, stage, logPath);
  });
}

/** Make the ESP (the UEFI boot chain, and grub.cfg for both firmwares) and write it into the disk. */
export async function writeEsp(rawPath: string, input: Pick<DiskInput, 'rootfs' | 'layout' | 'epoch' | 'workDir' | 'logPath'>, grubConfig: string): Promise<void> {
  const { layout, logPath } = input;
  const esp = findPartition(layout, 'efi');
  const env = { SOURCE_DATE_EPOCH: String(input.epoch), MTOOLS_SKIP_CHECK: '1' };
  await withScratchDir(input.workDir, 'esp-', async (stage) => {
    const cfg = join(stage, 'grub.cfg');
    const image = join(stage, 'esp.img');
    await writeFile(cfg, grubConfig);
    const files = await stageEspFiles({ medium: 'disk', chain: input.rootfs.efiChain, stage, logPath, env });
    const vfat = buildMkfsVfatArgs({ imagePath: image, sizeKiB: esp.sizeBytes / 1024, volumeId: fatVolumeId(ESP_LABEL), label: ESP_LABEL, fat32: true });
    await runCommand(await findTool('mkfs.vfat'), vfat, { logPath, env });
    for (const { tool, args } of buildFatTreeCommands(image, [...files, { target: ESP_GRUB_CONFIG, source: cfg }])) await runCommand(tool, args, { logPath, env });
    await copyInto(rawPath, image, esp.firstSector * SECTOR);
  });
}

type StagedContents = Partial<Record<Partition['role'], string>>;

/** Lay out each ext4 partition's files in a directory of its own, stamped with the epoch. */
async function stagePartitions(stage: string, input: DiskInput): Promise<StagedContents> {
  const oem = join(stage, 'oem');
  await mkdir(oem, { recursive: true });
  await runCommand('grub-editenv', [join(oem, 'grubenv'), 'create'], { logPath: input.logPath });
  if (input.cloudConfigPath) {
    await copyFile(input.cloudConfigPath, join(oem, 'cloud-config.yaml'));
    await chmod(join(oem, 'cloud-config.yaml'), 0o600);
  }
  if (input.bundleDir) await cp(input.bundleDir, join(oem, OEM_BUNDLE_DIR), { recursive: true });
  const recovery = join(stage, 'recovery');
  await stageSlot(join(recovery, slotDir('recovery')), input.rootfs, 'link');
  const state = join(stage, 'state');
  // active may share the cache's blocks on the host; passive is a copy, so the two slots never share an inode on disk.
  await stageSlot(join(state, slotDir('active')), input.rootfs, 'link');
  await stageSlot(join(state, slotDir('passive')), input.rootfs, 'copy');
  for (const dir of [oem, recovery, state]) await stampTree(dir, input.epoch);
  return { oem, recovery, state };
}

async function stageSlot(dir: string, rootfs: RootfsArtifacts, how: 'link' | 'copy'): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [key, name] of Object.entries(IMAGE_FILES) as Array<[keyof typeof IMAGE_FILES, string]>) {
    const target = join(dir, name);
    if (how === 'link') {
      try {
        await link(rootfs[key], target);
        continue;
      } catch {
        // another filesystem: copy instead
      }
    }
    await copyFile(rootfs[key], target, constants.COPYFILE_FICLONE);
  }
}

async function stampTree(dir: string, epoch: number): Promise<void> {
  for (const path of await listTree(dir)) await utimes(path, epoch, epoch);
  await utimes(dir, epoch, epoch);
}

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.map((e) => join(e.parentPath, e.name)).sort();
}

/**
 * mke2fs straight into the disk at the partition's offset, then a debugfs
 * pass that gives every staged inode root's ownership (a rootless build stages
 * them as its own user) and the epoch as ctime (which no utimes can set).
 */
async function makeExt4(rawPath: string, partition: Partition, fromDir: string | undefined, input: DiskInput, env: Record<string, string>): Promise<void> {
  const offset = partition.firstSector * SECTOR;
  const uuid = deriveGuid(`${input.layout.diskGuid}:${input.epoch}`, `fs:${partition.name}`).toLowerCase();
  const args = buildMke2fsArgs({
    imagePath: rawPath,
    sizeBytes: partition.sizeBytes,
    label: partition.name,
    uuid,
    fromDir,
    reserveForRoot: partition.role === 'persistent',
  });
  // -E takes one comma-separated list: the offset joins the hash seed and root owner.
  const extended = args.indexOf('-E') + 1;
  args[extended] = `${args[extended]},offset=${offset}`;
  await runCommand(await findTool('mkfs.ext4'), args, { logPath: input.logPath, env });
  if (!fromDir) return;
  const commands = (await listTree(fromDir)).flatMap((path) => {
    const inside = `/${relative(fromDir, path)}`;
    return ['uid 0', 'gid 0', `ctime @${input.epoch}`, `atime @${input.epoch}`].map((field) => `sif "${inside}" ${field}`);
  });
  const script = join(input.workDir, `debugfs-${partition.name}.cmds`);
  await writeFile(script, `${commands.join('\n')}\n`);
  try {
    await runCommand(await findTool('debugfs'), ['-w', '-f', script, `${rawPath}?offset=${offset}`], { logPath: input.logPath, env });
  } finally {
    await rm(script, { force: true });
  }
}

async function writeBiosBoot(rawPath: string, layout: DiskLayout, stage: string, logPath?: string): Promise<void> {
  const bios = findPartition(layout, 'bios');
  const { bootImage, coreImage: patchedCore } = await makeBiosBootCode({ stage, logPath, firstSector: bios.firstSector, sectors: bios.lastSector - bios.firstSector + 1 });
  const file = await open(rawPath, 'r+');
  try {
    const sector0 = Buffer.alloc(SECTOR);
    await file.read(sector0, 0, SECTOR, 0);
    await file.write(patchBootSector(sector0, bootImage, bios.firstSector), 0, SECTOR, 0);
    await file.write(patchedCore, 0, patchedCore.length, bios.firstSector * SECTOR);
  } finally {
    await file.close();
  }
}

async function copyInto(target: string, source: string, offset: number): Promise<void> {
  await pipeline(createReadStream(source), createWriteStream(target, { flags: 'r+', start: offset }));
}
