import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INSTALL_ESP_DIR, INSTALL_PIECES, INSTALL_PIECES_ISO_DIR } from '../../../src/artifacts/disk-boot.js';
import { ISO_LAYOUT } from '../../../src/artifacts/iso.js';
import { minimumDiskBytes, planDiskLayout } from '../../../src/disk/layout.js';
import { UserError } from '../../../src/errors.js';
import { toInstallOptions } from '../../../src/node/install/command.js';
import { installSystem, type InstallIo, type InstallOptions } from '../../../src/node/install/index.js';
import { MEDIUM_ESP_DIR, MEDIUM_FILES } from '../../../src/node/install/medium.js';
import { REMOVABLE_LOADER } from '../../../src/artifacts/esp.js';
import { resolveInstallRequest } from '../../../src/node/install/request.js';
import { FRESH_GRUBENV } from '../../../src/node/install/write.js';
import { createRecordingSystem, createTestRoot, GiB, MiB, writeMedium, type TestRoot } from './install-root.js';

describe('resolveInstallRequest', () => {
  it('takes each command-line option over ros.install.*, and ros.install.* over the defaults', () => {
    const config = { device: '/dev/vda', config_url: 'http://c/x.yaml', silent: true, no_format: true, power_off: true, debug: true, tty: '/dev/ttyS0', image: 'reg.example/os:v2', verify_key: '/oem/cosign.pub', allow_http: true };
    expect(resolveInstallRequest({}, config)).toEqual({
      trigger: 'explicit',
      device: '/dev/vda',
      configSource: 'http://c/x.yaml',
      silent: true,
      noFormat: true,
      powerOff: true,
      reboot: true,
      debug: true,
      tty: '/dev/ttyS0',
      image: 'reg.example/os:v2',
      verifyKey: '/oem/cosign.pub',
      allowHttp: true,
    });
    const options: InstallOptions = { device: '/dev/sdb', config: '/c.yaml', silent: false, noFormat: false, powerOff: false, reboot: false, debug: false, tty: '/dev/tty1', image: 'other/os:v3', verifyKey: '/k.pub', allowHttp: false };
    expect(resolveInstallRequest(options, config)).toEqual({
      trigger: 'explicit',
      device: '/dev/sdb',
      configSource: '/c.yaml',
      silent: false,
      noFormat: false,
      powerOff: false,
      reboot: false,
      debug: false,
      tty: '/dev/tty1',
      image: 'other/os:v3',
      verifyKey: '/k.pub',
      allowHttp: false,
    });
    expect(resolveInstallRequest({})).toMatchObject({ silent: false, noFormat: false, powerOff: false, reboot: true, debug: false, device: undefined, image: undefined, allowHttp: false });
  });

  it('in automatic mode: installs when ros.install.automatic is true, only onto a disk without a system for fallback_mode=install, else does nothing', () => {
    expect(resolveInstallRequest({ automatic: true }, { automatic: true, device: '/dev/vda' })).toMatchObject({ trigger: 'automatic', device: '/dev/vda' });
    expect(resolveInstallRequest({ automatic: true }, { fallback_mode: 'install' })).toMatchObject({ trigger: 'fallback' });
    expect(resolveInstallRequest({ automatic: true }, { automatic: false, device: '/dev/vda' })).toBeUndefined();
    expect(resolveInstallRequest({ automatic: true }, {})).toBeUndefined();
  });

  it('maps commander\'s negated flags: only a given --no-format or --no-reboot overrides the configuration', () => {
    expect(toInstallOptions({ reboot: true, format: true })).toMatchObject({ reboot: undefined, noFormat: undefined });
    expect(toInstallOptions({ reboot: false, format: false })).toMatchObject({ reboot: false, noFormat: true });
  });

  it('reads the medium where the ISO builder puts things', () => {
    expect(`/${MEDIUM_FILES.squashfs}`).toBe(ISO_LAYOUT.squashfs);
    expect(`/${MEDIUM_FILES.kernel}`).toBe(ISO_LAYOUT.kernel);
    expect(`/${MEDIUM_FILES.initrd}`).toBe(ISO_LAYOUT.initrd);
    for (const role of Object.keys(INSTALL_PIECES) as Array<keyof typeof INSTALL_PIECES>) {
      expect(`/${MEDIUM_FILES[role]}`).toBe(`${INSTALL_PIECES_ISO_DIR}/${INSTALL_PIECES[role]}`);
    }
    expect(`/${MEDIUM_ESP_DIR}`).toBe(`${INSTALL_PIECES_ISO_DIR}/${INSTALL_ESP_DIR}`);
    expect(MEDIUM_FILES.efiLoader).toBe(`${MEDIUM_ESP_DIR}/${REMOVABLE_LOADER}`);
  });
});

