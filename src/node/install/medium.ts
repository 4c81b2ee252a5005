/**
 * The live medium the installer copies from, as dracut mounted it. The OS
 * image is the ISO's own squashfs, kernel and initramfs; the disk's boot code
 * comes ready-made from /ros/install/ on the ISO, because the node has no
 * grub-mkimage (ros-build makes them with the same code as its disks).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MEDIUM_BUNDLE_DIR } from '../../disk/bundle.js';
import { UserError } from '../../errors.js';
import { measureTree } from '../../fsutil/space.js';
import type { NodeSystem } from '../system.js';

/**
 * Where dracut's dmsquash-live mounts the ISO. A network boot has no ISO: the
 * initramfs (netboot-medium.sh) lays out the same paths there, the squashfs
 * being the loop device that holds the downloaded copy.
 */
export const LIVE_MEDIUM_DIR = '/run/initramfs/live';

/**
 * Paths on the medium: the ISO's layout (src/artifacts/iso.ts ISO_LAYOUT, and
 * INSTALL_PIECES of src/artifacts/disk-boot.ts, which the node does not bundle;
 * a unit test keeps the two in step).
 */
export const MEDIUM_FILES = {
  squashfs: 'LiveOS/squashfs.img',
  kernel: 'boot/vmlinuz',
  initrd: 'boot/initrd',
  /** The first of the ESP's files under ros/install/esp/ (all of them are copied): what firmware starts. */
  efiLoader: 'ros/install/esp/EFI/BOOT/BOOTX64.EFI',
  coreImage: 'ros/install/core.img',
  bootImage: 'ros/install/boot.img',
  grubConfig: 'ros/install/grub.cfg',
} as const;

export type MediumFile = keyof typeof MEDIUM_FILES;

/** The ESP's files on the medium, by their path on the ESP (INSTALL_ESP_DIR of disk-boot.ts). */
export const MEDIUM_ESP_DIR = 'ros/install/esp';

export interface Medium {
  dir: string;
  /** Absolute paths (under the system's root) of every file the installer needs. */
  files: Record<MediumFile, string>;
  /** squashfs + kernel + initrd: one OS image as a slot holds it, what the layout is sized by. */
  imageBytes: number;
  /** The air-gap bundle the ISO carries (ros-build iso --bundle), which the install takes to COS_OEM. */
  bundle?: { dir: string; bytes: number };
}

/**
 * Check the medium holds everything before anything is written. An ISO made
 * before the installer existed has no /ros/install/: say so rather than fail
 * half way through a disk.
 */
export async function readMedium(system: NodeSystem, dir: string = LIVE_MEDIUM_DIR): Promise<Medium> {
  const base = join(system.root, dir);
  const files = {} as Record<MediumFile, string>;
  const missing: string[] = [];
  const sizes: Partial<Record<MediumFile, number>> = {};
  for (const [key, relative] of Object.entries(MEDIUM_FILES) as Array<[MediumFile, string]>) {
    files[key] = join(base, relative);
    const size = await sizeOf(system.root, files[key]);
    if (size === undefined) missing.push(`/${relative}`);
    else sizes[key] = size;
  }
  if (missing.length > 0) {
    const noPieces = missing.every((m) => m.startsWith('/ros/install/'));
    throw new UserError(
      `the live medium at ${dir} lacks ${missing.join(', ')}`,
      noPieces
        ? 'this ISO was built without the installer\'s boot pieces: build it again with a ros-build that has `ros install`'
        : `boot the ISO (its medium is mounted at ${LIVE_MEDIUM_DIR}) to install from it`,
    );
  }
  return { dir: base, files, imageBytes: sizes.squashfs! + sizes.kernel! + sizes.initrd!, ...(await readBundle(join(base, MEDIUM_BUNDLE_DIR))) };
}

async function readBundle(dir: string): Promise<Pick<Medium, 'bundle'>> {
  if (!(await stat(join(dir, 'index.json')).catch(() => undefined))) return {};
  return { bundle: { dir, bytes: await measureTree(dir) } };
}

/**
 * Bytes of a medium file: a regular file's size, or a block device's (a
 * network boot's squashfs is the loop device over its only copy in RAM).
 */
async function sizeOf(root: string, path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return info.size;
  if (!info?.isBlockDevice()) return undefined;
  const sectors = await readFile(join(root, 'sys/class/block', basename(await realpath(path)), 'size'), 'utf8').catch(() => undefined);
  return sectors === undefined ? undefined : Number(sectors.trim()) * 512;
}
