/**
 * `cp` argv for copying a disk image without filling in its holes.
 *
 * --sparse=always makes every run of zero blocks a hole in the copy, whatever
 * the source's allocation was; so the copy's holes depend only on its
 * content (and the file system's block size), which is what a sparse tar
 * records.
 */
export interface SparseCopyOptions {
  source: string;
  destination: string;
  /**
   * 'auto' shares the source's blocks where the file system can (btrfs, XFS):
   * instant, but the copy keeps the source's allocation. 'never' always writes
   * a fresh copy, whose holes are then exactly the zero runs.
   */
  reflink: 'auto' | 'never';
}

export function buildSparseCopyArgs(options: SparseCopyOptions): string[] {
  // -- : a path that starts with "-" is still a path.
  return [`--reflink=${options.reflink}`, '--sparse=always', '--', options.source, options.destination];
}