const DISK_BYTES = 8 * GiB;
const IMAGE_BYTES = 3 * MiB;

let test: TestRoot;
const io = (): InstallIo & { text: () => string } => {
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { input: new PassThrough(), output, interactive: false, text: () => text };
};

/** The partitions the kernel shows once sgdisk wrote the plan: the layout's sectors are the same whatever the seed. */
function addPlannedPartitions(disk = 'vda', separator = '') {
  const layout = planDiskLayout({ imageBytes: IMAGE_BYTES, deviceBytes: DISK_BYTES, seed: 'any' });
  for (const p of layout.partitions) test.addPartition(disk, `${disk}${separator}${p.number}`, { number: p.number, startSector: p.firstSector, bytes: p.sizeBytes, dev: `253:${p.number}` });
}

beforeEach(() => {
  test = createTestRoot();
  writeMedium(test, IMAGE_BYTES);
  test.addDisk('vda', { bytes: DISK_BYTES, dev: '253:0' });
});
afterEach(() => test.remove());

describe('installSystem refuses, before running anything', () => {
  const refuse = async (options: InstallOptions, pattern: RegExp): Promise<UserError> => {
    const system = createRecordingSystem(test.root);
    const attempt = installSystem(system, { silent: true, reboot: false, ...options }, io());
    await expect(attempt).rejects.toThrow(UserError);
    await attempt.catch((error: Error) => expect(error.message).toMatch(pattern));
    expect(system.runs.filter((r) => r.file !== 'blkid')).toEqual([]);
    return attempt.then(
      () => {
        throw new Error('installed');
      },
      (error: UserError) => error,
    );
  };

  it('on an installed system, pointing at ros upgrade', async () => {
    test.write('run/ros/boot', 'IMAGE=active\nDEVICE=/dev/vda\n');
    const error = await refuse({ device: '/dev/vda' }, /this is an installed system \(booted from its active image on \/dev\/vda\)/);
    expect(error.hint).toMatch(/ros upgrade/);
  });

  it('without a device in silent mode', async () => {
    const error = await refuse({}, /no device to install to, and silent mode cannot ask for one/);
    expect(error.hint).toMatch(/--device .*ros\.install\.device/);
  });

  it('without a device and no terminal to ask on', async () => {
    await refuse({ silent: false }, /no device to install to, and no terminal to ask on/);
  });

  it('a device that does not exist', async () => {
    await refuse({ device: '/dev/vdz' }, /no such disk: \/dev\/vdz/);
  });

  it('a partition instead of a whole disk, naming the disk', async () => {
    test.addPartition('vda', 'vda1', { number: 1, startSector: 2048, bytes: GiB, dev: '253:1' });
    const error = await refuse({ device: '/dev/vda1' }, /\/dev\/vda1 is a partition of \/dev\/vda, not a whole disk/);
    expect(error.hint).toMatch(/give the whole disk \(\/dev\/vda\)/);
  });

  it('a disk with a mounted partition, or one used as swap or by device mapper', async () => {
    test.addPartition('vda', 'vda1', { number: 1, startSector: 2048, bytes: GiB, dev: '253:1' });
    test.write('proc/self/mountinfo', '22 1 0:21 / / rw - overlay overlay rw\n40 22 253:1 / /run/initramfs/live ro - iso9660 /dev/vda1 ro\n');
    await refuse({ device: '/dev/vda' }, /\/dev\/vda is in use: \/dev\/vda1 is mounted on \/run\/initramfs\/live/);
    test.write('proc/self/mountinfo', '');
    test.write('proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n/dev/vda1 partition 1024 0 -2\n');
    await refuse({ device: '/dev/vda' }, /\/dev\/vda1 is in use as swap/);
    test.write('proc/swaps', '');
    test.write('sys/block/vda/vda1/holders/dm-0', '');
    await refuse({ device: '/dev/vda' }, /\/dev\/vda1 is held by \/dev\/dm-0/);
  });

  it('a read-only disk', async () => {
    test.addDisk('sr0', { bytes: GiB, dev: '11:0', readOnly: true });
    await refuse({ device: '/dev/sr0' }, /\/dev\/sr0 is read-only/);
  });

  it('a disk too small, naming the minimum', async () => {
    test.addDisk('vdb', { bytes: 256 * MiB, dev: '253:16' });
    const minimum = Math.ceil(minimumDiskBytes(IMAGE_BYTES) / MiB);
    const error = await refuse({ device: '/dev/vdb' }, new RegExp(`/dev/vdb is too small: it has 256MiB, and this system \\(an image of 3MiB\\) needs at least ${minimum}MiB`));
    expect(error.hint).toBe(`use a disk of ${minimum}MiB or more`);
  });

  it('a configuration that does not load, or has schema errors', async () => {
    await refuse({ device: '/dev/vda', config: '/nowhere.yaml' }, /cannot read the install configuration \/nowhere\.yaml: ENOENT/);
    test.write('bad.yaml', '#cloud-config\nhostname: [a\n');
    await refuse({ device: '/dev/vda', config: '/bad.yaml' }, /the install configuration \/bad\.yaml has 1 error:\n {2}- \/bad\.yaml: not valid YAML/);
    test.write('typed.yaml', '#cloud-config\nros:\n  sysctl: 5\n');
    await refuse({ device: '/dev/vda', config: '/typed.yaml' }, /\/typed\.yaml: ros\.sysctl: must be object/);
  });

  it('an ISO without the installer\'s boot pieces', async () => {
    test.remove();
    test = createTestRoot();
    writeMedium(test);
    test.addDisk('vda', { bytes: DISK_BYTES, dev: '253:0' });
    const { rmSync } = await import('node:fs');
    rmSync(join(test.root, 'run/initramfs/live/ros'), { recursive: true });
    const error = await refuse({ device: '/dev/vda' }, /lacks \/ros\/install\/esp\/EFI\/BOOT\/BOOTX64\.EFI, .*\/ros\/install\/grub\.cfg/);
    expect(error.hint).toMatch(/built without the installer's boot pieces/);
  });

  it('no_format onto a disk without the ros partitions, naming what is missing', async () => {
    test.addPartition('vda', 'vda1', { number: 1, startSector: 2048, bytes: GiB, dev: '253:1' });
    const system = createRecordingSystem(test.root, (file, args) => (file === 'blkid' && args.at(-1) === '/dev/vda1' ? { code: 0, output: 'LABEL=COS_STATE\nTYPE=ext4\n' } : { code: 2, output: '' }));
    await expect(installSystem(system, { device: '/dev/vda', silent: true, reboot: false, noFormat: true }, io())).rejects.toThrow(
      /no_format keeps the partitions already on \/dev\/vda, but it has no BIOS, COS_GRUB, COS_OEM, COS_RECOVERY, COS_PERSISTENT/,
    );
    expect(system.runs.map((r) => r.file)).toEqual(['blkid']);
  });

  it('an explicit install without --silent and no terminal to confirm on', async () => {
    const system = createRecordingSystem(test.root);
    await expect(installSystem(system, { device: '/dev/vda', reboot: false }, io())).rejects.toThrow(/not erasing \/dev\/vda without a confirmation/);
    expect(system.runs).toEqual([]);
  });
});

describe('installSystem in automatic mode', () => {
  it('does nothing, successfully, when ros.install.automatic is not set', async () => {
    const system = createRecordingSystem(test.root);
    expect(await installSystem(system, { automatic: true }, io())).toEqual({ result: 'skipped', reason: expect.stringMatching(/ros\.install\.automatic is not true/) });
    expect(system.runs).toEqual([]);
  });

  it('does nothing on an installed system, even when asked to install automatically', async () => {
    test.write('proc/cmdline', 'ros.install.automatic=true ros.install.device=/dev/vda\n');
    test.write('run/ros/boot', 'IMAGE=active\n');
    expect(await installSystem(createRecordingSystem(test.root), { automatic: true }, io())).toMatchObject({ result: 'skipped', reason: expect.stringMatching(/installed system/) });
  });

  it('fallback_mode=install leaves a disk that holds an installed system alone', async () => {
    test.write('proc/cmdline', 'ros.install.fallback_mode=install ros.install.device=/dev/vda\n');
    addPlannedPartitions();
    const system = createRecordingSystem(test.root, (file, args) => (file === 'blkid' && args.at(-1) === '/dev/vda5' ? { code: 0, output: 'LABEL=COS_STATE\n' } : undefined));
    expect(await installSystem(system, { automatic: true }, io())).toMatchObject({ result: 'skipped', reason: expect.stringMatching(/\/dev\/vda already holds an installed system/) });
    expect(system.runs.every((r) => r.file === 'blkid')).toBe(true);
  });

  it('installs from the kernel command line (device, config, power off), with each command printed in debug mode', async () => {
    test.write('oem-config.yaml', '#cloud-config\nhostname: from-install\n');
    test.write('proc/cmdline', 'ros.install.automatic=true ros.install.device=/dev/vda ros.install.config_url=/oem-config.yaml ros.install.power_off=true ros.install.debug\n');
    addPlannedPartitions();
    const system = createRecordingSystem(test.root);
    const out = io();
    expect(await installSystem(system, { automatic: true }, out)).toEqual({ result: 'installed', device: '/dev/vda', action: 'poweroff' });
    const commands = system.runs.map((r) => r.file);
    expect(commands).toEqual([
      'wipefs', 'sgdisk', 'partx', 'udevadm',
      'mkfs.ext4', 'mkfs.ext4', 'mkfs.ext4', 'mkfs.ext4',
      'mount', 'mount', 'mount',
      'mkfs.vfat', 'mmd', 'mcopy', 'mcopy', 'mcopy', 'mcopy',
      'sync', 'umount', 'umount', 'umount',
      'systemctl',
    ]);
    const at = (path: string) => join(test.root, path);
    const args = (file: string) => system.runs.filter((r) => r.file === file).map((r) => r.args.join(' '));
    // The fake sysfs already shows partitions (it never changes): each is wiped, then the disk.
    expect(args('wipefs')).toEqual([`--all --quiet ${[1, 2, 3, 4, 5, 6].map((n) => at(`dev/vda${n}`)).join(' ')} ${at('dev/vda')}`]);
    expect(args('sgdisk')[0]).toMatch(new RegExp(`^--zap-all --clear --disk-guid=\\S+ --new=1:2048:4095 .*--change-name=6:COS_PERSISTENT .* ${at('dev/vda')}$`));
    expect(args('mkfs.ext4').map((a) => /-L (\S+)/.exec(a)![1])).toEqual(['COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']);
    expect(args('mkfs.ext4')[0]).toContain(at('dev/vda3'));
    expect(args('mount')).toEqual(['COS_OEM', 'COS_RECOVERY', 'COS_STATE'].map((label, i) => `-t ext4 ${at(`dev/vda${i + 3}`)} ${at(`run/ros/install/${label}`)}`));
    // The planned ESP (64 MiB) is big enough for FAT32, which UEFI asks of fixed disks.
    expect(args('mkfs.vfat')).toEqual([`-F 32 -S 512 -s 1 -n COS_GRUB ${at('dev/vda2')}`]);
    // The medium's ESP tree as it is, and the disk's menu, in a fixed order.
    expect(args('mmd')).toEqual([`-i ${at('dev/vda2')} ::/EFI ::/EFI/BOOT ::/EFI/debian ::/grub`]);
    expect(args('mcopy')).toEqual([
      `-i ${at('dev/vda2')} ${at('run/initramfs/live/ros/install/esp/EFI/BOOT/BOOTX64.EFI')} ::/EFI/BOOT/BOOTX64.EFI`,
      `-i ${at('dev/vda2')} ${at('run/initramfs/live/ros/install/esp/EFI/BOOT/grubx64.efi')} ::/EFI/BOOT/grubx64.efi`,
      `-i ${at('dev/vda2')} ${at('run/initramfs/live/ros/install/esp/EFI/debian/grub.cfg')} ::/EFI/debian/grub.cfg`,
      `-i ${at('dev/vda2')} ${at('run/initramfs/live/ros/install/grub.cfg')} ::/grub/grub.cfg`,
    ]);
    expect(system.runs.find((r) => r.file === 'mcopy')!.options?.env?.MTOOLS_SKIP_CHECK).toBe('1');
    expect(args('systemctl')).toEqual(['--no-block poweroff']);
    // The mounts were recorded, not made: what was copied "into" them is in the temporary root.
    const state = at('run/ros/install/COS_STATE');
    expect(readFileSync(join(state, 'cOS/active/vmlinuz')).equals(readFileSync(at('run/initramfs/live/boot/vmlinuz')))).toBe(true);
    expect(existsSync(join(state, 'cOS/passive/rootfs.squashfs'))).toBe(true);
    expect(existsSync(at('run/ros/install/COS_RECOVERY/cOS/recovery/initrd'))).toBe(true);
    expect(readFileSync(at('run/ros/install/COS_OEM/grubenv'), 'utf8')).toBe(FRESH_GRUBENV);
    expect(statSync(at('run/ros/install/COS_OEM/cloud-config.yaml')).mode & 0o777).toBe(0o600);
    // Sector 0 and the core image went to the disk device (a plain file here).
    const disk = readFileSync(at('dev/vda'));
    expect(disk.readBigUInt64LE(0x5c)).toBe(2048n);
    expect(disk.subarray(2048 * 512, 2048 * 512 + 512).equals(readFileSync(at('run/initramfs/live/ros/install/core.img')).subarray(0, 512))).toBe(true);
    expect(out.text()).toMatch(/^ros install: \+ sgdisk --zap-all/m);
    expect(out.text()).toMatch(/^ros install: ERASE everything on \/dev\/vda, 8\.0 GiB, QEMU HARDDISK, and write:$/m);
    expect(out.text()).toMatch(/^ros install: installed to \/dev\/vda; powering off/m);
  });

  it('carries the ISO\'s air-gap bundle to COS_OEM, which grows to hold it', async () => {
    test.write('run/initramfs/live/ros/bundle/index.json', '{"schemaVersion":2,"manifests":[]}\n');
    test.write('run/initramfs/live/ros/bundle/images/rke2-images.linux-amd64.tar.zst', 'x'.repeat(200 * 1024));
    test.write('proc/cmdline', 'ros.install.automatic=true ros.install.device=/dev/vda\n');
    const bytes = 200 * 1024 + '{"schemaVersion":2,"manifests":[]}\n'.length;
    const layout = planDiskLayout({ imageBytes: IMAGE_BYTES, deviceBytes: DISK_BYTES, seed: 'any', oemContentBytes: bytes });
    for (const p of layout.partitions) test.addPartition('vda', `vda${p.number}`, { number: p.number, startSector: p.firstSector, bytes: p.sizeBytes, dev: `253:${p.number}` });
    const system = createRecordingSystem(test.root);
    const out = io();
    expect(await installSystem(system, { automatic: true, reboot: false }, out)).toMatchObject({ result: 'installed' });
    const oem = join(test.root, 'run/ros/install/COS_OEM/bundle');
    expect(readFileSync(join(oem, 'index.json'), 'utf8')).toContain('schemaVersion');
    expect(statSync(join(oem, 'images/rke2-images.linux-amd64.tar.zst')).size).toBe(200 * 1024);
    expect(out.text()).toContain('copying the medium\'s air-gap bundle (200.0 KiB) to COS_OEM');
    // COS_OEM is 64 MiB plus the bundle and ext4's share, in whole MiB.
    const sgdisk = system.runs.find((r) => r.file === 'sgdisk')!.args.join(' ');
    const oemPartition = layout.partitions.find((p) => p.name === 'COS_OEM')!;
    expect(oemPartition.sizeBytes).toBe(65 * 2 ** 20);
    expect(sgdisk).toContain(`--new=3:${oemPartition.firstSector}:${oemPartition.lastSector}`);
  });

  it('finds partitions by the kernel\'s names (nvme0n1p1), and writes progress to ros.install.tty', async () => {
    test.addDisk('nvme0n1', { bytes: DISK_BYTES, dev: '259:0', model: 'Samsung SSD' });
    addPlannedPartitions('nvme0n1', 'p');
    test.write('dev/ttyS1', '');
    test.write('proc/cmdline', 'ros.install.automatic=true ros.install.device=/dev/nvme0n1 ros.install.tty=/dev/ttyS1\n');
    const system = createRecordingSystem(test.root);
    const out = io();
    expect(await installSystem(system, { automatic: true, reboot: false }, out)).toMatchObject({ result: 'installed', device: '/dev/nvme0n1' });
    expect(system.runs.find((r) => r.file === 'mkfs.vfat')!.args.at(-1)).toBe(join(test.root, 'dev/nvme0n1p2'));
    expect(out.text()).toBe('');
    expect(readFileSync(join(test.root, 'dev/ttyS1'), 'utf8')).toMatch(/ros install: installed to \/dev\/nvme0n1\n$/);
  });

  it('tells ros.install.tty why it refused', async () => {
    test.write('dev/ttyS1', '');
    test.write('proc/cmdline', 'ros.install.automatic=true ros.install.device=/dev/vdq ros.install.tty=/dev/ttyS1\n');
    await expect(installSystem(createRecordingSystem(test.root), { automatic: true }, io())).rejects.toThrow(/no such disk/);
    expect(readFileSync(join(test.root, 'dev/ttyS1'), 'utf8')).toMatch(/^ros install: error: no such disk: \/dev\/vdq\n  hint: give a whole disk/);
  });
});

describe('ros.install.config_url over http', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok.yaml') res.end('#cloud-config\nhostname: fetched\n');
      else if (req.url === '/moved') res.writeHead(302, { location: '/ok.yaml' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches it (following a redirect) and writes it to COS_OEM', async () => {
    addPlannedPartitions();
    const system = createRecordingSystem(test.root);
    await installSystem(system, { device: '/dev/vda', config: `${base}/moved`, silent: true, reboot: false }, io());
    expect(readFileSync(join(test.root, 'run/ros/install/COS_OEM/cloud-config.yaml'), 'utf8')).toBe('#cloud-config\nhostname: fetched\n');
  });

  it('refuses one that is not there, before writing', async () => {
    const system = createRecordingSystem(test.root);
    await expect(installSystem(system, { device: '/dev/vda', config: `${base}/missing.yaml`, silent: true, reboot: false }, io())).rejects.toThrow(/cannot fetch the install configuration .*missing\.yaml: HTTP 404/);
    expect(system.runs).toEqual([]);
  });
});

