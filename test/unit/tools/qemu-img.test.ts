import { describe, expect, it } from 'vitest';
import {
  buildCheckArgs,
  buildCompareArgs,
  buildConvertArgs,
  buildInfoArgs,
  buildQcow2ConvertArgs,
  buildVhdConvertArgs,
  buildVmdkConvertArgs,
} from '../../../src/tools/qemu-img.js';

describe('qemu-img convert argv', () => {
  it('qcow2: compressed, compat 1.1, the raw input named as raw, no out-of-order writes', () => {
    const args = buildQcow2ConvertArgs('/b/disk.raw', '/b/.os.qcow2.partial-7');
    expect(args).toEqual(['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-c', '-o', 'compat=1.1', '/b/disk.raw', '/b/.os.qcow2.partial-7']);
    expect(args).not.toContain('-W');
  });

  it('vhd: a fixed vpc image whose virtual size is exactly the raw size', () => {
    expect(buildVhdConvertArgs('/b/disk.raw', '/b/os.vhd')).toEqual([
      'convert', '-q', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', '/b/disk.raw', '/b/os.vhd',
    ]);
  });

  it('vmdk: streamOptimized on an LSI Logic adapter, hardware version 6', () => {
    expect(buildVmdkConvertArgs('/b/disk.raw', '/b/os.vmdk')).toEqual([
      'convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic,compat6=on', '/b/disk.raw', '/b/os.vmdk',
    ]);
  });

  it('leaves out -c and -o when not asked for', () => {
    expect(buildConvertArgs({ inputPath: 'in', outputPath: 'out', outputFormat: 'raw' })).toEqual(['convert', '-q', '-f', 'raw', '-O', 'raw', 'in', 'out']);
  });

  it('refuses creation options that -o would split or misread', () => {
    expect(() => buildConvertArgs({ inputPath: 'i', outputPath: 'o', outputFormat: 'qcow2', createOptions: [['backing_file', 'a,b']] })).toThrow(/comma/);
    expect(() => buildConvertArgs({ inputPath: 'i', outputPath: 'o', outputFormat: 'qcow2', createOptions: [['a=b', 'c']] })).toThrow(/option name/);
  });
});

describe('qemu-img read-back argv', () => {
  it('info as JSON with the format named, never probed', () => {
    expect(buildInfoArgs('/b/os.vhd', 'vpc')).toEqual(['info', '--output=json', '-f', 'vpc', '/b/os.vhd']);
  });

  it('check', () => {
    expect(buildCheckArgs('/b/os.qcow2', 'qcow2')).toEqual(['check', '-q', '-f', 'qcow2', '/b/os.qcow2']);
  });

  it('compare names both formats', () => {
    expect(buildCompareArgs({ path: '/b/disk.raw', format: 'raw' }, { path: '/b/os.vhd', format: 'vpc' })).toEqual([
      'compare', '-q', '-f', 'raw', '-F', 'vpc', '/b/disk.raw', '/b/os.vhd',
    ]);
  });
});
