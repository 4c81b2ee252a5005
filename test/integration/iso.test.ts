/**
 * Builds real hybrid ISOs with grub-mkimage, mkfs.vfat, mtools and xorriso and
 * checks their structure: El Torito entries, files, partition tables, volume
 * id, reproducibility and atomic output. Booting them is the e2e tests' job.
 *
 * The kernel and initrd come from the ros-test/base image when Docker has it;
 * otherwise small stand-in files do, since nothing here boots them.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIso, type IsoInput } from '../../src/artifacts/iso.js';
import { makeBiosBootCode } from '../../src/artifacts/disk-boot.js';
import { stageEspFiles } from '../../src/artifacts/esp.js';
import { UserError } from '../../src/errors.js';
import { CommandError } from '../../src/exec/run.js';

const TOOLS = ['xorriso', 'grub-mkimage', 'mkfs.vfat', 'mmd', 'mcopy', 'mdir', 'mtype', 'mksquashfs'];
const GRUB_PLATFORMS = ['/usr/lib/grub/i386-pc', '/usr/lib/grub/x86_64-efi'];

function onPath(tool: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = [...TOOLS.filter((t) => !onPath(t)), ...GRUB_PLATFORMS.filter((d) => !existsSync(d))];
// make setup installs them: a missing tool is a failure, never a skipped suite.
if (missing.length) throw new Error(`iso integration test: missing ${missing.join(', ')} (run make setup, or install xorriso, grub-pc-bin, grub-efi-amd64-bin, mtools, dosfstools, squashfs-tools)`);

const LABEL = 'ROS_ISO_TEST';
const EPOCH = 1_700_000_000;
const BASE_IMAGE = 'ros-test/base';
const ESP_TYPE_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Kernel and initrd from the test image, or stand-ins when Docker or the image is not there. */
async function kernelAndInitrd(dir: string): Promise<{ kernel: string; initrd: string; real: boolean }> {
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd');
  try {
    await execa('docker', ['image', 'inspect', BASE_IMAGE], { stdio: 'ignore' });
    const latest = (glob: string) => `cat "$(ls ${glob} | sort -V | tail -n 1)"`;
    await execa('docker', ['run', '--rm', '--entrypoint', 'sh', BASE_IMAGE, '-c', latest('/boot/vmlinuz-*')], { stdout: { file: kernel } });
    await execa('docker', ['run', '--rm', '--entrypoint', 'sh', BASE_IMAGE, '-c', latest('/boot/initrd.img-*')], { stdout: { file: initrd } });
    return { kernel, initrd, real: true };
  } catch {
    writeFileSync(kernel, 'not a kernel\n'.repeat(1000));
    writeFileSync(initrd, 'not an initrd\n'.repeat(1000));
    return { kernel, initrd, real: false };
  }
}

async function xorrisoReport(iso: string, ...commands: string[]): Promise<string> {
  const { all } = await execa('xorriso', ['-no_rc', '-indev', iso, ...commands], { all: true });
  return all ?? '';
}

interface GptEntry {
  type: string;
  firstLba: number;
  lastLba: number;
}

