/**
 * The netboot directory as ros-build writes it (real grub-mkimage and mtools
 * for the installer's boot pieces, GNU cpio reading the medium archive back),
 * the CLI's refusals, and `ros-build serve` as a user runs it. Booting the
 * directory over the network is test/e2e/netboot.test.ts.
 */
import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNetboot, type NetbootInput } from '../../src/artifacts/netboot.js';
import { findFreePort } from '../../src/boot/user-net.js';
import { cliPath, runCli } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'ros-netboot-it-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function input(overrides: Partial<NetbootInput> = {}): NetbootInput {
  return {
    squashfsPath: join(work, 'in', 'rootfs.squashfs'),
    kernelPath: join(work, 'in', 'vmlinuz'),
    initrdPath: join(work, 'in', 'initrd'),
    baseUrl: 'http://192.0.2.10:8080/ros/',
    cmdline: 'console=ttyS0,115200 ros.install.device=/dev/sda',
    installGrubConfig: '# the disk menu\n',
    cloudConfigPath: join(work, 'in', 'cloud-config.yaml'),
    bundleDir: join(work, 'in', 'bundle'),
    sourceDateEpoch: 1_700_000_000,
    workDir: join(work, 'scratch'),
    ...overrides,
  };
}

beforeAll(() => {
  mkdirSync(join(work, 'in'));
  writeFileSync(join(work, 'in', 'rootfs.squashfs'), Buffer.alloc(4096 * 3, 1));
  writeFileSync(join(work, 'in', 'vmlinuz'), 'kernel');
  writeFileSync(join(work, 'in', 'initrd'), 'initrd');
  writeFileSync(join(work, 'in', 'cloud-config.yaml'), '#cloud-config\nhostname: n1\n');
  // An air-gap bundle as artifacts/bundle.ts lays it out.
  mkdirSync(join(work, 'in', 'bundle', 'images'), { recursive: true });
  writeFileSync(join(work, 'in', 'bundle', 'index.json'), '{"schemaVersion":2,"manifests":[]}\n');
  writeFileSync(join(work, 'in', 'bundle', 'images', 'rke2-images.linux-amd64.tar.zst'), 'images');
});

describe('buildNetboot', () => {
  it('writes the five files, the script fetching the other four from the base URL', async () => {
    const dir = join(work, 'out');
    await buildNetboot(input(), dir);
    expect(readdirSync(dir).sort()).toEqual(['boot.ipxe', 'initrd', 'medium.cpio', 'rootfs.squashfs', 'vmlinuz']);
    expect(readFileSync(join(dir, 'rootfs.squashfs'))).toEqual(readFileSync(join(work, 'in', 'rootfs.squashfs')));
    // The initrd padded to a 4-byte boundary with NULs (the EFI stub joins initrds end to end).
    expect(readFileSync(join(dir, 'initrd'))).toEqual(Buffer.concat([Buffer.from('initrd'), Buffer.alloc(2)]));
    const script = readFileSync(join(dir, 'boot.ipxe'), 'utf8');
    expect(script).toContain('kernel http://192.0.2.10:8080/ros/vmlinuz initrd=initrd initrd=medium.cpio root=live:http://192.0.2.10:8080/ros/rootfs.squashfs ');
    expect(script).toContain('initrd http://192.0.2.10:8080/ros/medium.cpio');
    expect(script).toContain(' console=ttyS0,115200 ros.install.device=/dev/sda || goto failed');
  });

  it('puts /ros/ of the ISO into medium.cpio: the installer\'s boot pieces, the cloud-config (readable by root only) and the air-gap bundle', async () => {
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('cpio', ['-idm', '--quiet'], { cwd: unpacked, input: readFileSync(join(work, 'out', 'medium.cpio')) });
    for (const piece of ['core.img', 'boot.img', 'grub.cfg', 'esp/EFI/BOOT/BOOTX64.EFI']) expect(existsSync(join(unpacked, 'ros/install', piece)), piece).toBe(true);
    expect(readFileSync(join(unpacked, 'ros/install/grub.cfg'), 'utf8')).toBe('# the disk menu\n');
    expect(readFileSync(join(unpacked, 'ros/cloud-config.yaml'), 'utf8')).toBe('#cloud-config\nhostname: n1\n');
    expect(statSync(join(unpacked, 'ros/cloud-config.yaml')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(unpacked, 'ros/bundle/index.json'), 'utf8')).toContain('schemaVersion');
    expect(readFileSync(join(unpacked, 'ros/bundle/images/rke2-images.linux-amd64.tar.zst'), 'utf8')).toBe('images');
  });

  it('gives the same bytes from the same inputs, and replaces an older directory whole', async () => {
    const again = join(work, 'again');
    await buildNetboot(input(), again);
    for (const name of readdirSync(again)) expect(readFileSync(join(again, name)), name).toEqual(readFileSync(join(work, 'out', name)));
    writeFileSync(join(again, 'stale'), 'from before');
    await buildNetboot(input({ baseUrl: 'http://192.0.2.11' }), again);
    expect(readdirSync(again)).not.toContain('stale');
    expect(readFileSync(join(again, 'boot.ipxe'), 'utf8')).toContain('kernel http://192.0.2.11/vmlinuz ');
    expect(readdirSync(work).filter((name) => name.includes('partial'))).toEqual([]);
  });

  it('leaves the old directory as it was when the build fails', async () => {
    const kept = join(work, 'kept');
    await buildNetboot(input(), kept);
    await expect(buildNetboot(input({ cloudConfigPath: join(work, 'missing.yaml') }), kept)).rejects.toThrow();
    expect(readFileSync(join(kept, 'boot.ipxe'), 'utf8')).toContain('192.0.2.10');
    expect(readdirSync(work).filter((name) => name.includes('partial'))).toEqual([]);
  });
});

describe('ros-build netboot refuses bad input before building', () => {
  it('without --url, naming it and ros-build serve', async () => {
    const result = await runCli(['netboot', '--output', join(work, 'never')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('ros-build netboot needs --url');
    expect(result.stderr).toContain('ros-build serve');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('with a URL iPXE cannot fetch from', async () => {
    const result = await runCli(['netboot', '--url', 'tftp://192.0.2.10/', '--output', join(work, 'never')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('tftp cannot serve a network boot');
  });
});

describe('ros-build serve', () => {
  let server: ResultPromise | undefined;
  afterAll(() => server?.kill());

  it('serves the directory with ranges, logs each request and prints the line for iPXE and dnsmasq', async () => {
    const port = await findFreePort();
    server = execa('node', [cliPath, 'serve', join(work, 'out'), '--port', String(port), '--address', '127.0.0.1'], { reject: false });
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    for (let i = 0; i < 100 && !output.includes('dnsmasq:'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain(`serving ${join(work, 'out')} at http://127.0.0.1:${port}/`);
    expect(output).toContain(`iPXE:    chain http://127.0.0.1:${port}/boot.ipxe`);
    expect(output).toContain('note: boot.ipxe fetches from http://192.0.2.10:8080/ros/');
    const part = await fetch(`http://127.0.0.1:${port}/rootfs.squashfs`, { headers: { Range: 'bytes=4096-4099' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(Buffer.alloc(4, 1));
    expect((await fetch(`http://127.0.0.1:${port}/../in/cloud-config.yaml`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 200));
    expect(output).toMatch(/ 127\.0\.0\.1 GET \/rootfs\.squashfs 206 4 B\n/);
  });

  it('refuses a directory that is not there', async () => {
    const result = await runCli(['serve', join(work, 'nothing')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('is not a directory');
  });
});
