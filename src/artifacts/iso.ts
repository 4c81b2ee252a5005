/**
 * The hybrid BIOS + UEFI live ISO: squashfs rootfs, kernel and initrd on an
 * ISO 9660 medium that GRUB boots from CD or from disk, under BIOS or UEFI.
 *
 * Medium layout:
 *   /boot/vmlinuz, /boot/initrd        kernel and initrd
 *   /LiveOS/squashfs.img               the rootfs (dracut dmsquash-live defaults:
 *                                      rd.live.dir=LiveOS rd.live.squashimg=squashfs.img)
 *   /boot/grub/grub.cfg                menu, shared by both GRUB images
 *   /boot/grub/i386-pc/eltorito.img    BIOS GRUB (all modules embedded)
 *   /boot/grub/boot.cat                El Torito catalog
 *   /ros/cloud-config.yaml             when a cloud-config is given
 *   /ros/bundle/                       an air-gap bundle (--bundle)
 *   /ros/install/                      the installed disk's boot pieces for `ros install`
 *                                      (esp/, core.img, boot.img, grub.cfg: disk-boot.ts)
 *   appended GPT partition 2           FAT ESP (El Torito EFI image): EFI/BOOT/BOOTX64.EFI,
 *                                      shim with the image's signed GRUB, or a GRUB made here (esp.ts)
 *
 * Built without grub-mkrescue: grub-mkimage makes the BIOS GRUB image,
 * mkfs.vfat + mtools the ESP, xorriso the ISO (see src/tools/ for why each
 * option is there). Everything is derived from one SOURCE_DATE_EPOCH, so two
 * builds from the same inputs are byte-identical.
 */
import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatProblem, parseConfigText } from '../config/load.js';
import { MEDIUM_BUNDLE_DIR } from '../disk/bundle.js';
import { UserError } from '../errors.js';
import { findTool } from '../exec/find-tool.js';
import { runCommand } from '../exec/run.js';
import { writeAtomically } from '../fsutil/atomic.js';
import { withScratchDir } from '../fsutil/scratch.js';
import type { SignedEfiChain } from '../rootfs/signed-efi.js';
import { buildFatTreeCommands, buildMkfsVfatArgs, espSizeKiB, fatVolumeId } from '../tools/fat.js';
import { buildBiosEltoritoImageArgs, renderEarlyConfig } from '../tools/grub-mkimage.js';
import { BIOS_BOOT_IMAGE_ISO_PATH, buildHybridIsoArgs, validateVolumeLabel, type IsoGraft } from '../tools/xorriso.js';
import { renderGrubConfig } from './grub-config.js';
import { INSTALL_PIECES_ISO_DIR, writeInstallPieces } from './disk-boot.js';
import { stageEspFiles } from './esp.js';

export { validateVolumeLabel } from '../tools/xorriso.js';

export interface IsoInput {
  squashfsPath: string;
  kernelPath: string;
  initrdPath: string;
  /** The image's signed UEFI chain (Secure Boot); without it the ISO's and the installer's UEFI GRUB are made here. */
  efiChain?: SignedEfiChain;
  /** ISO 9660 volume id: A-Z, 0-9, _; at most 32 characters. */
  volumeLabel: string;
  /** GRUB menu title. */
  title: string;
  /** Extra kernel arguments (root=live:CDLABEL=<label> rd.live.image are always set). */
  cmdline: string;
  /** A cloud-config to carry at /ros/cloud-config.yaml, already checked with validateCloudConfig. */
  cloudConfigPath?: string;
  /** An air-gap bundle's directory (artifacts/bundle.ts), carried at /ros/bundle. */
  bundleDir?: string;
  /**
   * The installed disk's grub.cfg (renderDiskGrubConfig): given, the ISO
   * carries /ros/install/ with it and the disk's GRUB images, which the node
   * cannot make itself.
   */
  installGrubConfig?: string;
  /** Seconds since 1970 for every timestamp; default $SOURCE_DATE_EPOCH, else now. */
  sourceDateEpoch?: number;
  /** Seconds the GRUB menu waits; default 3. */
  timeoutSeconds?: number;
  /** Scratch space; a temporary directory is made inside it and removed afterwards. */
  workDir: string;
  /** Tool invocations and their output are appended here. */
  logPath?: string;
}

export interface IsoResult {
  /** Absolute path of the ISO. */
  path: string;
  sizeBytes: number;
}

/** Paths inside the ISO. */
export const ISO_LAYOUT = {
  kernel: '/boot/vmlinuz',
  initrd: '/boot/initrd',
  squashfs: '/LiveOS/squashfs.img',
  grubConfig: '/boot/grub/grub.cfg',
  biosBootImage: BIOS_BOOT_IMAGE_ISO_PATH,
  cloudConfig: '/ros/cloud-config.yaml',
  installDir: INSTALL_PIECES_ISO_DIR,
  bundle: `/${MEDIUM_BUNDLE_DIR}`,
} as const;