/** The GPT entries of an image (primary header at LBA 1), in table order. */
function gptEntries(image: Buffer): GptEntry[] {
  expect(image.subarray(512, 520).toString('latin1')).toBe('EFI PART');
  const entriesLba = Number(image.readBigUInt64LE(512 + 72));
  const count = image.readUInt32LE(512 + 80);
  const size = image.readUInt32LE(512 + 84);
  const entries: GptEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = entriesLba * 512 + i * size;
    const raw = image.subarray(at, at + 16);
    if (raw.every((b) => b === 0)) continue;
    const hex = raw.toString('hex');
    // The first three GUID fields are little-endian.
    const swap = (s: string) => s.match(/../g)!.reverse().join('');
    const type = `${swap(hex.slice(0, 8))}-${swap(hex.slice(8, 12))}-${swap(hex.slice(12, 16))}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    entries.push({ type, firstLba: Number(image.readBigUInt64LE(at + 32)), lastLba: Number(image.readBigUInt64LE(at + 40)) });
  }
  return entries;
}

describe('hybrid ISO built with xorriso and grub-mkimage', () => {
  let root: string;
  let outDir: string;
  let input: IsoInput;
  let iso: string;
  let result: Awaited<ReturnType<typeof buildIso>>;
  let realKernel = false;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ros-iso-it-'));
    outDir = join(root, 'out');
    const inputs = join(root, 'inputs');
    mkdirSync(join(inputs, 'rootfs', 'etc'), { recursive: true });
    writeFileSync(join(inputs, 'rootfs', 'etc', 'os-release'), 'NAME="ros-test"\n');
    const squashfs = join(inputs, 'rootfs.squashfs');
    await execa('mksquashfs', [join(inputs, 'rootfs'), squashfs, '-noappend', '-quiet', '-no-progress']);
    const { kernel, initrd, real } = await kernelAndInitrd(inputs);
    realKernel = real;
    const cloudConfig = join(inputs, 'user-data.yaml');
    writeFileSync(cloudConfig, '#cloud-config\nhostname: ros-iso-test\n');
    // An air-gap bundle as artifacts/bundle.ts lays it out (an OCI layout and images/), carried as a tree.
    const bundle = join(inputs, 'bundle');
    mkdirSync(join(bundle, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(join(bundle, 'images'));
    writeFileSync(join(bundle, 'index.json'), '{"schemaVersion":2,"manifests":[]}\n');
    writeFileSync(join(bundle, 'blobs', 'sha256', 'a'.repeat(64)), 'a blob');
    writeFileSync(join(bundle, 'images', 'rke2-images.linux-amd64.tar.zst'), 'images');
    input = {
      squashfsPath: squashfs,
      kernelPath: kernel,
      initrdPath: initrd,
      volumeLabel: LABEL,
      title: 'ros-build ISO test',
      cmdline: 'console=ttyS0,115200',
      cloudConfigPath: cloudConfig,
      bundleDir: join(inputs, 'bundle'),
      installGrubConfig: '# the installed disk\'s grub.cfg (stand-in)\nset timeout=1\n',
      sourceDateEpoch: EPOCH,
      workDir: join(root, 'work'),
      logPath: join(root, 'iso.log'),
    };
    iso = join(outDir, 'ros.iso');
    result = await buildIso(input, iso);
  }, 300_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('returns the path and size, and leaves nothing behind in the work and output directories', () => {
    console.info(`iso integration test used ${realKernel ? `the kernel and initrd of ${BASE_IMAGE}` : 'stand-in kernel and initrd files'}`);
    expect(result.path).toBe(iso);
    expect(result.sizeBytes).toBe(readFileSync(iso).length);
    expect(result.sizeBytes % 2048).toBe(0);
    expect(readdirSync(outDir)).toEqual(['ros.iso']);
    expect(readdirSync(input.workDir)).toEqual([]);
  });

  it('has a BIOS and a UEFI El Torito boot image', async () => {
    const report = await xorrisoReport(iso, '-report_el_torito', 'plain');
    expect(report).toMatch(/^El Torito boot img :\s+1\s+BIOS\s+y\s+none\b/m);
    expect(report).toMatch(/^El Torito boot img :\s+2\s+UEFI\s+y\s+none\b/m);
    expect(report).toMatch(/^El Torito img path :\s+1\s+\/boot\/grub\/i386-pc\/eltorito\.img$/m);
    expect(report).toMatch(/^El Torito img opts :\s+1\s+boot-info-table grub2-boot-info$/m);
  });

  it('carries the rootfs, kernel, initrd, GRUB config, cloud-config and air-gap bundle at the expected paths', async () => {
    const bundled = ['/ros/bundle/index.json', `/ros/bundle/blobs/sha256/${'a'.repeat(64)}`, '/ros/bundle/images/rke2-images.linux-amd64.tar.zst'];
    for (const path of ['/LiveOS/squashfs.img', '/boot/vmlinuz', '/boot/initrd', '/boot/grub/grub.cfg', '/boot/grub/i386-pc/eltorito.img', '/ros/cloud-config.yaml', ...bundled]) {
      const found = await xorrisoReport(iso, '-find', path);
      expect(found, path).toContain(`'${path}'`);
    }
    const absent = await execa('xorriso', ['-no_rc', '-indev', iso, '-find', '/LiveOS/missing.img'], { all: true, reject: false });
    expect(absent.exitCode).not.toBe(0);
    expect(absent.all).toContain("Cannot find path '/LiveOS/missing.img'");

    const extracted = join(root, 'extracted');
    mkdirSync(extracted);
    await execa('xorriso', [
      '-no_rc', '-osirrox', 'on', '-indev', iso,
      '-extract', '/LiveOS/squashfs.img', join(extracted, 'squashfs.img'),
      '-extract', '/boot/vmlinuz', join(extracted, 'vmlinuz'),
      '-extract', '/boot/grub/grub.cfg', join(extracted, 'grub.cfg'),
      '-extract', '/ros/cloud-config.yaml', join(extracted, 'cloud-config.yaml'),
    ]);
    expect(sha256(join(extracted, 'squashfs.img'))).toBe(sha256(input.squashfsPath));
    expect(sha256(join(extracted, 'vmlinuz'))).toBe(sha256(input.kernelPath));
    expect(readFileSync(join(extracted, 'cloud-config.yaml'), 'utf8')).toBe('#cloud-config\nhostname: ros-iso-test\n');
    const grubCfg = readFileSync(join(extracted, 'grub.cfg'), 'utf8');
    expect(grubCfg).toContain(`if \${linux} /boot/vmlinuz root=live:CDLABEL=${LABEL} rd.live.image rd.live.overlay.overlayfs=1 console=ttyS0,115200; then\n`);
  });

  it('carries the installed disk\'s boot pieces in /ros/install/, made as the disk builder makes them', async () => {
    const extracted = join(root, 'install-pieces');
    mkdirSync(extracted);
    const names = ['esp/EFI/BOOT/BOOTX64.EFI', 'core.img', 'boot.img', 'grub.cfg'];
    await execa('xorriso', ['-no_rc', '-osirrox', 'on', '-indev', iso, ...names.flatMap((n) => ['-extract', `/ros/install/${n}`, join(extracted, n)])]);
    // Without the image's signed chain the ESP holds one GRUB made here, nothing else.
    expect(await xorrisoReport(iso, '-find', '/ros/install/esp', '-type', 'f')).toMatch(/'\/ros\/install\/esp\/EFI\/BOOT\/BOOTX64\.EFI'\s*$/);
    expect(readFileSync(join(extracted, 'grub.cfg'), 'utf8')).toBe(input.installGrubConfig);
    expect(readFileSync(join(extracted, 'boot.img')).equals(readFileSync('/usr/lib/grub/i386-pc/boot.img'))).toBe(true);
    // The same code and environment as a disk's ESP and BIOS partition (sector 2048, 1 MiB) give the same bytes.
    const stage = join(root, 'install-pieces-stage');
    mkdirSync(stage);
    const env = { SOURCE_DATE_EPOCH: String(EPOCH), MTOOLS_SKIP_CHECK: '1' };
    const [loader] = await stageEspFiles({ medium: 'disk', stage, env });
    expect(sha256(join(extracted, 'esp/EFI/BOOT/BOOTX64.EFI'))).toBe(sha256(loader!.source));
    const bios = await makeBiosBootCode({ stage, env, firstSector: 2048, sectors: 2048 });
    const core = readFileSync(join(extracted, 'core.img'));
    expect(core.equals(bios.coreImage)).toBe(true);
    expect(core.readBigUInt64LE(0x1f4)).toBe(2049n); // diskboot.img loads the rest from sector 2049
  });

  it('has the label as volume id, in the primary volume descriptor and in xorriso\'s view', async () => {
    const image = readFileSync(iso);
    // The primary volume descriptor is block 16; the volume id is 32 space-padded bytes at offset 40.
    expect(image.subarray(16 * 2048, 16 * 2048 + 6).toString('latin1')).toBe('\u0001CD001');
    expect(image.subarray(16 * 2048 + 40, 16 * 2048 + 72).toString('latin1').trimEnd()).toBe(LABEL);
    expect(await xorrisoReport(iso, '-pvd_info')).toMatch(new RegExp(`^Volume Id\\s*: ${LABEL}$`, 'm'));
  });

  it('has a protective MBR with GRUB\'s hybrid boot code, and a GPT with the ISO and the ESP', async () => {
    const image = readFileSync(iso);
    expect(image[510]).toBe(0x55);
    expect(image[511]).toBe(0xaa);
    const mbrTypes = [0, 1, 2, 3].map((i) => image[446 + i * 16 + 4]);
    const mbrActive = [0, 1, 2, 3].map((i) => image[446 + i * 16]);
    expect(mbrTypes).toContain(0xee);
    expect(mbrActive).toContain(0x80); // --mbr-force-bootable, for BIOSes that want an active partition
    // boot_hybrid.img starts like GRUB's boot.img; byte 0x1b0 holds the core image address (not zero).
    expect(image.readBigUInt64LE(0x1b0)).toBeGreaterThan(0n);

    const entries = gptEntries(image);
    expect(entries[0]!.firstLba).toBe(64); // -partition_offset 16 (2 KiB blocks)
    const esp = entries.find((e) => e.type === ESP_TYPE_GUID);
    expect(esp, 'ESP in GPT').toBeDefined();
    // The ESP partition holds a FAT filesystem with the UEFI loader.
    const offset = esp!.firstLba * 512;
    const { stdout } = await execa('mdir', ['-b', '-i', `${iso}@@${offset}`, '::/EFI/BOOT'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(stdout).toMatch(/BOOTX64\.EFI/i);
    const loader = join(root, 'BOOTX64.EFI');
    await execa('mcopy', ['-n', '-i', `${iso}@@${offset}`, '::/EFI/BOOT/BOOTX64.EFI', loader], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(readFileSync(loader).subarray(0, 2).toString('latin1')).toBe('MZ');
  });

  it('with the image\'s signed chain: shim as the removable-media loader, the signed GRUB beside it, and its grub.cfg going on to the menu, on the ISO\'s ESP and in the installer\'s', async () => {
    const chainDir = join(root, 'chain');
    mkdirSync(chainDir);
    const chain = { distro: 'debian' as const, shim: join(chainDir, 'shim'), grubDisk: join(chainDir, 'grub-disk'), grubCd: join(chainDir, 'grub-cd'), mokManager: join(chainDir, 'mm') };
    for (const [role, path] of Object.entries(chain)) if (role !== 'distro') writeFileSync(path, `MZ stand-in ${role}\n`);
    const signed = join(root, 'signed.iso');
    await buildIso({ ...input, efiChain: chain, workDir: join(root, 'work-signed') }, signed);
    const esp = gptEntries(readFileSync(signed)).find((e) => e.type === ESP_TYPE_GUID)!;
    const fat = `${signed}@@${esp.firstLba * 512}`;
    const read = async (path: string) => (await execa('mtype', ['-i', fat, `::/${path}`], { env: { MTOOLS_SKIP_CHECK: '1' } })).stdout;
    expect(await read('EFI/BOOT/BOOTX64.EFI')).toBe('MZ stand-in shim');
    expect(await read('EFI/BOOT/grubx64.efi')).toBe('MZ stand-in grubCd');
    expect(await read('EFI/BOOT/mmx64.efi')).toBe('MZ stand-in mokManager');
    // Debian's CD GRUB has /boot/grub built in as prefix: booted from a USB stick, that is this FAT image.
    expect(await read('boot/grub/grub.cfg')).toContain(`search --no-floppy --set=root --label ${LABEL}\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg`);
    const extracted = join(root, 'signed-install');
    mkdirSync(extracted);
    const names = ['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/grubx64.efi', 'EFI/debian/grub.cfg'];
    await execa('xorriso', ['-no_rc', '-osirrox', 'on', '-indev', signed, ...names.flatMap((n, i) => ['-extract', `/ros/install/esp/${n}`, join(extracted, String(i))])]);
    expect(readFileSync(join(extracted, '0'), 'utf8')).toBe('MZ stand-in shim\n');
    expect(readFileSync(join(extracted, '1'), 'utf8')).toBe('MZ stand-in grubDisk\n');
    // Debian's disk GRUB reads /EFI/debian/grub.cfg on the partition it was loaded from: on to /grub/grub.cfg there.
    expect(readFileSync(join(extracted, '2'), 'utf8')).toContain('set prefix=($root)/grub\nconfigfile $prefix/grub.cfg');
  }, 240_000);

  it('is byte-identical when built twice with the same epoch, and differs with another epoch', async () => {
    // Same content, other file times (as after a fresh checkout or copy): must not matter.
    const later = new Date((EPOCH + 12_345) * 1000);
    for (const path of [input.kernelPath, input.initrdPath, input.squashfsPath, input.cloudConfigPath!]) utimesSync(path, later, later);
    const second = join(root, 'second.iso');
    await buildIso({ ...input, workDir: join(root, 'work2') }, second);
    expect(sha256(second)).toBe(sha256(iso));
    const nextDay = join(root, 'next-day.iso');
    await buildIso({ ...input, sourceDateEpoch: EPOCH + 86_400 }, nextDay);
    expect(sha256(nextDay)).not.toBe(sha256(iso));
  }, 240_000);

  it('leaves no file at the output path when an input is missing', async () => {
    const out = join(root, 'failed', 'missing-kernel.iso');
    await expect(buildIso({ ...input, kernelPath: join(root, 'no-such-vmlinuz') }, out)).rejects.toThrow(UserError);
    await expect(buildIso({ ...input, kernelPath: join(root, 'no-such-vmlinuz') }, out)).rejects.toThrow(/kernel not found: .*no-such-vmlinuz/);
    expect(existsSync(out)).toBe(false);
  });

  it('removes the partial ISO when xorriso fails half-way', async () => {
    // A stand-in xorriso that writes half an image to its -o path, then fails.
    const fakeBin = join(root, 'fake-bin');
    mkdirSync(fakeBin);
    writeFileSync(
      join(fakeBin, 'xorriso'),
      '#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo partial > "$2"; fi; shift; done\necho "xorriso : FAILURE : disk full (simulated)" >&2\nexit 5\n',
    );
    chmodSync(join(fakeBin, 'xorriso'), 0o755);
    const out = join(root, 'failed-xorriso', 'ros.iso');
    const savedPath = process.env.PATH;
    process.env.PATH = `${fakeBin}${delimiter}${savedPath ?? ''}`;
    try {
      const error = await buildIso(input, out).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommandError);
      expect((error as CommandError).exitCode).toBe(5);
      expect((error as CommandError).outputTail).toContain('disk full (simulated)');
    } finally {
      process.env.PATH = savedPath;
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(root, 'failed-xorriso'))).toEqual([]);
  }, 120_000);
});
