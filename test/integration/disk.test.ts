import { execa } from 'execa';
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/outputs/record.js';
import { cliPath, repoRoot, runCli, testImage } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch.js';

const GiB = 2 ** 30;
const epoch = '1700000000';
/** The formats promised byte-identical (README), made by both builds. The others (vmdk, ova, ami) are made through the CLI and booted by the cloud e2e. */
const reproducible = 'raw,qcow2,vhd,gce';
const flagsFor = (outputDir: string) => ['--repo', testImage.repo, '--tag', testImage.tag, '--output-dir', outputDir];

/** The last `length` bytes of a file (disks are larger than one Buffer). */
function readTail(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, statSync(path).size - length);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

const tempDir = scratchDirs();

/** Byte offset of a partition, from sgdisk's own listing of the disk. */
async function partitionOffset(disk: string, name: string): Promise<number> {
  const { stdout } = await execa('sgdisk', ['-p', disk]);
  const line = stdout.split('\n').find((l) => l.trim().endsWith(` ${name}`));
  if (!line) throw new Error(`no partition ${name} in:\n${stdout}`);
  return Number(line.trim().split(/\s+/)[1]) * 512;
}

async function debugfs(disk: string, name: string, request: string): Promise<string> {
  const { stdout } = await execa('debugfs', ['-R', request, `${disk}?offset=${await partitionOffset(disk, name)}`], { stderr: 'ignore' });
  return stdout;
}

