/**
 * Converts a real raw GPT disk (1 GiB, sparse, two partitions, a few MiB of
 * recognisable data) into every disk format with the host's qemu-img, cp,
 * tar and gzip, and checks what a user would: qemu-img reads each result
 * back as the right format and size with the same guest-visible bytes; the
 * VHD is a whole MiB with its footer; the GCE tarball holds exactly disk.raw;
 * two conversions at different times are byte-identical; a failed
 * conversion leaves nothing behind. Booting the files is the e2e tests' job.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_FORMATS, type DiskFormatName } from '../../src/artifacts/formats/index.js';
import { UserError } from '../../src/errors.js';
import { CommandError } from '../../src/exec/run.js';
import { buildCheckArgs, buildCompareArgs, buildInfoArgs, type QemuImageFormat } from '../../src/tools/qemu-img.js';
import { locateTool } from '../../src/exec/find-tool.js';

const TOOLS = ['qemu-img', 'sgdisk', 'cp', 'tar', 'gzip', 'xmllint'];
const missing = (await Promise.all(TOOLS.map(async (tool) => ((await locateTool(tool)) ? [] : [tool])))).flat();
// make setup installs them: a missing tool is a failure, never a skipped suite.
if (missing.length) throw new Error(`formats integration test: missing ${missing.join(', ')} (run make setup, or install qemu-utils, gdisk)`);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const EPOCH = 1_700_000_000;
const ALL: DiskFormatName[] = ['raw', 'qcow2', 'vhd', 'vmdk', 'ova', 'gce', 'ami'];

/** sha256 of a small file (the compressed formats); the 1 GiB ones are compared with qemu-img, which skips holes. */
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function qemuInfo(path: string, format: QemuImageFormat): Promise<{ format: string; 'virtual-size': number }> {
  const { stdout } = await execa('qemu-img', buildInfoArgs(path, format));
  return JSON.parse(stdout) as { format: string; 'virtual-size': number };
}

async function sameGuestBytes(path: string, format: QemuImageFormat, rawPath: string, rawFormat: QemuImageFormat = 'raw'): Promise<boolean> {
  const result = await execa('qemu-img', buildCompareArgs({ path: rawPath, format: rawFormat }, { path, format }), { reject: false });
  return result.exitCode === 0;
}

/** The last 512 bytes of a file, without reading the rest (reading 1 GiB of holes costs seconds here). */
function readTail(path: string): Buffer {
  const { size } = statSync(path);
  const tail = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, tail, 0, 512, size - 512);
  } finally {
    closeSync(fd);
  }
  return tail;
}

/**
 * Whether two files of a format are the same bytes. A raw file is its guest
 * bytes, and a fixed VHD its guest bytes plus the footer, so for those equal
 * sizes, equal guest bytes (qemu-img compare, which skips holes) and equal
 * footers are equal files; the compressed formats are small enough to hash.
 */
async function identicalFiles(a: string, b: string, name: DiskFormatName): Promise<boolean> {
  if (statSync(a).size !== statSync(b).size) return false;
  if (name === 'raw' || name === 'ami') return sameGuestBytes(a, 'raw', b);
  if (name === 'vhd') return readTail(a).equals(readTail(b)) && (await sameGuestBytes(a, 'vpc', b, 'vpc'));
  return sha256(a) === sha256(b);
}

/** A GPT disk like the disk builder's: a 64 MiB ESP and a root partition, holes elsewhere. */
async function makeRawDisk(path: string): Promise<void> {
  writeFileSync(path, '');
  await execa('truncate', ['-s', String(GiB), path]);
  await execa('sgdisk', ['-o', '-n', '1:2048:+64M', '-t', '1:ef00', '-c', '1:EFI', '-n', '2:0:+512M', '-t', '2:8300', '-c', '2:ROOT', path]);
  const fd = openSync(path, 'r+');
  try {
    // Incompressible bytes in the ESP, text in the root partition, a marker near the end of partition 2.
    const random = Buffer.alloc(3 * MiB);
    for (let i = 0; i < random.length; i += 32) createHash('sha256').update(String(i)).digest().copy(random, i);
    writeSync(fd, random, 0, random.length, 2 * MiB);
    writeSync(fd, Buffer.from('ros-build disk format test\n'.repeat(80_000)), 0, undefined, 100 * MiB);
    writeSync(fd, Buffer.from('end of root partition'), 0, undefined, 577 * MiB - 4096);
  } finally {
    closeSync(fd);
  }
}

