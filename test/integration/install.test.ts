/**
 * `ros install`'s real write path on a loop device backed by a sparse file:
 * wipefs, sgdisk, partx, mkfs.ext4, mkfs.vfat + mtools, mount and the boot
 * code written through the block device, as on a node. The node's root is a
 * temporary directory whose dev, sys and proc are this machine's (symlinks),
 * and whose live medium is small fakes: a tiny squashfs, stand-in kernel and
 * initrd, and stand-in GRUB pieces (the core image patched as ros-build does).
 * Needs root (loop devices, mounts); skipped with the reason otherwise.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patchCoreImage } from '../../src/disk/bios-boot.js';
import { UserError } from '../../src/errors.js';
import { installSystem, type InstallIo } from '../../src/node/install/index.js';
import { FRESH_GRUBENV } from '../../src/node/install/write.js';
import { createSystem } from '../../src/node/system.js';
import { scratchDirs } from '../helpers/scratch.js';
import { locateTool } from '../../src/exec/find-tool.js';

const TOOLS = ['losetup', 'sgdisk', 'wipefs', 'partx', 'blkid', 'mkfs.ext4', 'mkfs.vfat', 'mmd', 'mcopy', 'mtype', 'mksquashfs', 'mount', 'umount'];
const notRoot = process.getuid?.() !== 0;
const missing = (await Promise.all(TOOLS.map(async (tool) => ((await locateTool(tool)) ? [] : [tool])))).flat();
// make test runs this as root and make setup installs the tools: either missing is a failure, never a skipped suite.
if (notRoot) throw new Error('install integration test: needs root for loop devices and mounts; run as root or through sudo, as make test-integration does');
if (missing.length > 0) throw new Error(`install integration test: missing ${missing.join(', ')} (run make setup, or install util-linux, gdisk, e2fsprogs, dosfstools, mtools, squashfs-tools)`);

const MiB = 2 ** 20;
const scratch = scratchDirs();
const loops: string[] = [];
const mounts: string[] = [];

/** A sparse file attached to a loop device with partition scanning; detached in afterAll whatever happened. */
async function attachLoop(dir: string, name: string, bytes: number): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, '');
  await execa('truncate', ['-s', String(bytes), file]);
  const { stdout } = await execa('losetup', ['--find', '--show', '--partscan', file]);
  loops.push(stdout.trim());
  return stdout.trim();
}

async function mountReadOnly(device: string, dir: string, type = 'ext4'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await execa('mount', ['-t', type, '-o', 'ro', device, dir]);
  mounts.push(dir);
}

async function unmount(dir: string): Promise<void> {
  await execa('umount', [dir], { reject: false });
  mounts.splice(mounts.indexOf(dir), 1);
}

/** Output captured, no terminal: what the unit's run looks like. */
function captureIo(): InstallIo & { text: () => string } {
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { input: new PassThrough(), output, interactive: false, text: () => text };
}

/** One partition's device, from the kernel's own list: loop0p3 here, vda3 or nvme0n1p3 on a node. */
function partition(loop: string, number: number): string {
  return `${loop}p${number}`;
}

async function blkid(device: string): Promise<Record<string, string>> {
  const { stdout } = await execa('blkid', ['-p', '-o', 'export', device]);
  return Object.fromEntries(stdout.split('\n').map((line) => line.split('=', 2) as [string, string]));
}

