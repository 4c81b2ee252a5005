import type { CompressionSpec } from '../spec/types.js';
import { UserError } from '../errors.js';

/** Highest level each compressor accepts through tar2sqfs -X level=N (lz4 has none). */
const maxLevel: Record<CompressionSpec['compression'], number | undefined> = { zstd: 22, xz: 9, gzip: 9, lz4: undefined };

/**
 * tar2sqfs argv: read a tar on stdin, write a squashfs. The root directory is
 * not in a container export, so --defaults gives it 0755 root:root (otherwise
 * it would not be what the rootfs needs).
 */
export function buildTar2sqfsArgs(options: { output: string; compression: CompressionSpec; jobs: number; mtime: number }): string[] {
  const { compression, level } = options.compression;
  const args = ['--quiet', '--no-skip', '--force', '--compressor', compression];
  if (level !== undefined) {
    const max = maxLevel[compression];
    if (max === undefined) throw new UserError(`squashfs compression ${compression} takes no level (got ${level})`, 'remove "level" for lz4');
    if (level < 1 || level > max) throw new UserError(`squashfs ${compression} level must be 1..${max}, got ${level}`, `pick a level between 1 and ${max}`);
    args.push('--comp-extra', `level=${level}`);
  }
  args.push('--num-jobs', String(options.jobs));
  args.push('--defaults', `mode=0755,uid=0,gid=0,mtime=${options.mtime}`);
  args.push(options.output);
  return args;
}
