/**
 * mkfs.ext4 arguments for the disk's ext4 partitions, made as image files
 * from a directory (-d) without mounting anything.
 *
 * GRUB 2.06 reads COS_OEM (grubenv), COS_STATE and COS_RECOVERY (kernels) and
 * does not know ext4's newer orphan_file feature, so it is turned off.
 * Reproducibility: the UUID and the directory hash seed are given, and the
 * caller runs mke2fs with E2FSPROGS_FAKE_TIME (e2fsprogs' own switch for a
 * fixed "now") and with every staged file's mtime set to the epoch.
 */
export interface Mke2fsOptions {
  imagePath: string;
  sizeBytes: number;
  label: string;
  uuid: string;
  /** Fill the new filesystem from this directory. */
  fromDir?: string;
  /** Keep the default 5 % for root (the persistent partition); 0 elsewhere. */
  reserveForRoot?: boolean;
}

export function buildMke2fsArgs(options: Mke2fsOptions): string[] {
  if (options.sizeBytes % 1024 !== 0) throw new Error(`ext4 image size must be whole KiB: ${options.sizeBytes}`);
  return [
    '-t', 'ext4',
    '-q',
    '-F',
    // 4 KiB blocks whatever the size: mke2fs picks 1 KiB for small images, and COS_PERSISTENT grows from small to the whole disk.
    '-b', '4096',
    '-L', options.label,
    '-U', options.uuid,
    '-E', `hash_seed=${options.uuid},root_owner=0:0`,
    '-O', '^orphan_file',
    '-m', options.reserveForRoot ? '5' : '0',
    ...(options.fromDir ? ['-d', options.fromDir] : []),
    options.imagePath,
    `${options.sizeBytes / 1024}k`,
  ];
}
