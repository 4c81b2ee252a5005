/**
 * The disk's boot code, from the pieces ros-build put on the ISO: GRUB's
 * boot.img into sector 0 (the protective MBR's partition table stays), the
 * core image into the BIOS boot partition, and BOOTX64.EFI with grub.cfg on
 * the ESP. Both firmwares' code is always written, so a disk installed under
 * BIOS also boots under UEFI and the other way round (force_efi is moot).
 */
import { open, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { patchBootSector } from '../../disk/bios-boot.js';
import { BIOS_PARTITION_FIRST_SECTOR, ESP_GRUB_CONFIG, PARTITION_LABELS } from '../../disk/layout.js';
import { UserError } from '../../errors.js';
import { buildFatTreeCommands, espFatTypeArgs, type FatFile } from '../../tools/fat.js';
import type { NodeSystem } from '../system.js';
import { MEDIUM_ESP_DIR, type Medium } from './medium.js';

const SECTOR = 512;
/** Where diskboot.img (the core image's first sector) keeps the LBA of the core image's second sector. */
const BLOCKLIST_OFFSET = 0x1f4;
/** The BIOS boot partition: 1 MiB (src/disk/layout.ts). */
const BIOS_PARTITION_BYTES = 2 ** 20;

/**
 * The medium's core image must have been patched for the BIOS partition at
 * sector 2048, as the layout places it; anything else would boot nothing.
 */
export async function checkCoreImage(medium: Medium): Promise<void> {
  const core = await readFile(medium.files.coreImage);
  const ok = core.length > BLOCKLIST_OFFSET + 8 && core.length <= BIOS_PARTITION_BYTES && core.readBigUInt64LE(BLOCKLIST_OFFSET) === BigInt(BIOS_PARTITION_FIRST_SECTOR + 1);
  if (!ok) {
    throw new UserError(
      `the medium's GRUB core image (${medium.files.coreImage}) is not one made for a BIOS partition at sector ${BIOS_PARTITION_FIRST_SECTOR}`,
      'build the ISO again with ros-build: its /ros/install/ pieces are made for the layout the installer writes',
    );
  }
  const boot = await readFile(medium.files.bootImage);
  if (boot.length !== SECTOR) throw new UserError(`the medium's GRUB boot.img is ${boot.length} bytes, not ${SECTOR}`, 'build the ISO again with ros-build');
}

/** BIOS: boot.img's code into sector 0 pointing at the core image, and the core image at the start of the BIOS partition. */
export async function writeBiosBootCode(system: NodeSystem, diskPath: string, medium: Medium): Promise<void> {
  const bootImage = await readFile(medium.files.bootImage);
  const core = await readFile(medium.files.coreImage);
  const disk = await open(join(system.root, diskPath), 'r+');
  try {
    const sector0 = Buffer.alloc(SECTOR);
    await disk.read(sector0, 0, SECTOR, 0);
    await disk.write(patchBootSector(sector0, bootImage, BIOS_PARTITION_FIRST_SECTOR), 0, SECTOR, 0);
    await disk.write(core, 0, core.length, BIOS_PARTITION_FIRST_SECTOR * SECTOR);
    await disk.sync();
  } finally {
    await disk.close();
  }
}

/**
 * UEFI (and both firmwares' grub.cfg): a fresh FAT file system on the ESP,
 * filled with mtools as the disk builder fills its ESP image, so no vfat
 * mount is needed: the medium's esp/ tree (shim and the signed GRUB, or a
 * GRUB ros-build made) and the disk's grub.cfg.
 */
export async function writeEsp(system: NodeSystem, partitionPath: string, medium: Medium): Promise<void> {
  const device = join(system.root, partitionPath);
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  const run = async (file: string, args: string[]) => {
    const result = await system.run(file, args, { env });
    if (result.code !== 0) throw new Error(`${[file, ...args].join(' ')} failed: ${result.output.trim() || `exit ${result.code}`}`);
  };
  const files = [...(await listTree(join(medium.dir, MEDIUM_ESP_DIR))), { target: ESP_GRUB_CONFIG, source: medium.files.grubConfig }];
  await run('mkfs.vfat', [...espFatTypeArgs(await readPartitionBytes(system, partitionPath)), '-n', PARTITION_LABELS.efi, device]);
  for (const { tool, args } of buildFatTreeCommands(device, files)) await run(tool, args);
}

/** Every file under `dir`, by its path relative to it. */
async function listTree(dir: string): Promise<FatFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => {
    const source = join(entry.parentPath ?? entry.path, entry.name);
    return { target: relative(dir, source), source };
  });
}

/** The partition's size from sysfs (a kept layout's ESP may be smaller than a new one's); 0 when sysfs does not say. */
async function readPartitionBytes(system: NodeSystem, partitionPath: string): Promise<number> {
  const sectors = await readFile(join(system.root, 'sys/class/block', basename(partitionPath), 'size'), 'utf8').catch(() => '0');
  return Number(sectors.trim()) * 512 || 0;
}
