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

/** A FAT volume id (32 bits, 8 hex digits) derived from the medium's label, so each build of it gets the same one. */
export function fatVolumeId(label: string): string {
  return createHash('sha256').update(`ros-build esp ${label}`).digest('hex').slice(0, 8);
}

/**
 * Size of the ESP image in KiB for files of `fileBytes` in all: the files,
 * 10% plus 512 KiB for FAT tables, directories and cluster slack, rounded up
 * to a whole MiB.
 */
export function espSizeKiB(fileBytes: number): number {
  if (!Number.isFinite(fileBytes) || fileBytes < 0) throw new Error(`invalid EFI files size: ${fileBytes}`);
  const needed = Math.ceil(fileBytes / 1024) * 1.1 + 512;
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

/** A file to put into a FAT image: `target` is its path inside, without a leading slash. */
export interface FatFile {
  target: string;
  source: string;
}

/**
 * The mtools commands that fill a FAT image with `files`: one mmd for every
 * directory (parents first: mmd has no -p), then one mcopy per file, all in
 * sorted order, so the image's directory entries come out the same on every
 * build (mcopy -s would follow the host's readdir order).
 */
export function buildFatTreeCommands(imagePath: string, files: readonly FatFile[]): Array<{ tool: 'mmd' | 'mcopy'; args: string[] }> {
  const sorted = [...files].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  const directories = new Set<string>();
  for (const { target } of sorted) {
    if (target.startsWith('/') || target.split('/').some((part) => part === '' || part === '..')) throw new Error(`invalid path inside a FAT image: ${target}`);
    const parts = target.split('/').slice(0, -1);
    parts.forEach((_, i) => directories.add(parts.slice(0, i + 1).join('/')));
  }
  const mmd = directories.size === 0 ? [] : [{ tool: 'mmd' as const, args: ['-i', imagePath, ...[...directories].sort().map((d) => `::/${d}`)] }];
  return [...mmd, ...sorted.map(({ target, source }) => ({ tool: 'mcopy' as const, args: ['-i', imagePath, source, `::/${target}`] }))];
}