describe('ros.install.iso_url', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ros.iso') res.end(Buffer.alloc(4096, 7));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('fetches the ISO into RAM, loop-mounts it read-only, installs from it, and leaves nothing of it behind', async () => {
    // The mount is recorded, not made: the ISO's files are put where it would have mounted them.
    // Sized as the booted medium's, so the layout (and the partitions the fake sysfs shows) is the same.
    const third = Math.floor(IMAGE_BYTES / 3);
    test.write('run/ros/install-iso/medium/LiveOS/squashfs.img', Buffer.alloc(IMAGE_BYTES - 2 * third, 9));
    test.write('run/ros/install-iso/medium/boot/vmlinuz', Buffer.alloc(third, 2));
    test.write('run/ros/install-iso/medium/boot/initrd', Buffer.alloc(third, 3));
    for (const piece of ['ros/install/esp/EFI/BOOT/BOOTX64.EFI', 'ros/install/grub.cfg', 'ros/install/boot.img']) test.write(`run/ros/install-iso/medium/${piece}`, readFileSync(join(test.root, 'run/initramfs/live', piece)));
    test.write('run/ros/install-iso/medium/ros/install/core.img', readFileSync(join(test.root, 'run/initramfs/live/ros/install/core.img')));
    addPlannedPartitions();
    const system = createRecordingSystem(test.root);
    const out = io();
    expect(await installSystem(system, { device: '/dev/vda', silent: true, reboot: false, isoUrl: `${base}/ros.iso` }, out)).toMatchObject({ result: 'installed' });
    const at = (path: string) => join(test.root, path);
    expect(system.runs[0]).toMatchObject({ file: 'mount', args: ['-o', 'loop,ro', '-t', 'iso9660', at('run/ros/install-iso/medium.iso'), at('run/ros/install-iso/medium')] });
    expect(readFileSync(at('run/ros/install/COS_STATE/cOS/active/rootfs.squashfs'))).toEqual(Buffer.alloc(IMAGE_BYTES - 2 * third, 9));
    expect(system.runs.at(-1)).toMatchObject({ file: 'umount', args: [at('run/ros/install-iso/medium')] });
    expect(existsSync(at('run/ros/install-iso'))).toBe(false);
    expect(out.text()).toMatch(/^ros install: fetched 4\.0 KiB; mounting it$/m);
  });

  it('refuses an ISO it cannot fetch, naming the URL, with nothing written', async () => {
    const system = createRecordingSystem(test.root);
    await expect(installSystem(system, { device: '/dev/vda', silent: true, reboot: false, isoUrl: `${base}/missing.iso` }, io())).rejects.toThrow(`could not fetch ros.install.iso_url ${base}/missing.iso: HTTP 404`);
    expect(system.runs.map((r) => r.file)).toEqual(['umount']);
    await expect(installSystem(system, { device: '/dev/vda', silent: true, isoUrl: `${base}/ros.iso`, image: 'reg/os:v1' }, io())).rejects.toThrow('ros.install.image and ros.install.iso_url both name what to install');
  });
});
