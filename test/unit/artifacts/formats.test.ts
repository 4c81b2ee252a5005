import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cidFromContent } from '../../../src/artifacts/formats/vmdk.js';
import { UserError } from '../../../src/errors.js';
import {
  checkFormatTools,
  DISK_FORMAT_NAMES,
  DISK_FORMATS,
  platformCmdline,
  resolveDiskFormats,
} from '../../../src/artifacts/formats/index.js';
import {
  computeVhdChecksum,
  readVhdFooter,
  setVhdFooterIdentity,
  VHD_FOOTER_SIZE,
  vhdTimestamp,
  vhdUniqueId,
} from '../../../src/artifacts/formats/vhd-footer.js';
import { descriptorText, formatCid, readVmdkDescriptorLocation, setVmdkDescriptorCid } from '../../../src/artifacts/formats/vmdk-descriptor.js';

const names = (list: readonly string[]) => resolveDiskFormats(list).map((f) => f.name);

function errorOf(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('resolveDiskFormats', () => {
  it('takes every format by its own name, in the order given', () => {
    expect(names(['raw', 'qcow2', 'vhd', 'vmdk', 'gce', 'ami'])).toEqual(['raw', 'qcow2', 'vhd', 'vmdk', 'gce', 'ami']);
    expect(names(['ami', 'raw'])).toEqual(['ami', 'raw']);
    expect(names([])).toEqual([]);
  });

  it("takes rancher/os2's ros-image-build names and the platforms' names", () => {
    expect(names(['qcow'])).toEqual(['qcow2']);
    expect(names(['azure'])).toEqual(['vhd']);
    expect(names(['vpc'])).toEqual(['vhd']);
    expect(names(['vmware'])).toEqual(['vmdk']);
    expect(names(['gcp'])).toEqual(['gce']);
    expect(names(['aws'])).toEqual(['ami']);
    expect(names(['img'])).toEqual(['raw']);
  });

  it('ignores case and spaces, splits comma lists, removes duplicates keeping the first position', () => {
    expect(names(['QCOW2', ' vhd '])).toEqual(['qcow2', 'vhd']);
    expect(names(['qcow,azure', 'qcow2', 'vhd', 'raw'])).toEqual(['qcow2', 'vhd', 'raw']);
    expect(names(['gce,'])).toEqual(['gce']);
  });

  it('refuses an unknown name, suggesting the nearest and listing the known ones', () => {
    const error = errorOf(() => resolveDiskFormats(['qcow2', 'qcw2']));
    expect(error.message).toBe('unknown disk format "qcw2" (did you mean "qcow2"?)');
    expect(error.hint).toMatch(/^known disk formats: raw, qcow2, vhd, vmdk, ova, gce, ami \(also: .*qcow → qcow2.*azure → vhd/);
    expect(errorOf(() => resolveDiskFormats(['floppy'])).message).toBe('unknown disk format "floppy"');
  });

  it('says where an ISO comes from instead', () => {
    expect(errorOf(() => resolveDiskFormats(['iso'])).message).toMatch(/"iso" is not a disk format: .*ros-build iso/);
  });

  it('does not take Object property names for formats', () => {
    expect(errorOf(() => resolveDiskFormats(['constructor'])).message).toMatch(/unknown disk format "constructor"/);
    expect(errorOf(() => resolveDiskFormats(['toString'])).message).toMatch(/unknown disk format/);
  });

  it('refuses an empty name', () => {
    expect(errorOf(() => resolveDiskFormats([''])).message).toBe('empty disk format name');
  });
});

describe('the format registry', () => {
  it('has one entry per name, each named as its key', () => {
    expect(DISK_FORMAT_NAMES).toEqual(['raw', 'qcow2', 'vhd', 'vmdk', 'ova', 'gce', 'ami']);
    for (const name of DISK_FORMAT_NAMES) expect(DISK_FORMATS[name].name).toBe(name);
  });

  it('gives each a distinct file extension', () => {
    const extensions = DISK_FORMAT_NAMES.map((n) => DISK_FORMATS[n].extension);
    expect(extensions).toEqual(['.raw', '.qcow2', '.vhd', '.vmdk', '.ova', '.gce.tar.gz', '.ami.raw']);
    expect(new Set(extensions).size).toBe(extensions.length);
  });

  it('tells qemu the format (a fixed VHD would be probed as raw) and snapshots the VMDK qemu cannot write', () => {
    expect(DISK_FORMATS.vhd.boot).toEqual({ qemuFormat: 'vpc', snapshot: false });
    expect(DISK_FORMATS.vmdk.boot).toEqual({ qemuFormat: 'vmdk', snapshot: true });
    expect(DISK_FORMATS.qcow2.boot).toEqual({ qemuFormat: 'qcow2', snapshot: false });
    expect(DISK_FORMATS.raw.boot.qemuFormat).toBe('raw');
    expect(DISK_FORMATS.ami.boot.qemuFormat).toBe('raw');
    // Archives: the member that is the disk.
    expect(DISK_FORMATS.gce.boot.member?.test('disk.raw')).toBe(true);
    expect(DISK_FORMATS.ova.boot).toMatchObject({ qemuFormat: 'vmdk', snapshot: true });
    expect(DISK_FORMATS.ova.boot.member?.test('rancheros-dev-disk1.vmdk')).toBe(true);
    expect(DISK_FORMATS.ova.boot.member?.test('rancheros-dev.ovf')).toBe(false);
  });

  it("carries each platform's kernel arguments", () => {
    expect(DISK_FORMATS.vhd.cmdline).toEqual(['rootdelay=300']);
    expect(DISK_FORMATS.ami.cmdline).toEqual(['nvme_core.io_timeout=4294967295']);
    for (const name of ['raw', 'qcow2', 'vmdk', 'gce'] as const) expect(DISK_FORMATS[name].cmdline).toEqual([]);
  });

  it('names a Debian package for every tool', () => {
    for (const name of DISK_FORMAT_NAMES) {
      expect(DISK_FORMATS[name].tools.length).toBeGreaterThan(0);
      for (const tool of DISK_FORMATS[name].tools) expect(tool.package).toMatch(/^[a-z0-9.+-]+$/);
    }
  });
});

describe('platformCmdline', () => {
  it('adds a serial console for cloud platforms only when the spec has none on ttyS0, and names the platform last', () => {
    expect(platformCmdline(DISK_FORMATS.gce, ['tty0', 'ttyS0,115200'])).toEqual(['ros.platform=gce']);
    expect(platformCmdline(DISK_FORMATS.gce, ['tty0'])).toEqual(['console=ttyS0,115200', 'ros.platform=gce']);
    expect(platformCmdline(DISK_FORMATS.vhd, ['ttyS0'])).toEqual(['rootdelay=300', 'ros.platform=vhd']);
    expect(platformCmdline(DISK_FORMATS.vhd, [])).toEqual(['rootdelay=300', 'console=ttyS0,115200', 'ros.platform=vhd']);
    expect(platformCmdline(DISK_FORMATS.ami, ['ttyS1'])).toEqual(['nvme_core.io_timeout=4294967295', 'console=ttyS0,115200', 'ros.platform=ami']);
    expect(platformCmdline(DISK_FORMATS.qcow2, ['tty0'])).toEqual(['ros.platform=qcow2']);
  });
});

describe('checkFormatTools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ros-format-tools-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const stub = (name: string) => {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  };

  it('passes when every command is on PATH', async () => {
    for (const name of ['cp', 'tar', 'gzip', 'qemu-img']) stub(name);
    await expect(checkFormatTools(Object.values(DISK_FORMATS), dir)).resolves.toBeUndefined();
    rmSync(join(dir, 'qemu-img'));
  });

  it('names each missing command, the formats that need it and its package', async () => {
    for (const name of ['cp', 'tar', 'gzip']) stub(name);
    const error = await checkFormatTools(resolveDiskFormats(['raw', 'qcow2', 'vhd', 'vmdk']), dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe('Could not find qemu-img, which is required to make the qcow2, vhd and vmdk disk images; install package qemu-utils');
    expect((error as UserError).hint).toMatch(/apt-get install qemu-utils/);
    const one = await checkFormatTools([DISK_FORMATS.vmdk], dir).catch((e: unknown) => e);
    expect((one as UserError).message).toBe('Could not find qemu-img, which is required to make the vmdk disk image; install package qemu-utils');
  });

  it('lists every missing command at once', async () => {
    const error = await checkFormatTools([DISK_FORMATS.gce, DISK_FORMATS.qcow2], join(dir, 'nothing-here')).catch((e: unknown) => e);
    expect((error as UserError).message.split('\n')).toEqual([
      'Could not find cp, which is required to make the gce disk image; install package coreutils',
      'Could not find tar, which is required to make the gce disk image; install package tar',
      'Could not find gzip, which is required to make the gce disk image; install package gzip',
      'Could not find qemu-img, which is required to make the qcow2 disk image; install package qemu-utils',
    ]);
    expect((error as UserError).hint).toBe('on Debian or Ubuntu: sudo apt-get install coreutils tar gzip qemu-utils (make setup installs them)');
  });

  it('checks nothing for no formats', async () => {
    await expect(checkFormatTools([], '')).resolves.toBeUndefined();
  });
});

/** A fixed-VHD footer as qemu-img 7.2 wrote it for a 1 GiB disk (the zero tail left out). */
const QEMU_FOOTER_HEAD =
  '636f6e65637469780000000200010000ffffffffffffffff32a22f1d71656d32000500035769326b0000000040000000' +
  '0000000040000000ffff10ff00000002ffffe664349e09637cb2414ca983a27c3ce71c38';
const qemuFooter = () => {
  const footer = Buffer.alloc(VHD_FOOTER_SIZE);
  Buffer.from(QEMU_FOOTER_HEAD, 'hex').copy(footer);
  return footer;
};

describe('VHD footer', () => {
  it('computes the checksum qemu-img wrote (one’s complement of the byte sum without the checksum field)', () => {
    const footer = qemuFooter();
    expect(readVhdFooter(footer).checksum).toBe(0xffffe664);
    expect(computeVhdChecksum(footer)).toBe(0xffffe664);
  });

  it('reads the fields of a fixed 1 GiB VHD', () => {
    const fields = readVhdFooter(qemuFooter());
    expect(fields.cookie).toBe('conectix');
    expect(fields.currentSize).toBe(1n << 30n);
    expect(fields.diskType).toBe(2);
  });

  it('sets time and unique id, keeps every other byte and the cookie, and makes the checksum valid', () => {
    const before = qemuFooter();
    const uniqueId = vhdUniqueId(Buffer.alloc(32, 0xab));
    const after = setVhdFooterIdentity(before, { epochSeconds: 1_700_000_000, uniqueId });
    const fields = readVhdFooter(after);
    expect(fields.cookie).toBe('conectix');
    expect(fields.timestamp).toBe(1_700_000_000 - 946_684_800);
    expect(fields.uniqueId.equals(uniqueId)).toBe(true);
    expect(fields.checksum).toBe(computeVhdChecksum(after));
    const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
    expect(changed.every((i) => (i >= 24 && i < 28) || (i >= 64 && i < 84))).toBe(true);
    expect(before.toString('hex', 0, 40)).toBe(QEMU_FOOTER_HEAD.slice(0, 80)); // input untouched
  });

  it('gives the same footer for the same identity, whatever qemu-img stamped', () => {
    const identity = { epochSeconds: 1_700_000_000, uniqueId: vhdUniqueId(Buffer.alloc(16, 7)) };
    const other = qemuFooter();
    other.writeUInt32BE(0x12345678, 24);
    other.fill(0x5a, 68, 84);
    other.writeUInt32BE(computeVhdChecksum(other), 64);
    expect(setVhdFooterIdentity(other, identity).equals(setVhdFooterIdentity(qemuFooter(), identity))).toBe(true);
  });

  it('refuses a footer that is not an intact fixed VHD', () => {
    const identity = { epochSeconds: 0, uniqueId: Buffer.alloc(16) };
    const notVhd = qemuFooter();
    notVhd.write('CONECTIX', 0, 'latin1');
    notVhd.writeUInt32BE(computeVhdChecksum(notVhd), 64);
    expect(() => setVhdFooterIdentity(notVhd, identity)).toThrow(/cookie/);
    const damaged = qemuFooter();
    damaged[100] = 1;
    expect(() => setVhdFooterIdentity(damaged, identity)).toThrow(/checksum/);
    const dynamic = qemuFooter();
    dynamic.writeUInt32BE(3, 60);
    dynamic.writeUInt32BE(computeVhdChecksum(dynamic), 64);
    expect(() => setVhdFooterIdentity(dynamic, identity)).toThrow(/fixed/);
    expect(() => setVhdFooterIdentity(Buffer.alloc(511), identity)).toThrow(/512/);
  });

  it('counts VHD time from 2000, clamped to the 32-bit field', () => {
    expect(vhdTimestamp(946_684_800)).toBe(0);
    expect(vhdTimestamp(0)).toBe(0);
    expect(vhdTimestamp(946_684_801)).toBe(1);
    expect(vhdTimestamp(946_684_800 + 2 ** 32 + 5)).toBe(0xffffffff);
  });

  it('marks a derived unique id as a version 8 (custom) RFC 9562 UUID', () => {
    const id = vhdUniqueId(Buffer.alloc(16, 0xff));
    expect(id[6]! >> 4).toBe(8);
    expect(id[8]! >> 6).toBe(0b10);
  });
});

/** A streamOptimized VMDK start: the header, then a descriptor in sectors 1..20 as qemu-img lays it out. */
function vmdkStart(descriptor: string): Buffer {
  const file = Buffer.alloc(21 * 512);
  file.write('KDMV', 0, 'latin1');
  file.writeUInt32LE(3, 4);
  file.writeBigUInt64LE(2097152n, 12);
  file.writeBigUInt64LE(128n, 20);
  file.writeBigUInt64LE(1n, 28);
  file.writeBigUInt64LE(20n, 36);
  file.write(descriptor, 512, 'latin1');
  return file;
}
const DESCRIPTOR =
  '# Disk DescriptorFile\nversion=1\nCID=3188a262\nparentCID=ffffffff\ncreateType="streamOptimized"\n\n# Extent description\nRW 2097152 SPARSE "os.vmdk"\n';

describe('VMDK descriptor', () => {
  it('finds the descriptor from the extent header', () => {
    expect(readVmdkDescriptorLocation(vmdkStart(DESCRIPTOR))).toEqual({ offset: 512, size: 20 * 512 });
    expect(() => readVmdkDescriptorLocation(Buffer.alloc(512))).toThrow(/KDMV/);
  });

  it('replaces the CID alone, keeping the length of the region', () => {
    const region = vmdkStart(DESCRIPTOR).subarray(512);
    const patched = setVmdkDescriptorCid(region, 0x0badcafe);
    expect(patched.length).toBe(region.length);
    expect(descriptorText(patched)).toBe(DESCRIPTOR.replace('CID=3188a262', 'CID=0badcafe'));
    expect(descriptorText(patched)).toContain('parentCID=ffffffff');
  });

  it('refuses a descriptor without exactly one CID of 1 to 8 digits', () => {
    const region = (text: string) => vmdkStart(text).subarray(512);
    expect(() => setVmdkDescriptorCid(region('version=1\n'), 1)).toThrow(/found none/);
    // qemu prints its random CID without leading zeros (one time in 16 it is shorter): ours is always 8 digits,
    // so the result does not depend on qemu's draw; the text after it moves, the region keeps its size.
    const short = setVmdkDescriptorCid(region('CID=f2be0f7\nparentCID=ffffffff\n'), 0x0badcafe);
    expect(descriptorText(short)).toBe('CID=0badcafe\nparentCID=ffffffff\n');
    expect(short).toEqual(setVmdkDescriptorCid(region('CID=3188a262\nparentCID=ffffffff\n'), 0x0badcafe));
    expect(() => setVmdkDescriptorCid(region('CID=123456789\n'), 1)).toThrow(/1 to 8 hex digits/);
    expect(() => setVmdkDescriptorCid(region('CID=12345678\nCID=12345678\n'), 1)).toThrow(/one "CID=" line/);
  });

  it('formats a CID as 8 lowercase hex digits and keeps derived CIDs off the no-parent value', () => {
    expect(formatCid(0xabc)).toBe('00000abc');
    expect(() => formatCid(2 ** 32)).toThrow();
    const cid = cidFromContent(Buffer.alloc(32, 1));
    expect(cid).toBe(cidFromContent(Buffer.alloc(32, 1)));
    expect(cid).not.toBe(cidFromContent(Buffer.alloc(32, 2)));
    expect(cid).not.toBe(0xffffffff);
  });
});
