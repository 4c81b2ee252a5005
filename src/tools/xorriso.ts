/**
 * Argument builder for `xorriso -as mkisofs`: the hybrid BIOS + UEFI live ISO.
 *
 * The one medium boots four ways:
 *
 * - BIOS, as a CD: El Torito entry 1, GRUB's i386-pc-eltorito image.
 * - BIOS, as a disk (USB stick, `-drive format=raw`): boot_hybrid.img in the
 *   MBR (--grub2-mbr) loads the core image of that same El Torito file; the
 *   block address it needs is patched in by --grub2-mbr/--grub2-boot-info.
 * - UEFI, as a CD: El Torito entry 2 ("-e"), a FAT image whose
 *   EFI/BOOT/BOOTX64.EFI is GRUB.
 * - UEFI, as a disk: the same FAT image appended after the ISO filesystem and
 *   listed as an EFI System Partition. The El Torito entry does not copy it:
 *   it points at the appended partition (--interval:appended_partition_2:all::).
 *
 * Why the ESP is listed in GPT (-appended_part_as_gpt) rather than in the MBR:
 * firmware that boots a disk looks for an ESP in the partition table, and
 * EDK2 (OVMF, and the many vendor firmwares built on it) tries the partition
 * schemes in a fixed order, GPT, then El Torito, then MBR, and uses only the
 * first that matches. Our medium always carries an El Torito catalog, so an
 * ESP that exists only as an MBR partition (type 0xef) is never seen when the
 * ISO is booted as a disk. Checked under OVMF with an ISO that had no El Torito
 * EFI entry: with the ESP only in the MBR, the firmware fell through to PXE;
 * with the ESP in GPT, GRUB came up. (With the El Torito EFI entry present,
 * OVMF boots either variant as a disk because it also scans El Torito on
 * hard disks, but many real firmwares do not.) In the GPT variant the MBR is
 * protective (one 0xee partition); --mbr-force-bootable adds an active dummy
 * entry for legacy BIOSes that refuse a disk without an active partition.
 * (Recent Ubuntu live ISOs make the same choice.)
 *
 * -partition_offset 16 makes the ISO filesystem also appear as GPT partition
 * 1 starting at block 64 (with its own superblock), so partitioning tools and
 * the kernel see a sane table after the image is written to a USB stick.
 *
 * Reproducibility: every timestamp xorriso would take from the clock or from
 * the source files is set from one epoch: --modification-date (volume
 * creation/modification dates, boot catalog date, MBR id), --gpt_disk_guid
 * modification-date (GPT disk and partition GUIDs, otherwise random) and
 * --set_all_file_dates (file mtimes/atimes/ctimes, otherwise those of the
 * staged files). SOURCE_DATE_EPOCH in xorriso's environment is not enough:
 * it only sets defaults (which startup files may override, hence -no_rc), and
 * for files that default is "set_to_mtime", which keeps each source file's
 * own mtime, so the same content with other file times (a fresh checkout, a
 * re-staged grub.cfg) gave different bytes until --set_all_file_dates was
 * given the epoch. -r (rather than -R) records uid/gid 0 and normalised
 * permissions instead of the builder's.
 */

import { UserError } from '../errors.js';

/** ISO 9660 volume ids of a d-characters only, at most 32 of them. */
export const VOLUME_LABEL_PATTERN = /^[A-Z0-9_]{1,32}$/;

/**
 * Check that `label` can be the volume id: ISO 9660 allows uppercase A-Z,
 * digits and underscore, at most 32 characters. The label is also how GRUB
 * (search --label) and dracut (root=live:CDLABEL=) find the medium, so it must
 * survive both unchanged and unquoted.
 */
export function validateVolumeLabel(label: string): string {
  if (VOLUME_LABEL_PATTERN.test(label)) return label;
  const suggestion = label.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 32);
  const problem = label.length > 32 ? `it has ${label.length} characters` : label.length === 0 ? 'it is empty' : 'it has characters outside A-Z, 0-9 and _';
  throw new UserError(
    `invalid volume label ${JSON.stringify(label)}: ${problem}; an ISO 9660 volume id must be 1 to 32 characters of uppercase A-Z, digits 0-9 and underscore`,
    suggestion ? `use for example ${JSON.stringify(suggestion)}` : 'use for example "ROS_LIVE"',
  );
}

/** Where the BIOS El Torito image lives in the ISO tree (as grub-mkrescue places it). */
export const BIOS_BOOT_IMAGE_ISO_PATH = '/boot/grub/i386-pc/eltorito.img';
export const BOOT_CATALOG_ISO_PATH = '/boot/grub/boot.cat';
export const DEFAULT_GRUB_HYBRID_MBR = '/usr/lib/grub/i386-pc/boot_hybrid.img';
/** GPT type of the partition that shows the ISO filesystem: Basic Data, readable by every OS. */
export const ISO_PARTITION_TYPE_GUID = 'a2a0d0ebe5b9334487c068b6b72699c7';
/** Partition number of the appended ESP (1 would put the ISO before it, unpartitioned). */
export const ESP_PARTITION_NUMBER = 2;

