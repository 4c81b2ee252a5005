/**
 * An installed disk's GRUB: made here once for both writers of such disks.
 * The disk builder puts them into its image; the ISO carries them under
 * /ros/install/ for `ros install`, because the node has no grub-mkimage.
 *
 *   BOOTX64.EFI  UEFI loader (EFI/BOOT/ on COS_GRUB)
 *   core.img     BIOS core image, already patched for the BIOS boot partition
 *                (the layout always puts it at sector 2048, 1 MiB)
 *   boot.img     GRUB's i386-pc MBR code (the installer patches it into sector 0)
 *   grub.cfg     the disk's menu (grub/ on COS_GRUB)
 *
 * Both GRUB images find COS_GRUB by its label and read /grub/grub.cfg there.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { patchCoreImage } from '../disk/bios-boot.js';
import { BIOS_PARTITION_FIRST_SECTOR, BIOS_PARTITION_SECTORS } from '../disk/layout.js';
import { runCommand } from '../exec/run.js';
import { buildBiosCoreImageArgs, buildDiskEfiImageArgs, DEFAULT_GRUB_LIB_DIR, renderEarlyConfig } from '../tools/grub-mkimage.js';

/** Where both GRUB images look for grub.cfg: /grub on the partition labelled COS_GRUB. */
export const ESP_LABEL = 'COS_GRUB';
export const ESP_PREFIX = '/grub';

/** The files of /ros/install/ on the ISO, by role (src/node/install/medium.ts reads them). */
export const INSTALL_PIECES = { efiLoader: 'BOOTX64.EFI', coreImage: 'core.img', bootImage: 'boot.img', grubConfig: 'grub.cfg' } as const;
export const INSTALL_PIECES_ISO_DIR = '/ros/install';

interface MakeOptions {
  /** A scratch directory the early config is written into. */
  stage: string;
  logPath?: string;
  env?: Record<string, string>;
}

/** The disk's UEFI loader (grub-mkimage x86_64-efi with the disk modules) at `outputPath`. */
export async function makeDiskEfiLoader(outputPath: string, options: MakeOptions): Promise<void> {
  const early = join(options.stage, 'disk-efi-early.cfg');
  await writeFile(early, renderEarlyConfig(ESP_LABEL, ESP_PREFIX));
  await runCommand('grub-mkimage', buildDiskEfiImageArgs({ outputPath, earlyConfigPath: early }), { logPath: options.logPath, env: options.env });
}

/**
 * The BIOS boot code for a BIOS boot partition at `firstSector` of
 * `sectors`: GRUB's boot.img (to patch into sector 0) and the core image,
 * patched to load its own remaining sectors from there.
 */
export async function makeBiosBootCode(
  options: MakeOptions & { firstSector: number; sectors: number },
): Promise<{ bootImage: Buffer; coreImage: Buffer }> {
  const early = join(options.stage, 'disk-bios-early.cfg');
  const core = join(options.stage, 'disk-core.img');
  await writeFile(early, renderEarlyConfig(ESP_LABEL, ESP_PREFIX));
  await runCommand('grub-mkimage', buildBiosCoreImageArgs({ outputPath: core, earlyConfigPath: early }), { logPath: options.logPath, env: options.env });
  const bootImage = await readFile(join(DEFAULT_GRUB_LIB_DIR, 'i386-pc', 'boot.img'));
  return { bootImage, coreImage: patchCoreImage(await readFile(core), options.firstSector, options.sectors) };
}

/** /ros/install/ for the ISO: every piece, in `dir`; returns each file's path by role. */
export async function writeInstallPieces(dir: string, grubConfig: string, options: MakeOptions): Promise<Record<keyof typeof INSTALL_PIECES, string>> {
  const paths = {
    efiLoader: join(dir, INSTALL_PIECES.efiLoader),
    coreImage: join(dir, INSTALL_PIECES.coreImage),
    bootImage: join(dir, INSTALL_PIECES.bootImage),
    grubConfig: join(dir, INSTALL_PIECES.grubConfig),
  };
  await makeDiskEfiLoader(paths.efiLoader, options);
  const bios = await makeBiosBootCode({ ...options, firstSector: BIOS_PARTITION_FIRST_SECTOR, sectors: BIOS_PARTITION_SECTORS });
  await writeFile(paths.coreImage, bios.coreImage);
  await writeFile(paths.bootImage, bios.bootImage);
  await writeFile(paths.grubConfig, grubConfig);
  return paths;
}