function readSectors(device: string, sector: number, count: number): Buffer {
  const fd = openSync(device, 'r');
  try {
    const buffer = Buffer.alloc(count * 512);
    readSync(fd, buffer, 0, buffer.length, sector * 512);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

describe('ros install on a loop device', () => {
  let root: string;
  let work: string;
  const medium = () => join(root, 'run/initramfs/live');
  let loop: string;
  let bootImage: Buffer;
  let coreImage: Buffer;
  let firstRun: ReturnType<typeof captureIo>;

  beforeAll(async () => {
    work = scratch('ros-install-it-');
    root = join(work, 'root');
    mkdirSync(root);
    for (const dir of ['dev', 'sys', 'proc']) symlinkSync(`/${dir}`, join(root, dir));
    mkdirSync(join(medium(), 'LiveOS'), { recursive: true });
    mkdirSync(join(medium(), 'boot'));
    mkdirSync(join(medium(), 'ros/install'), { recursive: true });
    mkdirSync(join(work, 'rootfs/etc'), { recursive: true });
    writeFileSync(join(work, 'rootfs/etc/os-release'), 'NAME="ros-install-test"\n');
    await execa('mksquashfs', [join(work, 'rootfs'), join(medium(), 'LiveOS/squashfs.img'), '-noappend', '-quiet', '-no-progress']);
    writeFileSync(join(medium(), 'boot/vmlinuz'), randomBytes(MiB));
    writeFileSync(join(medium(), 'boot/initrd'), randomBytes(MiB));
    bootImage = randomBytes(512);
    coreImage = patchCoreImage(randomBytes(40 * 1024), 2048, 2048);
    writeFileSync(join(medium(), 'ros/install/boot.img'), bootImage);
    writeFileSync(join(medium(), 'ros/install/core.img'), coreImage);
    mkdirSync(join(medium(), 'ros/install/esp/EFI/BOOT'), { recursive: true });
    mkdirSync(join(medium(), 'ros/install/esp/EFI/debian'), { recursive: true });
    writeFileSync(join(medium(), 'ros/install/esp/EFI/BOOT/BOOTX64.EFI'), randomBytes(200 * 1024));
    writeFileSync(join(medium(), 'ros/install/esp/EFI/BOOT/grubx64.efi'), randomBytes(300 * 1024));
    writeFileSync(join(medium(), 'ros/install/esp/EFI/debian/grub.cfg'), 'configfile ($root)/grub/grub.cfg\n');
    writeFileSync(join(medium(), 'ros/install/grub.cfg'), 'set timeout=1\n# a stand-in grub.cfg\n');
    writeFileSync(join(root, 'install.yaml'), '#cloud-config\nhostname: installed\n');

    loop = await attachLoop(work, 'disk.raw', 640 * MiB);
    firstRun = captureIo();
    const outcome = await installSystem(createSystem(root), { device: loop, config: '/install.yaml', silent: true, reboot: false }, firstRun);
    expect(outcome).toEqual({ result: 'installed', device: loop, action: 'none' });
  }, 300_000);

  afterEach(async () => {
    for (const dir of [...mounts].reverse()) await unmount(dir);
  });

  afterAll(async () => {
    for (const dir of [...mounts].reverse()) await execa('umount', [dir], { reject: false });
    // Anything the installer left mounted under the test's root (a failure half way) goes too.
    const { stdout } = await execa('findmnt', ['-rn', '-o', 'TARGET'], { reject: false });
    for (const target of stdout.split('\n').filter((t) => root && t.startsWith(root)).reverse()) await execa('umount', [target], { reject: false });
    for (const device of loops) await execa('losetup', ['-d', device], { reject: false });
  });

  it('writes the GPT: six partitions named as the layout says, the ESP typed as one', async () => {
    const { stdout } = await execa('sgdisk', ['-p', loop]);
    const names = stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l)).map((l) => l.trim().split(/\s+/).at(-1));
    expect(names).toEqual(['BIOS', 'COS_GRUB', 'COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']);
    expect(stdout).toMatch(/^\s+1\s+2048\s+4095\s/m);
    const esp = await execa('sgdisk', ['-i', '2', loop]);
    expect(esp.stdout).toMatch(/C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
    // The persistent partition takes the rest of the 640 MiB, up to the backup GPT.
    const last = stdout.split('\n').find((l) => l.trim().endsWith('COS_PERSISTENT'))!.trim().split(/\s+/);
    expect(Number(last[2])).toBeGreaterThan((640 * MiB) / 512 - 2048 - 34);
  });

  it('makes each file system with its label', async () => {
    const expected: Array<[number, string, string]> = [
      [2, 'COS_GRUB', 'vfat'],
      [3, 'COS_OEM', 'ext4'],
      [4, 'COS_RECOVERY', 'ext4'],
      [5, 'COS_STATE', 'ext4'],
      [6, 'COS_PERSISTENT', 'ext4'],
    ];
    for (const [number, label, type] of expected) {
      const probed = await blkid(partition(loop, number));
      expect([probed.LABEL, probed.TYPE, probed.PART_ENTRY_NAME]).toEqual([label, type, label]);
    }
  });

  it('puts independent copies of the image in active, passive and recovery', async () => {
    const state = join(work, 'check-state');
    const recovery = join(work, 'check-recovery');
    await mountReadOnly(partition(loop, 5), state);
    await mountReadOnly(partition(loop, 4), recovery);
    const files: Array<[string, string]> = [
      ['rootfs.squashfs', 'LiveOS/squashfs.img'],
      ['vmlinuz', 'boot/vmlinuz'],
      ['initrd', 'boot/initrd'],
    ];
    for (const dir of [join(state, 'cOS/active'), join(state, 'cOS/passive'), join(recovery, 'cOS/recovery')]) {
      for (const [name, source] of files) {
        expect(readFileSync(join(dir, name)).equals(readFileSync(join(medium(), source))), `${dir}/${name}`).toBe(true);
        expect(statSync(join(dir, name)).mode & 0o777).toBe(0o644);
      }
    }
    expect(statSync(join(state, 'cOS/active/rootfs.squashfs')).ino).not.toBe(statSync(join(state, 'cOS/passive/rootfs.squashfs')).ino);
  });

  it('writes a fresh grubenv and the configuration (0600) to COS_OEM, and leaves COS_PERSISTENT empty', async () => {
    const oem = join(work, 'check-oem');
    await mountReadOnly(partition(loop, 3), oem);
    expect(readFileSync(join(oem, 'grubenv'), 'utf8')).toBe(FRESH_GRUBENV);
    expect(FRESH_GRUBENV).toHaveLength(1024);
    expect(readFileSync(join(oem, 'cloud-config.yaml'), 'utf8')).toBe('#cloud-config\nhostname: installed\n');
    expect(statSync(join(oem, 'cloud-config.yaml')).mode & 0o777).toBe(0o600);
    const persistent = join(work, 'check-persistent');
    await mountReadOnly(partition(loop, 6), persistent);
    expect((await execa('ls', ['-A', persistent])).stdout.split('\n')).toEqual(['lost+found']);
  });

  it('puts the medium\'s ESP files (shim, GRUB, its grub.cfg) and the disk\'s grub.cfg on the ESP', async () => {
    const env = { MTOOLS_SKIP_CHECK: '1' };
    const esp = partition(loop, 2);
    for (const path of ['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/grubx64.efi', 'EFI/debian/grub.cfg']) {
      const copy = join(work, 'from-esp');
      await execa('mcopy', ['-n', '-i', esp, `::/${path}`, copy], { env });
      expect(readFileSync(copy).equals(readFileSync(join(medium(), 'ros/install/esp', path))), path).toBe(true);
    }
    const cfg = await execa('mtype', ['-i', esp, '::/grub/grub.cfg'], { env });
    expect(`${cfg.stdout}\n`).toBe(readFileSync(join(medium(), 'ros/install/grub.cfg'), 'utf8'));
  });

  it('patches boot.img into sector 0 (pointing at sector 2048) and keeps the protective MBR', () => {
    const sector0 = readSectors(loop, 0, 1);
    expect(sector0.subarray(0, 0x5c).equals(bootImage.subarray(0, 0x5c))).toBe(true);
    expect(sector0.readBigUInt64LE(0x5c)).toBe(2048n);
    expect(sector0.subarray(0x64, 440).equals(bootImage.subarray(0x64, 440))).toBe(true);
    expect(sector0[446 + 4]).toBe(0xee); // the protective MBR's one entry, GPT
    expect(sector0.readUInt16LE(510)).toBe(0xaa55);
  });

  it('writes the core image at the start of the BIOS partition', () => {
    expect(readSectors(loop, 2048, coreImage.length / 512).equals(coreImage)).toBe(true);
  });

  it('leaves nothing mounted and says what it did', async () => {
    const { stdout } = await execa('findmnt', ['-rn', '-o', 'SOURCE']);
    expect(stdout.split('\n').filter((s) => s.startsWith(loop))).toEqual([]);
    expect(existsSync(join(root, 'run/ros/install/COS_STATE'))).toBe(false);
    expect(firstRun.text()).toMatch(/ros install: partitioning /);
    expect(firstRun.text()).toMatch(/ros install: installed to /);
  });

  it('no_format: rewrites the images and keeps COS_PERSISTENT and COS_OEM', async () => {
    const persistent = join(work, 'rw-persistent');
    mkdirSync(persistent, { recursive: true });
    await execa('mount', [partition(loop, 6), persistent]);
    mounts.push(persistent);
    writeFileSync(join(persistent, 'kept'), 'mine\n');
    await unmount(persistent);
    const before = (await blkid(partition(loop, 5))).UUID;
    writeFileSync(join(medium(), 'boot/vmlinuz'), randomBytes(MiB)); // a "new" image
    const io = captureIo();
    const outcome = await installSystem(createSystem(root), { device: loop, silent: true, reboot: false, noFormat: true }, io);
    expect(outcome.result).toBe('installed');
    expect((await blkid(partition(loop, 5))).UUID).toBe(before);
    await mountReadOnly(partition(loop, 6), persistent);
    expect(readFileSync(join(persistent, 'kept'), 'utf8')).toBe('mine\n');
    const state = join(work, 'check-state-2');
    await mountReadOnly(partition(loop, 5), state);
    expect(readFileSync(join(state, 'cOS/passive/vmlinuz')).equals(readFileSync(join(medium(), 'boot/vmlinuz')))).toBe(true);
    const oem = join(work, 'check-oem-2');
    await mountReadOnly(partition(loop, 3), oem);
    expect(readFileSync(join(oem, 'cloud-config.yaml'), 'utf8')).toBe('#cloud-config\nhostname: installed\n');
  });

  it('refuses a disk with a mounted partition, naming the mount', async () => {
    const dir = join(work, 'busy');
    await mountReadOnly(partition(loop, 6), dir);
    const attempt = installSystem(createSystem(root), { device: loop, silent: true, reboot: false }, captureIo());
    await expect(attempt).rejects.toThrow(UserError);
    await expect(installSystem(createSystem(root), { device: loop, silent: true, reboot: false }, captureIo())).rejects.toThrow(
      new RegExp(`${loop} is in use: ${partition(loop, 6)} is mounted on ${dir}`),
    );
  });

  it('refuses a disk too small, naming the minimum, and writes nothing to it', async () => {
    const small = await attachLoop(work, 'small.raw', 300 * MiB);
    await expect(installSystem(createSystem(root), { device: small, silent: true, reboot: false }, captureIo())).rejects.toThrow(
      /is too small: it has 300MiB, and this system \(an image of \d+MiB\) needs at least \d+MiB/,
    );
    expect(readSectors(small, 0, 2).every((b) => b === 0)).toBe(true);
  });

  it('refuses a silent install without a device', async () => {
    await expect(installSystem(createSystem(root), { silent: true, reboot: false }, captureIo())).rejects.toThrow(/no device to install to, and silent mode cannot ask for one/);
  });
});