export interface IsoGraft {
  /** Absolute path inside the ISO, e.g. /boot/vmlinuz. */
  isoPath: string;
  /** The file on disk. */
  sourcePath: string;
}

export interface HybridIsoOptions {
  outputPath: string;
  /** ISO 9660 volume id (validate it first: see validateVolumeLabel). */
  volumeLabel: string;
  /** Files of the ISO tree. Must include the BIOS boot image at biosBootImage. */
  grafts: readonly IsoGraft[];
  /** FAT image holding EFI/BOOT/BOOTX64.EFI. */
  espImagePath: string;
  /** Seconds since 1970 that every timestamp of the image is set to. */
  sourceDateEpoch: number;
  biosBootImage?: string;
  bootCatalog?: string;
  grubHybridMbrPath?: string;
}

/** The epoch as xorriso's 16-digit GMT timestring YYYYMMDDhhmmsscc. */
export function isoTimestamp(epochSeconds: number): string {
  if (!Number.isInteger(epochSeconds) || epochSeconds < 0) throw new Error(`invalid epoch: ${epochSeconds}`);
  const date = new Date(epochSeconds * 1000);
  if (date.getUTCFullYear() > 2999) throw new Error(`epoch beyond year 2999: ${epochSeconds}`);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    '00'
  );
}

/** Escape one side of an -graft-points pathspec: in mkisofs emulation `\` and `=` are special on both sides. */
export function escapeGraftPath(path: string): string {
  return path.replace(/\\/g, '\\\\').replace(/=/g, '\\=');
}

export function graftPointArg(graft: IsoGraft): string {
  if (!graft.isoPath.startsWith('/')) throw new Error(`ISO path must be absolute: ${graft.isoPath}`);
  if (!graft.sourcePath.startsWith('/')) throw new Error(`source path must be absolute: ${graft.sourcePath}`);
  return `${escapeGraftPath(graft.isoPath)}=${escapeGraftPath(graft.sourcePath)}`;
}

/** Arguments for `xorriso` (the file to run) that write the hybrid ISO. */
export function buildHybridIsoArgs(options: HybridIsoOptions): string[] {
  validateVolumeLabel(options.volumeLabel);
  const biosBootImage = options.biosBootImage ?? BIOS_BOOT_IMAGE_ISO_PATH;
  if (!options.grafts.some((g) => g.isoPath === biosBootImage)) {
    throw new Error(`the ISO tree has no BIOS boot image at ${biosBootImage}`);
  }
  const relative = (p: string) => p.replace(/^\/+/, '');
  const esp = `appended_partition_${ESP_PARTITION_NUMBER}`;
  return [
    // Must be the very first argument: ignore /etc/xorriso/xorriso.conf and ~/.xorrisorc.
    '-no_rc',
    '-as',
    'mkisofs',
    '-o',
    options.outputPath,
    // Filesystem: volume id, Rock Ridge with normalised owners/permissions,
    // Joliet, and level 3 so a squashfs above 4 GiB can be stored.
    '-V',
    options.volumeLabel,
    '-r',
    '-J',
    '-joliet-long',
    '-iso-level',
    '3',
    // Fixed timestamps and GUIDs.
    `--modification-date=${isoTimestamp(options.sourceDateEpoch)}`,
    '--set_all_file_dates',
    `=${options.sourceDateEpoch}`,
    '--gpt_disk_guid',
    'modification-date',
    // System area: GRUB's hybrid MBR, protective MBR + GPT, ESP appended as GPT partition 2.
    '-partition_offset',
    '16',
    '--grub2-mbr',
    options.grubHybridMbrPath ?? DEFAULT_GRUB_HYBRID_MBR,
    '--mbr-force-bootable',
    '-append_partition',
    String(ESP_PARTITION_NUMBER),
    '0xef',
    options.espImagePath,
    '-appended_part_as_gpt',
    '-iso_mbr_part_type',
    ISO_PARTITION_TYPE_GUID,
    // El Torito entry 1: BIOS.
    '-c',
    relative(options.bootCatalog ?? BOOT_CATALOG_ISO_PATH),
    '-b',
    relative(biosBootImage),
    '-no-emul-boot',
    '-boot-load-size',
    '4',
    '-boot-info-table',
    '--grub2-boot-info',
    // El Torito entry 2: UEFI, the appended ESP itself (xorriso sets the load size to the whole image).
    '-eltorito-alt-boot',
    '-e',
    `--interval:${esp}:all::`,
    '-no-emul-boot',
    // The tree, as iso_path=disk_path pairs: nothing gets copied into a staging directory.
    '-graft-points',
    ...options.grafts.map(graftPointArg),
  ];
}
