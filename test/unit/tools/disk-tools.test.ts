import { describe, expect, it } from 'vitest';
import { planDiskLayout } from '../../../src/disk/layout.js';
import { buildMke2fsArgs } from '../../../src/tools/mke2fs.js';
import { buildSgdiskArgs } from '../../../src/tools/sgdisk.js';

describe('sgdisk', () => {
  it('writes every planned partition with its sectors, type, name and GUID, and the disk GUID', () => {
    const layout = planDiskLayout({ imageBytes: 2 ** 28, seed: 's' });
    const args = buildSgdiskArgs(layout, 'disk.raw');
    expect(args.slice(0, 3)).toEqual(['--zap-all', '--clear', `--disk-guid=${layout.diskGuid}`]);
    expect(args.at(-1)).toBe('disk.raw');
    const state = layout.partitions[4]!;
    expect(args).toContain(`--new=5:${state.firstSector}:${state.lastSector}`);
    expect(args).toContain('--change-name=5:COS_STATE');
    expect(args).toContain(`--partition-guid=5:${state.guid}`);
    expect(args).toContain('--typecode=1:21686148-6449-6E6F-744E-656564454649');
  });
});

describe('mke2fs', () => {
  it('makes a labelled ext4 GRUB can read, with a fixed UUID and hash seed, from a directory', () => {
    expect(buildMke2fsArgs({ imagePath: 'p.img', sizeBytes: 64 * 2 ** 20, label: 'COS_OEM', uuid: 'u', fromDir: 'stage' })).toEqual([
      '-t', 'ext4', '-q', '-F', '-b', '4096', '-L', 'COS_OEM', '-U', 'u', '-E', 'hash_seed=u,root_owner=0:0', '-O', '^orphan_file', '-m', '0', '-d', 'stage', 'p.img', '65536k',
    ]);
  });

  it('keeps the root reserve only where asked, and needs whole KiB', () => {
    expect(buildMke2fsArgs({ imagePath: 'p', sizeBytes: 2048, label: 'L', uuid: 'u', reserveForRoot: true })).toContain('5');
    expect(() => buildMke2fsArgs({ imagePath: 'p', sizeBytes: 1000, label: 'L', uuid: 'u' })).toThrow(/whole KiB/);
  });
});
