import { describe, expect, it } from 'vitest';
import { buildSparseCopyArgs } from '../../../src/tools/cp.js';
import { buildGceTarArgs, GCE_DISK_MEMBER } from '../../../src/tools/tar.js';

describe('cp argv for disk images', () => {
  it('always makes holes of zero runs, with or without sharing blocks', () => {
    expect(buildSparseCopyArgs({ source: '/b/disk.raw', destination: '/b/os.raw', reflink: 'auto' })).toEqual([
      '--reflink=auto', '--sparse=always', '--', '/b/disk.raw', '/b/os.raw',
    ]);
    expect(buildSparseCopyArgs({ source: '-odd', destination: 'x', reflink: 'never' })).toEqual(['--reflink=never', '--sparse=always', '--', '-odd', 'x']);
  });
});

describe('GCE tarball argv', () => {
  const args = buildGceTarArgs({ outputPath: '/b/.os.gce.tar.gz.partial-3', directory: '/b/stage', mtime: 1_700_000_000 });

  it('archives disk.raw alone, from the stage directory', () => {
    expect(GCE_DISK_MEMBER).toBe('disk.raw');
    expect(args.slice(-4)).toEqual(['--directory', '/b/stage', '--', 'disk.raw']);
    expect(args.slice(0, 3)).toEqual(['--create', '--file', '/b/.os.gce.tar.gz.partial-3']);
  });

  it('is an old-GNU sparse tar through gzip -n', () => {
    expect(args).toContain('--format=oldgnu');
    expect(args).toContain('--sparse');
    expect(args).toContain('--use-compress-program=gzip -n');
  });

  it('records no time, owner or mode of the builder', () => {
    expect(args).toEqual(expect.arrayContaining(['--mtime=@1700000000', '--owner=0', '--group=0', '--numeric-owner', '--mode=0644']));
  });

  it('refuses an invalid mtime', () => {
    expect(() => buildGceTarArgs({ outputPath: 'o', directory: 'd', mtime: -1 })).toThrow(/mtime/);
    expect(() => buildGceTarArgs({ outputPath: 'o', directory: 'd', mtime: 1.5 })).toThrow(/mtime/);
  });
});
