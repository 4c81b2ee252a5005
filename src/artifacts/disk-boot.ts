/**
 * An installed disk's GRUB: made here once for both writers of such disks.
 * The disk builder puts them into its image; the ISO carries them under
 * /ros/install/ for `ros install`, because the node has no grub-mkimage.
 *
 *   esp/         the ESP's UEFI boot files, by their path on COS_GRUB (esp.ts:
 *                shim, signed GRUB and its grub.cfg, or a GRUB made here)
 *   core.img     BIOS core image, already patched for the BIOS boot partition
 *                (the layout always puts it at sector 2048, 1 MiB)
 *   boot.img     GRUB's i386-pc MBR code (the installer patches it into sector 0)
 *   grub.cfg     the disk's menu (grub/ on COS_GRUB)
 *
 * Every GRUB of the disk reads /grub/grub.cfg on COS_GRUB.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { patchCoreImage } from '../disk/bios-boot.js';
import { BIOS_PARTITION_FIRST_SECTOR, BIOS_PARTITION_SECTORS, ESP_GRUB_PREFIX } from '../disk/layout.js';
import { runCommand } from '../exec/run.js';
import type { SignedEfiChain } from '../rootfs/signed-efi.js';
import type { FatFile } from '../tools/fat.js';
import { buildBiosCoreImageArgs, DEFAULT_GRUB_LIB_DIR, renderEarlyConfig } from '../tools/grub-mkimage.js';
import { ESP_LABEL, stageEspFiles } from './esp.js';

/** The files of /ros/install/ on the ISO, by role (src/node/install/medium.ts reads them), and the ESP's tree beside them. */
export const INSTALL_PIECES = { coreImage: 'core.img', bootImage: 'boot.img', grubConfig: 'grub.cfg' } as const;
export const INSTALL_ESP_DIR = 'esp';
export const INSTALL_PIECES_ISO_DIR = '/ros/install';

interface MakeOptions {
  /** A scratch directory the early config is written into. */
  stage: string;
  logPath?: string;
  env?: Record<string, string>;
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
  await writeFile(early, renderEarlyConfig(ESP_LABEL, ESP_GRUB_PREFIX));
  await runCommand('grub-mkimage', buildBiosCoreImageArgs({ outputPath: core, earlyConfigPath: early }), { logPath: options.logPath, env: options.env });
  const bootImage = await readFile(join(DEFAULT_GRUB_LIB_DIR, 'i386-pc', 'boot.img'));
  return { bootImage, coreImage: patchCoreImage(await readFile(core), options.firstSector, options.sectors) };
}

/** /ros/install/ for the ISO, made in `dir`: each file's path under /ros/install/ and where it is now. */
export async function writeInstallPieces(dir: string, grubConfig: string, options: MakeOptions & { chain?: SignedEfiChain }): Promise<FatFile[]> {
  const paths = {
    coreImage: join(dir, INSTALL_PIECES.coreImage),
    bootImage: join(dir, INSTALL_PIECES.bootImage),
    grubConfig: join(dir, INSTALL_PIECES.grubConfig),
  };
  const bios = await makeBiosBootCode({ ...options, firstSector: BIOS_PARTITION_FIRST_SECTOR, sectors: BIOS_PARTITION_SECTORS });
  await writeFile(paths.coreImage, bios.coreImage);
  await writeFile(paths.bootImage, bios.bootImage);
  await writeFile(paths.grubConfig, grubConfig);
  const esp = await stageEspFiles({ medium: 'disk', chain: options.chain, stage: options.stage, logPath: options.logPath, env: options.env });
  return [
    ...(Object.keys(paths) as Array<keyof typeof paths>).map((role) => ({ target: INSTALL_PIECES[role], source: paths[role] })),
    ...esp.map((file) => ({ target: `${INSTALL_ESP_DIR}/${file.target}`, source: file.source })),
  ];
}