describe('ros-build disk: two builds from one image, each exporting it afresh', () => {
  const first = tempDir('ros-disk-a-');
  const second = tempDir('ros-disk-b-');
  const cloudConfig = join(tempDir('ros-disk-cc-'), 'cloud-config.yaml');
  let built: Awaited<ReturnType<typeof runCli>>;
  let paths: Record<string, string> = {};

  beforeAll(async () => {
    writeFileSync(cloudConfig, '#cloud-config\nhostname: disk-it\n');
    for (const dir of [first, second]) {
      const env = { SOURCE_DATE_EPOCH: epoch };
      built = await runCli(['disk', '--format', reproducible, '--cloud-config', cloudConfig, ...flagsFor(dir)], { env });
      expect(built.stderr).not.toMatch(/error:/);
      expect(built.exitCode).toBe(0);
    }
    // The ISO only once, for the manifest: the squashfs it carries is the disks' (compared below), and the ISO step's own
    // reproducibility is test/integration/iso.test.ts's.
    expect((await runCli(['iso', ...flagsFor(second)], { env: { SOURCE_DATE_EPOCH: epoch } })).exitCode).toBe(0);
    paths = Object.fromEntries(built.stdout.trim().split('\n').map((path) => [path.slice(second.length + 1).replace(/^[^.]+\./, ''), path]));
  });

  it('writes each format asked for, listed in the manifest with its format', async () => {
    expect(Object.keys(paths).sort()).toEqual(['gce.tar.gz', 'qcow2', 'raw', 'vhd']);
    const manifest = JSON.parse(readFileSync(join(second, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.map((a: { format: string }) => a.format).sort()).toEqual(['gce', 'iso', 'qcow2', 'raw', 'vhd']);
    for (const artifact of manifest.artifacts) expect(artifact.sha256).toBe(await sha256File(join(second, artifact.path)));
  }, 300_000);

  it('gives byte-identical files', async () => {
    const files = readdirSync(first).filter((f) => /\.(iso|raw|qcow2|vhd|vmdk|tar\.gz)$/.test(f));
    expect(files).toHaveLength(4);
    const differing: string[] = [];
    for (const file of files) {
      if ((await sha256File(join(first, file))) === (await sha256File(join(second, file)))) continue;
      // Where they differ says which part is not reproducible (cmp counts bytes from 1).
      const cmp = await execa('cmp', [join(first, file), join(second, file)], { reject: false });
      differing.push(`${file}: ${cmp.stdout.trim()}`);
    }
    expect(differing).toEqual([]);
  }, 300_000);

  it('is a GPT disk of a whole GiB with the six partitions, each named as its filesystem label', async () => {
    const raw = paths.raw!;
    expect(statSync(raw).size % GiB).toBe(0);
    const { stdout } = await execa('sgdisk', ['-v', '-p', raw]);
    expect(stdout).toContain('No problems found');
    for (const name of ['BIOS', 'COS_GRUB', 'COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']) expect(stdout).toMatch(new RegExp(`\\s${name}\\n|\\s${name}$`));
    for (const name of ['COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']) {
      expect(await debugfs(raw, name, 'stats'), name).toContain(`Filesystem volume name:   ${name}`);
    }
  });

  it('holds active and passive on COS_STATE, recovery on COS_RECOVERY, the config and grubenv on COS_OEM', async () => {
    const raw = paths.raw!;
    for (const slot of ['active', 'passive']) expect(await debugfs(raw, 'COS_STATE', `ls /cOS/${slot}`)).toMatch(/rootfs\.squashfs.*vmlinuz.*initrd|initrd.*rootfs\.squashfs/s);
    expect(await debugfs(raw, 'COS_RECOVERY', 'ls /cOS/recovery')).toContain('rootfs.squashfs');
    const config = await debugfs(raw, 'COS_OEM', 'stat /cloud-config.yaml');
    expect(config).toMatch(/Mode:\s+0600/);
    expect(config).toMatch(/User:\s+0\s+Group:\s+0/);
    expect(await debugfs(raw, 'COS_OEM', 'cat /cloud-config.yaml')).toContain('hostname: disk-it');
    const grubenv = await debugfs(raw, 'COS_OEM', 'cat /grubenv');
    expect(grubenv).toMatch(/^# GRUB Environment Block\n/);
    expect(grubenv).not.toMatch(/^\w+=/m);
    expect(grubenv.length).toBe(1024);
    const espOffset = await partitionOffset(raw, 'COS_GRUB');
    const esp = `${raw}@@${espOffset}`;
    // FAT32, as UEFI asks of a fixed disk's ESP: the type string in the FAT32 boot sector (offset 82).
    const fatType = Buffer.alloc(8);
    const fd = openSync(raw, 'r');
    readSync(fd, fatType, 0, 8, espOffset + 82);
    closeSync(fd);
    expect(fatType.toString('latin1')).toBe('FAT32   ');
    // Secure Boot: the image's Debian-signed chain, shim as the removable-media loader and the signed GRUB beside it.
    const { stdout: loader } = await execa('mdir', ['-b', '-i', esp, '::/EFI/BOOT'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(loader.split('\n').map((line) => line.trim()).sort()).toEqual(['::/EFI/BOOT/BOOTX64.EFI', '::/EFI/BOOT/grubx64.efi', '::/EFI/BOOT/mmx64.efi']);
    const shim = await execa('mtype', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI'], { env: { MTOOLS_SKIP_CHECK: '1' }, encoding: 'buffer' });
    expect(Buffer.from(shim.stdout).includes(Buffer.from('Microsoft Corporation UEFI CA 2011'))).toBe(true);
    const { stdout: stub } = await execa('mtype', ['-i', esp, '::/EFI/debian/grub.cfg'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(stub).toContain('configfile $prefix/grub.cfg');
    const { stdout: grub } = await execa('mtype', ['-i', esp, '::/grub/grub.cfg'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(grub).toContain('root=ros:LABEL=COS_STATE ros.image=active');
    expect(grub).toContain('if [ "${default}" = active ]; then set fallback="1 2"');
    // Those numbers are the entries' places: active, passive, recovery.
    expect([...grub.matchAll(/^menuentry .* --id (\w+) \{$/gm)].map((m) => m[1]).slice(0, 3)).toEqual(['active', 'passive', 'recovery']);
    // The platform the disk was made for, from which the node picks its data sources.
    expect(grub).toContain(' ros.platform=raw');
    // GRUB's own parser accepts the whole script (boot assessment's counting included).
    const checked = await execa('grub-script-check', [], { input: grub, reject: false });
    expect(checked.exitCode, checked.stderr).toBe(0);
  });

  it('makes images qemu-img reads and checks, a fixed VHD a whole MiB with its footer, and a GCE tarball of disk.raw alone', async () => {
    for (const [name, format] of [['qcow2', 'qcow2'], ['vhd', 'vpc'], ['raw', 'raw']] as const) {
      const { stdout } = await execa('qemu-img', ['info', '--output=json', '-f', format, paths[name]!]);
      expect(JSON.parse(stdout)['virtual-size'], name).toBe(statSync(paths.raw!).size);
      if (name === 'qcow2') await execa('qemu-img', ['check', '-f', format, paths[name]!]);
    }
    expect(statSync(paths.vhd!).size % 2 ** 20).toBe(512);
    expect(readTail(paths.vhd!, 512).subarray(0, 8).toString('ascii')).toBe('conectix');
    const { stdout } = await execa('tar', ['-tvzf', paths['gce.tar.gz']!]);
    const entries = stdout.trim().split('\n');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/ disk\.raw$/);
    expect(Number(entries[0]!.split(/\s+/)[2]) % GiB).toBe(0);
  }, 300_000);
});

describe('ros-build disk: cache, bad input and interruption', () => {
  it('rebuilds nothing when nothing changed, and only the overlays, rootfs and disk after an overlay edit', async () => {
    const dir = tempDir('ros-disk-cache-');
    const spec = parseDocument(readFileSync(join(repoRoot, 'os.yaml'), 'utf8')).toJS();
    for (const profile of Object.values(spec.profiles) as Array<{ layers: Array<{ context: string }> }>) {
      for (const layer of profile.layers) layer.context = join(repoRoot, layer.context);
    }
    cpSync(join(repoRoot, 'overlays', 'rootfs'), join(dir, 'overlay'), { recursive: true });
    spec.overlays = [join(dir, 'overlay')];
    writeFileSync(join(dir, 'os.yaml'), JSON.stringify(spec));
    const run = () => runCli(['disk', '--spec', join(dir, 'os.yaml'), '--format', 'raw', ...flagsFor(join(dir, 'out'))]);
    expect((await run()).exitCode).toBe(0);
    const again = await run();
    expect(again.stderr).toMatch(/disk: cached/);
    expect(again.stderr).not.toMatch(/: built in/);
    // Content no earlier run wrote, so no overlay layer of an earlier run of this test matches it.
    writeFileSync(join(dir, 'overlay', 'etc', 'motd'), `edited ${Date.now()}\n`);
    const edited = await run();
    expect(edited.exitCode).toBe(0);
    for (const step of ['layer base', 'layer framework', 'layer os']) expect(edited.stderr).toMatch(new RegExp(`${step}: cached`));
    for (const step of ['layer overlays', 'rootfs', 'disk']) expect(edited.stderr).toMatch(new RegExp(`${step}: built`));
    // The overlay layer made for this edit is of no use to anyone afterwards.
    const layer = /layer overlays: built in [\d.]+s \((ros-build\/overlays:[0-9a-f]+)\)/.exec(edited.stderr)?.[1];
    if (layer) await execa('docker', ['rmi', layer], { reject: false });
  }, 900_000);

  it('refuses a size too small for the layout, naming the minimum, and an unknown format, naming the known ones', async () => {
    const dir = tempDir('ros-disk-bad-');
    const small = await runCli(['disk', '--format', 'raw', '--size', '1GiB', ...flagsFor(dir)]);
    expect(small.exitCode).toBe(2);
    expect(small.stderr).toMatch(/too small: this layout needs at least \dGiB/);
    const unknown = await runCli(['disk', '--format', 'qcow3', ...flagsFor(dir)]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown disk format "qcow3"/);
    expect(unknown.stderr).toMatch(/raw, qcow2, vhd, vmdk, ova, gce, ami/);
    expect(readdirSync(dir).filter((f) => /\.(raw|qcow2)$|partial/.test(f))).toEqual([]);
  }, 900_000);

  it('Ctrl-C while the disk is written: exit 130, no file at any output path, and the next run succeeds', async () => {
    const dir = tempDir('ros-disk-interrupt-');
    const child = execa('node', [cliPath, 'disk', '--format', 'raw,qcow2', ...flagsFor(dir)], { cwd: repoRoot, env: { CI: '1' }, reject: false, all: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the disk step never started')), 900_000);
      child.all?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('disk: started')) {
          clearTimeout(timer);
          setTimeout(resolve, 2000);
        }
      });
    });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    const left = readdirSync(dir, { recursive: true, encoding: 'utf8' });
    expect(left.filter((f) => /\.(raw|qcow2)$|\.partial-/.test(f))).toEqual([]);
    const rerun = await runCli(['disk', '--format', 'raw,qcow2', ...flagsFor(dir)]);
    expect(rerun.exitCode).toBe(0);
    for (const path of rerun.stdout.trim().split('\n')) expect(existsSync(path)).toBe(true);
  }, 900_000);
});