describe('disk formats', () => {
  let dir: string;
  let rawPath: string;
  const first: Partial<Record<DiskFormatName, string>> = {};
  const second: Partial<Record<DiskFormatName, string>> = {};
  const logPath = () => join(dir, 'formats.log');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ros-formats-'));
    rawPath = join(dir, 'disk.raw');
    await makeRawDisk(rawPath);
    for (const [round, outputs] of [
      ['a', first],
      ['b', second],
    ] as const) {
      mkdirSync(join(dir, round));
      for (const name of ALL) {
        const outPath = join(dir, round, `os${DISK_FORMATS[name].extension}`);
        await DISK_FORMATS[name].convert({ rawPath, outPath, epoch: EPOCH, logPath: logPath() });
        outputs[name] = outPath;
      }
      // Every clock-derived field (VHD time, tar/gzip times) would now differ between rounds.
      if (round === 'a') await sleep(1100);
    }
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves only the finished files in the output directory', () => {
    expect(readdirSync(join(dir, 'a')).sort()).toEqual(['os.ami.raw', 'os.gce.tar.gz', 'os.ova', 'os.qcow2', 'os.raw', 'os.vhd', 'os.vmdk']);
    expect(readFileSync(logPath(), 'utf8')).toMatch(/^\$ qemu-img convert -q -f raw -O qcow2 -c/m);
  });

  it.each(['raw', 'ami'] as const)('%s is a sparse copy of the disk', async (name) => {
    const out = first[name]!;
    expect(statSync(out).size).toBe(GiB);
    expect(await identicalFiles(out, rawPath, 'raw')).toBe(true);
    expect(statSync(out).blocks * 512).toBeLessThan(64 * MiB);
  });

  it('qcow2: qemu-img sees a clean 1 GiB qcow2 (compat 1.1) with the same bytes, much smaller than the disk', async () => {
    const out = first.qcow2!;
    const info = await qemuInfo(out, 'qcow2');
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(GiB);
    expect((info as unknown as { 'format-specific': { data: { compat: string } } })['format-specific'].data.compat).toBe('1.1');
    await execa('qemu-img', buildCheckArgs(out, 'qcow2'));
    expect(await sameGuestBytes(out, 'qcow2', rawPath)).toBe(true);
    expect(statSync(out).size).toBeLessThan(8 * MiB);
  });

  it('vhd: a fixed VHD of the whole disk plus a conectix footer, read back by qemu as vpc with the same bytes', async () => {
    const out = first.vhd!;
    expect(statSync(out).size).toBe(GiB + 512);
    const footer = readTail(out);
    expect(footer.toString('latin1', 0, 8)).toBe('conectix');
    expect(footer.readUInt32BE(60)).toBe(2); // fixed
    expect(Number(footer.readBigUInt64BE(48)) % MiB).toBe(0); // Azure: a whole MiB
    expect(footer.readUInt32BE(24)).toBe(EPOCH - 946_684_800);
    let sum = 0;
    footer.forEach((byte, i) => {
      if (i < 64 || i >= 68) sum += byte;
    });
    expect(footer.readUInt32BE(64)).toBe(~sum >>> 0);
    const info = await qemuInfo(out, 'vpc');
    expect(info.format).toBe('vpc');
    expect(info['virtual-size']).toBe(GiB);
    expect(await sameGuestBytes(out, 'vpc', rawPath)).toBe(true);
  });

  it('vmdk: a clean streamOptimized VMDK with the same bytes that names its own final file', async () => {
    const out = first.vmdk!;
    const info = await qemuInfo(out, 'vmdk');
    expect(info.format).toBe('vmdk');
    expect(info['virtual-size']).toBe(GiB);
    await execa('qemu-img', buildCheckArgs(out, 'vmdk'));
    expect(await sameGuestBytes(out, 'vmdk', rawPath)).toBe(true);
    const descriptor = readFileSync(out).toString('latin1', 512, 512 * 21);
    expect(descriptor).toContain('createType="streamOptimized"');
    expect(descriptor).toContain('ddb.adapterType = "lsilogic"');
    expect(descriptor).toContain('RW 2097152 SPARSE "os.vmdk"');
    expect(descriptor).toMatch(/^CID=[0-9a-f]{8}$/m);
  });

  it('gce: a gzip tar holding exactly disk.raw, a whole GiB, whose content is the disk', async () => {
    const out = first.gce!;
    const listing = (await execa('tar', ['--list', '--verbose', '--numeric-owner', '--file', out])).stdout.trim().split('\n');
    expect(listing).toHaveLength(1);
    expect(listing[0]).toMatch(/^-rw-r--r-- 0\/0 +1073741824 2023-11-14 \d\d:\d\d disk\.raw$/);
    const gz = readFileSync(out);
    expect(gz.subarray(0, 3).toString('hex')).toBe('1f8b08');
    expect(gz[3]! & 0x08).toBe(0); // no file name stored
    expect(gz.readUInt32LE(4)).toBe(0); // no time stored
    const extracted = join(dir, 'extracted');
    mkdirSync(extracted);
    await execa('tar', ['--extract', '--file', out, '--directory', extracted]);
    expect(readdirSync(extracted)).toEqual(['disk.raw']);
    expect(statSync(join(extracted, 'disk.raw')).size).toBe(GiB);
    expect(await identicalFiles(join(extracted, 'disk.raw'), rawPath, 'raw')).toBe(true);
  });

  it('ova: the descriptor, the streamOptimized disk and the manifest, in that order, with matching digests', async () => {
    const out = first.ova!;
    const listing = (await execa('tar', ['--list', '--verbose', '--numeric-owner', '--file', out])).stdout.trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).at(-1))).toEqual(['os.ovf', 'os-disk1.vmdk', 'os.mf']);
    expect(listing.every((line) => line.startsWith('-rw-r--r-- 0/0 '))).toBe(true);
    const extracted = join(dir, 'ova');
    mkdirSync(extracted);
    await execa('tar', ['--extract', '--file', out, '--directory', extracted]);
    const digest = (name: string) => sha256(join(extracted, name));
    expect(readFileSync(join(extracted, 'os.mf'), 'utf8')).toBe(`SHA256(os.ovf)= ${digest('os.ovf')}\nSHA256(os-disk1.vmdk)= ${digest('os-disk1.vmdk')}\n`);
    // The disk is the vmdk format's, naming its member; the descriptor gives its size and the disk's capacity.
    expect(await sameGuestBytes(join(extracted, 'os-disk1.vmdk'), 'vmdk', rawPath)).toBe(true);
    expect(readFileSync(join(extracted, 'os-disk1.vmdk')).toString('latin1', 512, 512 * 21)).toContain('SPARSE "os-disk1.vmdk"');
    await execa('xmllint', ['--noout', join(extracted, 'os.ovf')]);
    const ovf = readFileSync(join(extracted, 'os.ovf'), 'utf8');
    expect(ovf).toContain(`ovf:href="os-disk1.vmdk" ovf:size="${statSync(join(extracted, 'os-disk1.vmdk')).size}"`);
    expect(ovf).toContain(`ovf:capacity="${GiB}" ovf:capacityAllocationUnits="byte"`);
    expect(ovf).toContain('<vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType>');
  });

  it.each(ALL)('%s is byte-identical when converted again later', async (name) => {
    expect(await identicalFiles(first[name]!, second[name]!, name)).toBe(true);
  });

  it('the comparison used for the large files does see a difference in the VHD footer or the data', async () => {
    const changed = join(dir, 'changed.vhd');
    await execa('cp', ['--sparse=always', first.vhd!, changed]);
    const fd = openSync(changed, 'r+');
    writeSync(fd, Buffer.from([1]), 0, 1, GiB + 30); // footer creator application
    closeSync(fd);
    expect(await identicalFiles(first.vhd!, changed, 'vhd')).toBe(false);
    const moved = join(dir, 'changed.raw');
    await execa('cp', ['--sparse=always', rawPath, moved]);
    const fd2 = openSync(moved, 'r+');
    writeSync(fd2, Buffer.from('x'), 0, 1, 900 * MiB);
    closeSync(fd2);
    expect(await identicalFiles(rawPath, moved, 'raw')).toBe(false);
    rmSync(changed);
    rmSync(moved);
  });

  describe('a failed conversion', () => {
    let stubs: string;
    let savedPath: string | undefined;

    beforeAll(() => {
      stubs = mkdtempSync(join(tmpdir(), 'ros-formats-stubs-'));
      // Each stand-in writes part of its output, then fails as a real tool would on a full disk.
      for (const tool of ['qemu-img', 'tar']) {
        const stub = join(stubs, tool);
        writeFileSync(stub, '#!/bin/sh\nfor last; do :; done\ncase "$*" in *--file*) last=$3;; esac\nhead -c 65536 /dev/zero > "$last"\necho "$0: No space left on device" >&2\nexit 1\n');
        chmodSync(stub, 0o755);
      }
    });

    afterAll(() => {
      if (savedPath !== undefined) process.env.PATH = savedPath;
      rmSync(stubs, { recursive: true, force: true });
    });

    it.each(ALL)('%s: a directory as input is refused before anything is written', async (name) => {
      const outDir = join(dir, `bad-input-${name}`);
      const error = await DISK_FORMATS[name].convert({ rawPath: dir, outPath: join(outDir, `os${DISK_FORMATS[name].extension}`), epoch: EPOCH }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(/is not a regular file/);
      expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
    });

    it.each(['qcow2', 'vhd', 'vmdk', 'gce'] as const)('%s: a tool that fails mid-write leaves the earlier output and no partial files', async (name) => {
      const outDir = join(dir, `failing-${name}`);
      mkdirSync(outDir);
      const outPath = join(outDir, `os${DISK_FORMATS[name].extension}`);
      writeFileSync(outPath, 'the previous build\n');
      savedPath = process.env.PATH;
      process.env.PATH = `${stubs}${delimiter}${savedPath}`;
      try {
        const error = await DISK_FORMATS[name].convert({ rawPath, outPath, epoch: EPOCH }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CommandError);
        expect((error as Error).message).toMatch(/failed with exit code 1: (qemu-img|tar) .*\n.*No space left on device/);
      } finally {
        process.env.PATH = savedPath;
        savedPath = undefined;
      }
      expect(readdirSync(outDir)).toEqual([`os${DISK_FORMATS[name].extension}`]);
      expect(readFileSync(outPath, 'utf8')).toBe('the previous build\n');
    });

    it('a disk that is not a whole GiB is refused with the reason', async () => {
      const odd = join(dir, 'odd.raw');
      writeFileSync(odd, Buffer.alloc(MiB));
      const error = await DISK_FORMATS.qcow2.convert({ rawPath: odd, outPath: join(dir, 'odd.qcow2'), epoch: EPOCH }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toBe(`raw disk ${odd} is 1048576 bytes, not a whole number of GiB`);
      expect(existsSync(join(dir, 'odd.qcow2'))).toBe(false);
    });
  });
});
