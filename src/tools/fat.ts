/**
 * Argument builders for the EFI System Partition image: a small FAT
 * filesystem holding EFI/BOOT/BOOTX64.EFI, made with dosfstools and filled
 * with mtools (no mounting, no root needed).
 *
 * Reproducibility: mkfs.vfat gets a fixed volume id and --invariant (which
 * fixes the remaining time-based values); mmd and mcopy stamp directory
 * entries with "now", which mtools takes from SOURCE_DATE_EPOCH when it is set
 * in their environment, so the caller must run them with it.
 */
import { createHash } from 'node:crypto';

/** Where UEFI firmware looks for the removable-media loader on x86_64. */
export const ESP_LOADER_PATH = '::/EFI/BOOT/BOOTX64.EFI';
export const ESP_DIRECTORIES: readonly string[] = ['::/EFI', '::/EFI/BOOT'];

/** A FAT volume id (32 bits, 8 hex digits) derived from the medium's label, so each build of it gets the same one. */
export function fatVolumeId(label: string): string {
  return createHash('sha256').update(`ros-build esp ${label}`).digest('hex').slice(0, 8);
}

/**
 * Size of the ESP image in KiB for a loader of `loaderBytes`: the file, 10%
 * plus 512 KiB for FAT tables, directories and cluster slack, rounded up to a
 * whole MiB.
 */
export function espSizeKiB(loaderBytes: number): number {
  if (!Number.isFinite(loaderBytes) || loaderBytes < 0) throw new Error(`invalid EFI loader size: ${loaderBytes}`);
  const needed = Math.ceil(loaderBytes / 1024) * 1.1 + 512;
  return Math.max(1024, Math.ceil(needed / 1024) * 1024);
}

/**
 * FAT32 needs at least 65,525 clusters: with 512-byte clusters, 32 MiB of data
 * plus its two FATs. An ESP that small or larger is made FAT32, which the UEFI
 * specification asks of fixed disks (some firmware and cloud importers read
 * FAT32 only); a smaller one stays whatever mkfs.vfat picks (FAT12/16).
 */
export const FAT32_MIN_BYTES = 34 * 2 ** 20;

/** mkfs.vfat arguments choosing the FAT type for an ESP of `sizeBytes`: FAT32 with one-sector clusters when it fits. */
export function espFatTypeArgs(sizeBytes: number): string[] {
  return sizeBytes >= FAT32_MIN_BYTES ? ['-F', '32', '-S', '512', '-s', '1'] : [];
}

export interface MkfsVfatOptions {
  imagePath: string;
  sizeKiB: number;
  /** 8 hex digits, see fatVolumeId. */
  volumeId: string;
  /** Volume label, at most 11 characters; default ESP. */
  label?: string;
  /** FAT32 when the size allows (an installed disk's ESP); default: mkfs.vfat's choice (the ISO's small El Torito image). */
  fat32?: boolean;
}

/** mkfs.vfat arguments that create the image file (-C) with a fixed id and no time-based values. */
export function buildMkfsVfatArgs(options: MkfsVfatOptions): string[] {
  if (!/^[0-9a-fA-F]{8}$/.test(options.volumeId)) throw new Error(`FAT volume id must be 8 hex digits: ${options.volumeId}`);
  if (!Number.isInteger(options.sizeKiB) || options.sizeKiB <= 0) throw new Error(`invalid FAT image size: ${options.sizeKiB} KiB`);
  const fatType = options.fat32 ? espFatTypeArgs(options.sizeKiB * 1024) : [];
  return ['--invariant', ...fatType, '-i', options.volumeId, '-n', options.label ?? 'ESP', '-C', options.imagePath, String(options.sizeKiB)];
}

/** mmd arguments creating EFI/BOOT, or the directories given (parents first: mmd has no -p). */
export function buildMmdArgs(imagePath: string, directories: readonly string[] = ESP_DIRECTORIES): string[] {
  return ['-i', imagePath, ...directories];
}

/** mcopy arguments copying a file into the image at `target` (an mtools path, "::/…"). */
export function buildMcopyArgs(imagePath: string, sourcePath: string, target: string): string[] {
  return ['-i', imagePath, sourcePath, target];
}

/** mcopy arguments copying the loader into the image at EFI/BOOT/BOOTX64.EFI. */
export function buildMcopyLoaderArgs(imagePath: string, loaderPath: string): string[] {
  return buildMcopyArgs(imagePath, loaderPath, ESP_LOADER_PATH);
}
