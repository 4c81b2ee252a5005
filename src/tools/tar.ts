/**
 * GNU tar argv for the Google Compute Engine image: a gzip'd tar holding one
 * file, `disk.raw` (GCE's "image import from Cloud Storage" takes exactly
 * that).
 *
 * - --format=oldgnu: the format GCE documents (its importer reads GNU
 *   sparse headers of that kind).
 * - --sparse: holes are not stored, so a mostly empty 10 GiB disk packs into
 *   what it holds. tar finds the holes with SEEK_DATA/SEEK_HOLE, so they
 *   are those of the file on disk: copy it with `cp --sparse=always` first
 *   (src/tools/cp.ts) or two archives of the same bytes can differ.
 * - --mtime, --owner/--group/--numeric-owner, --mode: the header carries
 *   none of the builder's clock, users or umask.
 * - gzip -n: no file name or time in the gzip header. Named here rather than
 *   piped so one exit status covers both, and not through -z so the option is
 *   explicit.
 */
export interface GceTarOptions {
  /** The archive to write (gzip'd). */
  outputPath: string;
  /** The directory holding `disk.raw`. */
  directory: string;
  /** Seconds since 1970 for the member's mtime. */
  mtime: number;
}

/** The one member name GCE accepts. */
export const GCE_DISK_MEMBER = 'disk.raw';

export function buildGceTarArgs(options: GceTarOptions): string[] {
  if (!Number.isInteger(options.mtime) || options.mtime < 0) throw new Error(`invalid mtime: ${options.mtime}`);
  return [
    '--create',
    '--file',
    options.outputPath,
    '--use-compress-program=gzip -n',
    '--format=oldgnu',
    '--sparse',
    `--mtime=@${options.mtime}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=0644',
    '--directory',
    options.directory,
    '--',
    GCE_DISK_MEMBER,
  ];
}
