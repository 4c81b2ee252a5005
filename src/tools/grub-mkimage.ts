/**
 * Argument builders for grub-mkimage: the two GRUB core images of the live ISO.
 *
 * Both images are self-contained (every module they need is embedded), so the
 * ISO does not have to carry GRUB's module directories. Both embed the same
 * early config, which finds the medium by its volume label and points `prefix`
 * at /boot/grub on it; normal mode then reads the one shared grub.cfg there.
 * Searching by label is what makes the hybrid work: under BIOS or UEFI, booted
 * as a CD (El Torito) or as a disk (MBR/GPT), GRUB starts from a different
 * device (the CD, the ESP image, a partition), but the ISO 9660 filesystem
 * carrying the label is always reachable.
 */

/** Where GRUB looks for grub.cfg on the medium (also the `-p` prefix of both images). */
export const GRUB_PREFIX = '/boot/grub';

/** Debian's location of GRUB's per-platform module directories. */
export const DEFAULT_GRUB_LIB_DIR = '/usr/lib/grub';

/**
 * Modules both platforms need: read the medium (iso9660, the partition maps
 * for disk boot), find it (search by label), run grub.cfg (normal,
 * configfile, test, echo), talk on the serial console (serial, terminal) and
 * boot Linux (linux, boot, gzio). loopback, ls, cat, halt and reboot cost a
 * few KiB and make the GRUB prompt useful when something goes wrong.
 */
export const GRUB_COMMON_MODULES: readonly string[] = [
  'normal',
  'configfile',
  'search',
  'search_label',
  'search_fs_file',
  'test',
  'echo',
  'serial',
  'terminal',
  'iso9660',
  'part_msdos',
  'part_gpt',
  'loopback',
  'gzio',
  'linux',
  'boot',
  'ls',
  'cat',
  'halt',
  'reboot',
];

/** PC BIOS: disk access goes through the BIOS (biosdisk covers CD and hard disk). */
export const GRUB_BIOS_MODULES: readonly string[] = ['biosdisk', ...GRUB_COMMON_MODULES];

/** x86_64 UEFI: the video modules give the kernel a framebuffer (GOP, or UGA on old firmware). */
export const GRUB_EFI_MODULES: readonly string[] = [...GRUB_COMMON_MODULES, 'efi_gop', 'efi_uga', 'video', 'video_fb', 'linuxefi'];

export interface GrubImageOptions {
  /** The image to write. */
  outputPath: string;
  /** The early config to embed (see renderEarlyConfig). */
  earlyConfigPath: string;
  /** Root of GRUB's platform directories; default /usr/lib/grub. */
  grubLibDir?: string;
  /** Modules to embed beyond the default set. */
  extraModules?: readonly string[];
}

function imageArgs(platform: string, format: string, modules: readonly string[], options: GrubImageOptions): string[] {
  const libDir = options.grubLibDir ?? DEFAULT_GRUB_LIB_DIR;
  const all = [...modules, ...(options.extraModules ?? []).filter((m) => !modules.includes(m))];
  return [
    '-d',
    `${libDir}/${platform}`,
    '-O',
    format,
    '-p',
    GRUB_PREFIX,
    '-c',
    options.earlyConfigPath,
    '-o',
    options.outputPath,
    ...all,
  ];
}

/**
 * grub-mkimage arguments for the BIOS El Torito image. The i386-pc-eltorito
 * format puts cdboot.img in front of the core image; the same file also boots
 * from disk via boot_hybrid.img in the MBR (xorriso --grub2-mbr/--grub2-boot-info).
 */
export function buildBiosEltoritoImageArgs(options: GrubImageOptions): string[] {
  return imageArgs('i386-pc', 'i386-pc-eltorito', GRUB_BIOS_MODULES, options);
}

/** grub-mkimage arguments for the UEFI removable-media loader (EFI/BOOT/BOOTX64.EFI in the ESP). */
export function buildEfiImageArgs(options: GrubImageOptions): string[] {
  return imageArgs('x86_64-efi', 'x86_64-efi', GRUB_EFI_MODULES, options);
}

/** Modules a disk's GRUB needs beyond the common set: its partitions (fat, ext4) and the environment block. */
export const GRUB_DISK_MODULES: readonly string[] = ['fat', 'ext2', 'loadenv'];

/**
 * grub-mkimage arguments for the BIOS core image of an installed disk: the
 * plain i386-pc format, written into the 1 MiB BIOS boot partition (see
 * src/disk/bios-boot.ts for how the MBR finds it).
 */
export function buildBiosCoreImageArgs(options: GrubImageOptions): string[] {
  return imageArgs('i386-pc', 'i386-pc', GRUB_BIOS_MODULES, { ...options, extraModules: [...GRUB_DISK_MODULES, ...(options.extraModules ?? [])] });
}

/** grub-mkimage arguments for an installed disk's UEFI loader (EFI/BOOT/BOOTX64.EFI on COS_GRUB). */
export function buildDiskEfiImageArgs(options: GrubImageOptions): string[] {
  return buildEfiImageArgs({ ...options, extraModules: [...GRUB_DISK_MODULES, ...(options.extraModules ?? [])] });
}

/**
 * The early config embedded in both images. `label` must already be a valid
 * ISO 9660 volume id (A-Z, 0-9, _), so it needs no quoting in GRUB script.
 */
export function renderEarlyConfig(label: string, prefix: string = GRUB_PREFIX): string {
  if (!/^[A-Z0-9_]+$/.test(label)) throw new Error(`invalid volume label for GRUB early config: ${JSON.stringify(label)}`);
  return [
    `search --no-floppy --set=root --label ${label}`,
    `set prefix=($root)${prefix}`,
    '',
  ].join('\n');
}
