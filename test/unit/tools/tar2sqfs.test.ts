import { describe, expect, it } from 'vitest';
import { buildTar2sqfsArgs } from '../../../src/tools/tar2sqfs.js';

describe('tar2sqfs argv', () => {
  it('sets the compressor, its level and a 0755 root owned by root', () => {
    expect(buildTar2sqfsArgs({ output: '/o/rootfs.squashfs', compression: { compression: 'zstd', level: 3 }, jobs: 2, mtime: 1700000000 })).toEqual([
      '--quiet', '--no-skip', '--force', '--compressor', 'zstd', '--comp-extra', 'level=3',
      '--num-jobs', '2', '--defaults', 'mode=0755,uid=0,gid=0,mtime=1700000000', '/o/rootfs.squashfs',
    ]);
  });

  it('leaves the level to the compressor when none is given', () => {
    expect(buildTar2sqfsArgs({ output: 'x', compression: { compression: 'xz' }, jobs: 1, mtime: 0 })).not.toContain('--comp-extra');
  });

  it('refuses levels a compressor does not have', () => {
    expect(() => buildTar2sqfsArgs({ output: 'x', compression: { compression: 'xz', level: 12 }, jobs: 1, mtime: 0 })).toThrow(/xz level must be 1\.\.9/);
    expect(() => buildTar2sqfsArgs({ output: 'x', compression: { compression: 'lz4', level: 1 }, jobs: 1, mtime: 0 })).toThrow(/lz4 takes no level/);
  });
});