/** The epoch to stamp the image with: the explicit one, else $SOURCE_DATE_EPOCH, else now. */
export function resolveSourceDateEpoch(explicit: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 0) {
      throw new UserError(`invalid source date epoch ${explicit}: it must be a whole number of seconds since 1970`);
    }
    return explicit;
  }
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d+$/.test(fromEnv)) {
      throw new UserError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(fromEnv)}: it must be a whole number of seconds since 1970`);
    }
    return Number(fromEnv);
  }
  return Math.floor(Date.now() / 1000);
}

/** The first line a cloud-config must have, alone on it. */
const CLOUD_CONFIG_HEADER = /^#cloud-config[ \t]*\r?(\n|$)/;

/** Check a cloud-config file exists and carries the #cloud-config header cloud-init needs. */
export async function validateCloudConfig(path: string): Promise<string> {
  const absolute = await requireFile(path, 'cloud-config file');
  const content = await readFile(absolute, 'utf8');
  if (!CLOUD_CONFIG_HEADER.test(content)) {
    const first = content.split('\n', 1)[0] ?? '';
    throw new UserError(
      `cloud-config file ${path} does not start with "#cloud-config" (its first line is ${JSON.stringify(first.slice(0, 60))})`,
      'cloud-init ignores user data without that first line; add "#cloud-config" as line 1',
    );
  }
  // A node would report these at every boot and skip the keys: refuse them here, before anything is built.
  const errors = parseConfigText(content, path).problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new UserError(
      `cloud-config file ${path} has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${errors.map((p) => `  - ${formatProblem(p).replace(/^error: /, '')}`).join('\n')}`,
      `fix the file (\`ros-build config validate ${path}\` checks it; the schema is src/config/node-config.schema.json)`,
    );
  }
  return absolute;
}

/** Resolve an input file to an absolute path without symlinks (so the ISO gets the file, not the link). */
async function requireFile(path: string, what: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(resolve(path));
  } catch {
    throw new UserError(`${what} not found: ${path}`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw new UserError(`${what} is not a regular file: ${path}`);
  return real;
}

/** Build the hybrid ISO at `outPath`. The output appears only when complete. */
export async function buildIso(input: IsoInput, outPath: string): Promise<IsoResult> {
  // Check everything the user gave before running any tool.
  const label = validateVolumeLabel(input.volumeLabel);
  const kernel = await requireFile(input.kernelPath, 'kernel');
  const initrd = await requireFile(input.initrdPath, 'initrd');
  const squashfs = await requireFile(input.squashfsPath, 'squashfs image');
  // Checked against the schema by the caller (validateCloudConfig, before anything was built), as for disks.
  const cloudConfig = input.cloudConfigPath === undefined ? undefined : await requireFile(input.cloudConfigPath, 'cloud-config file');
  const epoch = resolveSourceDateEpoch(input.sourceDateEpoch);
  const grubConfig = renderGrubConfig({
    title: input.title,
    label,
    cmdline: input.cmdline,
    timeoutSeconds: input.timeoutSeconds,
  });

  const output = resolve(outPath);
  const logPath = input.logPath;
  // mtools stamps the ESP's directory entries with SOURCE_DATE_EPOCH; xorriso gets explicit options too.
  const env = { SOURCE_DATE_EPOCH: String(epoch), MTOOLS_SKIP_CHECK: '1' };

  return withScratchDir(input.workDir, 'iso-', async (stage) => {
    const earlyConfig = join(stage, 'early.cfg');
    const grubCfg = join(stage, 'grub.cfg');
    const eltorito = join(stage, 'eltorito.img');
    const espImage = join(stage, 'efi.img');
    await writeFile(earlyConfig, renderEarlyConfig(label));
    await writeFile(grubCfg, grubConfig);

    await runCommand('grub-mkimage', buildBiosEltoritoImageArgs({ outputPath: eltorito, earlyConfigPath: earlyConfig }), { logPath, env });
    const espFiles = await stageEspFiles({ medium: 'cd', label, chain: input.efiChain, stage, logPath, env });
    const espBytes = (await Promise.all(espFiles.map(async (file) => (await stat(file.source)).size))).reduce((a, b) => a + b, 0);
    const mkfsVfat = await findTool('mkfs.vfat');
    await runCommand(mkfsVfat, buildMkfsVfatArgs({ imagePath: espImage, sizeKiB: espSizeKiB(espBytes), volumeId: fatVolumeId(label) }), { logPath, env });
    for (const { tool, args } of buildFatTreeCommands(espImage, espFiles)) await runCommand(tool, args, { logPath, env });

    const grafts: IsoGraft[] = [
      { isoPath: ISO_LAYOUT.kernel, sourcePath: kernel },
      { isoPath: ISO_LAYOUT.initrd, sourcePath: initrd },
      { isoPath: ISO_LAYOUT.squashfs, sourcePath: squashfs },
      { isoPath: ISO_LAYOUT.grubConfig, sourcePath: grubCfg },
      { isoPath: ISO_LAYOUT.biosBootImage, sourcePath: eltorito },
    ];
    if (cloudConfig) grafts.push({ isoPath: ISO_LAYOUT.cloudConfig, sourcePath: cloudConfig });
    if (input.bundleDir) grafts.push({ isoPath: ISO_LAYOUT.bundle, sourcePath: input.bundleDir });
    if (input.installGrubConfig !== undefined) {
      const dir = join(stage, 'install');
      await mkdir(dir);
      for (const piece of await writeInstallPieces(dir, input.installGrubConfig, { stage, logPath, env, chain: input.efiChain })) {
        grafts.push({ isoPath: `${ISO_LAYOUT.installDir}/${piece.target}`, sourcePath: piece.source });
      }
    }

    return await writeAtomically(output, async (tmpPath) => {
      const args = buildHybridIsoArgs({ outputPath: tmpPath, volumeLabel: label, grafts, espImagePath: espImage, sourceDateEpoch: epoch });
      // cwd = the stage directory, so no stray ./.mkisofsrc is read.
      await runCommand('xorriso', args, { logPath, env, cwd: stage });
      const { size } = await stat(tmpPath);
      return { path: output, sizeBytes: size };
    });
  });
}
