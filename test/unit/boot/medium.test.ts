import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { assertFormatMatches, defaultLogPath, inferBootMedium, sniffDiskFormat, unpackBootDisk } from '../../../src/boot/medium.js';

describe('inferBootMedium', () => {
  it('reads the kind and format from the extension', () => {
    expect(inferBootMedium('/o/ros.iso')).toEqual({ kind: 'iso' });
    expect(inferBootMedium('/o/ros.ISO')).toEqual({ kind: 'iso' });
    expect(inferBootMedium('/o/ros.qcow2')).toEqual({ kind: 'disk', format: 'qcow2', bus: 'virtio', snapshot: false });
    expect(inferBootMedium('/o/ros.img')).toEqual({ kind: 'disk', format: 'raw', bus: 'virtio', snapshot: false });
    expect(inferBootMedium('/o/ros.raw')).toEqual({ kind: 'disk', format: 'raw', bus: 'virtio', snapshot: false });
    expect(inferBootMedium('/o/ros.vhd')).toEqual({ kind: 'disk', format: 'vpc', bus: 'virtio', snapshot: false });
  });

  it('always boots VMDK (streamOptimized, which qemu cannot write) and an ISO booted as a disk in snapshot mode', () => {
    expect(inferBootMedium('/o/ros.vmdk')).toEqual({ kind: 'disk', format: 'vmdk', bus: 'virtio', snapshot: true });
    expect(inferBootMedium('/o/ros.iso', { asDisk: true })).toEqual({ kind: 'disk', format: 'raw', bus: 'virtio', snapshot: true });
  });

  it('lets the caller override format, bus and snapshot mode', () => {
    expect(inferBootMedium('/o/ros.bin', { kind: 'disk', format: 'qcow2' })).toMatchObject({ kind: 'disk', format: 'qcow2' });
    expect(inferBootMedium('/o/ros.bin', { format: 'vpc' })).toMatchObject({ kind: 'disk', format: 'vpc' });
    expect(inferBootMedium('/o/ros.bin', { kind: 'iso' })).toEqual({ kind: 'iso' });
    expect(inferBootMedium('/o/ros.raw', { snapshot: true, bus: 'nvme' })).toEqual({ kind: 'disk', format: 'raw', bus: 'nvme', snapshot: true });
  });

  it('knows every format of the disk registry by its extension and by its names, archives with the member to unpack', () => {
    expect(inferBootMedium('/o/ros.ami.raw')).toEqual({ kind: 'disk', format: 'raw', bus: 'virtio', snapshot: false });
    expect(inferBootMedium('/o/ros.gce.tar.gz')).toEqual({ kind: 'disk', format: 'raw', bus: 'virtio', snapshot: false, member: /^disk\.raw$/ });
    expect(inferBootMedium('/o/ros.ova')).toEqual({ kind: 'disk', format: 'vmdk', bus: 'virtio', snapshot: true, member: /\.vmdk$/ });
    expect(inferBootMedium('/o/ros.bin', { format: 'vhd' })).toMatchObject({ kind: 'disk', format: 'vpc' });
    expect(inferBootMedium('/o/ros.bin', { format: 'azure' })).toMatchObject({ kind: 'disk', format: 'vpc' });
    expect(() => inferBootMedium('/o/ros.bin', { format: 'vhdx' })).toThrow(/unknown disk format "vhdx"/);
  });

  it('refuses to guess for other names, listing the extensions it knows', () => {
    expect(() => inferBootMedium('/o/ros.bin')).toThrow(UserError);
    try {
      inferBootMedium('/o/ros.bin');
    } catch (error) {
      expect((error as UserError).hint).toMatch(/\.ova.*\.gce\.tar\.gz/);
    }
  });
});

describe('unpackBootDisk', () => {
  it('takes the disk out of an archive into the scratch directory, and leaves other media where they are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unpack-test-'));
    try {
      await writeFile(join(dir, 'x.ovf'), '<Envelope/>');
      await writeFile(join(dir, 'x-disk1.vmdk'), 'KDMV');
      await execa('tar', ['-cf', join(dir, 'x.ova'), '-C', dir, 'x.ovf', 'x-disk1.vmdk']);
      const scratch = await mkdtemp(join(dir, 'scratch-'));
      const disk = await unpackBootDisk(join(dir, 'x.ova'), inferBootMedium(join(dir, 'x.ova')), scratch);
      expect(disk).toBe(join(scratch, 'x-disk1.vmdk'));
      expect(await readFile(disk, 'utf8')).toBe('KDMV');
      expect(await unpackBootDisk('/o/ros.qcow2', inferBootMedium('/o/ros.qcow2'), scratch)).toBe('/o/ros.qcow2');
      await writeFile(join(dir, 'empty.ova'), Buffer.alloc(10240));
      await expect(unpackBootDisk(join(dir, 'empty.ova'), inferBootMedium(join(dir, 'empty.ova')), scratch)).rejects.toThrow(/holds no disk/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('defaultLogPath', () => {
  it('names the firmware, and marks an ISO booted as a disk', () => {
    expect(defaultLogPath('/o/ros.iso', 'uefi', { kind: 'iso' })).toBe('/o/ros.iso.uefi.serial.log');
    expect(defaultLogPath('/o/ros.iso', 'bios', inferBootMedium('/o/ros.iso', { asDisk: true }))).toBe('/o/ros.iso.bios-disk.serial.log');
    expect(defaultLogPath('/o/ros.img', 'bios', inferBootMedium('/o/ros.img'))).toBe('/o/ros.img.bios.serial.log');
  });
});

describe('sniffDiskFormat and assertFormatMatches', () => {
  let dir: string;
  const files: Record<string, Buffer> = {
    'q.qcow2': Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(1024)]),
    'v.vmdk': Buffer.concat([Buffer.from('KDMV'), Buffer.alloc(1024)]),
    'dynamic.vhd': Buffer.concat([Buffer.from('conectix'), Buffer.alloc(1024)]),
    'fixed.vhd': Buffer.concat([Buffer.alloc(4096), Buffer.from('conectix'), Buffer.alloc(504)]),
    'disk.raw': Buffer.alloc(4096),
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medium-test-'));
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
    await writeFile(join(dir, 'misnamed.img'), files['q.qcow2']!);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recognises each container format by its magic or footer, and nothing in a raw disk', async () => {
    expect(await sniffDiskFormat(join(dir, 'q.qcow2'))).toBe('qcow2');
    expect(await sniffDiskFormat(join(dir, 'v.vmdk'))).toBe('vmdk');
    expect(await sniffDiskFormat(join(dir, 'dynamic.vhd'))).toBe('vpc');
    expect(await sniffDiskFormat(join(dir, 'fixed.vhd'))).toBe('vpc');
    expect(await sniffDiskFormat(join(dir, 'disk.raw'))).toBeUndefined();
  });

  it('refuses a disk whose name says one format and whose bytes another, naming the fix', async () => {
    const path = join(dir, 'misnamed.img');
    const error = await assertFormatMatches(path, inferBootMedium(path), {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(`${path} is a qcow2 image by its contents, but its name says raw`);
    expect((error as UserError).hint).toMatch(/--format qcow2/);
  });

  it('trusts a format the caller named, and accepts matching files', async () => {
    const path = join(dir, 'misnamed.img');
    await expect(assertFormatMatches(path, inferBootMedium(path, { format: 'raw' }), { format: 'raw' })).resolves.toBeUndefined();
    const fixed = join(dir, 'fixed.vhd');
    await expect(assertFormatMatches(fixed, inferBootMedium(fixed), {})).resolves.toBeUndefined();
  });
});
