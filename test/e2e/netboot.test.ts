import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest } from '../../src/boot/guest.js';
import { findFreePort } from '../../src/boot/user-net.js';
import type { RequestLog } from '../../src/serve/static-server.js';
import { runCli, specFlags, testImage } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// Under TCG a boot takes 45–120 s on two cores, an install a few minutes; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 900_000;

/*
 * Zero-touch provisioning as a fleet does it: a blank machine whose firmware
 * tries its (blank) disk first and then the network. qemu's own iPXE ROM gets
 * the boot file from DHCP (qemu's user network hands out
 * http://10.0.2.2:PORT/boot.ipxe), the netboot directory is served over HTTP
 * from the host (ros-build boot's server, the same code as ros-build serve),
 * the live system comes up from the squashfs dracut's livenet fetched, and the
 * install arguments on the iPXE script's command line install it to the disk
 * with the cloud-config the directory carries. What it wrote is read back
 * from the host; the second install below boots its disk.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-netboot-'));
const key = join(work, 'id_ed25519');
const disk = join(work, 'blank.raw');
const dir = join(work, 'netboot');
const served: RequestLog[] = [];
let installSeconds = 0;

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build netboot e2e', '-f', key]);
  const cloudConfig = join(work, 'cloud-config.yaml');
  writeFileSync(cloudConfig, `#cloud-config\n# given by the netboot e2e test\nhostname: ros-netbooted\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a blank machine booted from the network', () => {
  beforeAll(async () => {
    const port = await findFreePort();
    const install = 'ros.install.automatic=true ros.install.device=/dev/vda ros.install.config_url=/run/initramfs/live/ros/cloud-config.yaml ros.install.power_off=true';
    const built = await runCli(['netboot', '--url', `http://10.0.2.2:${port}`, '--cmdline', install, '--cloud-config', join(work, 'cloud-config.yaml'), '--output', dir, ...specFlags()]);
    expect(built.exitCode, built.stderr).toBe(0);
    expect(built.stdout.trim()).toBe(dir);
    await execa('truncate', ['-s', '4G', disk]);
    const started = Date.now();
    // The disk first (bootindex 0), the NIC after it: what boots once the install is done is the disk.
    const live = await startGuest({ artifact: dir, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'netboot.serial.log'), drives: [{ file: disk, bootindex: 0 }], onServed: (entry) => served.push(entry) });
    try {
      // Not waitForLogin: the install's progress lines interleave with the login prompt on the serial console.
      const exit = await live.waitForExit(1200);
      expect(exit, `the live system did not power off after installing; serial log ${live.logPath}`).toBeDefined();
    } finally {
      await live.stop();
    }
    installSeconds = (Date.now() - started) / 1000;
    const bytes = served.reduce((sum, entry) => sum + entry.bytes, 0);
    process.stdout.write(`network boot under TCG: installed and powered off ${installSeconds.toFixed(0)} s after power on; ${(bytes / 2 ** 20).toFixed(1)} MiB fetched in ${served.length} requests\n`);
  }, 3_600_000);

  it('fetched the script, the kernel, both initrds and the root once each, over HTTP from the directory', () => {
    const gets = served.filter((entry) => entry.method === 'GET' && entry.status < 300).map((entry) => entry.path);
    for (const file of ['/boot.ipxe', '/vmlinuz', '/initrd', '/medium.cpio', '/rootfs.squashfs']) expect(gets.filter((path) => path === file), file).toHaveLength(1);
    expect(served.filter((entry) => entry.status >= 400)).toEqual([]);
    const squashfs = served.find((entry) => entry.path === '/rootfs.squashfs')!;
    expect(squashfs.bytes).toBe(readFileSync(join(dir, 'rootfs.squashfs')).length);
  });

  it('came up live from the fetched root with the directory\'s medium, and installed itself with the install arguments', () => {
    const log = readFileSync(join(work, 'netboot.serial.log'), 'utf8');
    expect(log).toMatch(/ros: network boot: the live medium is \S+rootfs\.squashfs \(\/dev\/loop\d+\) with \/ros from medium\.cpio/);
    expect(log).toContain('/dev/vda');
    expect(log).toMatch(/ros-netbooted login:/);
    expect(log).toMatch(/ros install: installed to \/dev\/vda; powering off/);
    expect(log).not.toMatch(/\[FAILED\]/);
  });

  // Read from the host (a read-only loop device): the disk booting is the registry install's proof below, with the same boot code.
  it('wrote the very squashfs it was served into every slot, and the configuration to COS_OEM, readable by root only', async () => {
    const installed = await readInstalledDisk(disk);
    expect(installed.labels).toEqual(['BIOS', 'COS_GRUB', 'COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']);
    // Copied from the loop device over the RAM copy livenet fetched: the same bytes as served.
    const served = createHash('sha256').update(readFileSync(join(dir, 'rootfs.squashfs'))).digest('hex');
    expect(installed.squashfsDigests).toEqual({ active: served, passive: served, recovery: served });
    expect(installed.oemConfig).toContain('# given by the netboot e2e test');
    expect(installed.oemConfigMode).toBe(0o600);
  }, testTimeoutMs);
});

describe('a network boot whose files cannot be fetched', () => {
  it('says on the console which URL failed and stops at iPXE\'s shell instead of rebooting into a loop', async () => {
    // The directory as built, less its kernel: the server answers 404 for it.
    const broken = join(work, 'netboot-broken');
    await execa('cp', ['-al', dir, broken]);
    rmSync(join(broken, 'vmlinuz'));
    const guest = await startGuest({ artifact: broken, timeoutSeconds: 120, logPath: join(work, 'netboot-broken.serial.log'), exitOnReboot: true });
    try {
      const failure = await guest.waitForLogin().then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure?.message).toContain('network boot failed (iPXE could not fetch the files)');
      // Ten seconds more on: it waits at the shell, with no second attempt and no restart.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    } finally {
      await guest.stop();
    }
    // iPXE wraps its console at 80 columns.
    const log = readFileSync(join(work, 'netboot-broken.serial.log'), 'utf8').replace(/\r?\n/g, '');
    expect(log).toMatch(/ros: network boot failed: could not fetch or boot the files at http:\/\/10\.0\.2\.2:\d+\/ /);
    expect(log.match(/ros: fetching /g)).toHaveLength(1);
    expect(log).toContain('iPXE> ');
  }, testTimeoutMs);
});

/** The partition labels, each slot's squashfs digest and COS_OEM's configuration of an installed disk image, mounted read-only. */
async function readInstalledDisk(image: string) {
  const loop = (await execa('losetup', ['--find', '--show', '--read-only', '--partscan', image])).stdout.trim();
  // The kernel scanned the table; partx makes it announce the partitions, so their device nodes appear (as the installer does).
  await execa('partx', ['--update', loop], { reject: false });
  for (let i = 0; i < 50 && !existsSync(`${loop}p5`); i++) await new Promise((r) => setTimeout(r, 100));
  const mounts: string[] = [];
  const mount = async (number: number) => {
    const target = mkdtempSync(join(work, 'mnt-'));
    await execa('mount', ['-o', 'ro', `${loop}p${number}`, target]);
    mounts.push(target);
    return target;
  };
  try {
    const labels = (await execa('partx', ['--show', '--noheadings', '--output', 'NAME', image])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    const [oem, recovery, state] = [await mount(3), await mount(4), await mount(5)];
    const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    return {
      labels,
      squashfsDigests: {
        active: digest(join(state, 'cOS/active/rootfs.squashfs')),
        passive: digest(join(state, 'cOS/passive/rootfs.squashfs')),
        recovery: digest(join(recovery, 'cOS/recovery/rootfs.squashfs')),
      },
      oemConfig: readFileSync(join(oem, 'cloud-config.yaml'), 'utf8'),
      oemConfigMode: statSync(join(oem, 'cloud-config.yaml')).mode & 0o777,
    };
  } finally {
    for (const target of mounts.reverse()) await execa('umount', [target], { reject: false });
    await execa('losetup', ['-d', loop], { reject: false });
  }
}

/*
 * ros.install.image: the machine installs an image from a registry instead of
 * the one it was served, checked exactly as `ros upgrade` checks one. A
 * second directory's command line names an image pushed to a registry on the
 * host and signed by ros-build, with the wrong key (its base64 body on the
 * command line, as a PXE setup gives it): the automatic install refuses before
 * touching the disk, and the live system stays up for a look over SSH. The
 * same install run by hand with the right key (`ros install --verify-key`,
 * the rest from ros.install.*) writes that image, whose version the installed
 * disk then shows.
 */
describe('a network boot that installs an image from a registry', () => {
  const REGISTRY_PORT = 5131;
  const passphrase = { COSIGN_PASSWORD: 'netboot-e2e' };
  const image = `10.0.2.2:${REGISTRY_PORT}/${testImage.repo}:v3`;
  const second = join(work, 'blank-2.raw');
  let registry: TestRegistry;
  let digest = '';
  let live: Awaited<ReturnType<typeof startGuest>>;
  const sh = async (command: string) => {
    const result = await live.run(`sudo -n sh -c '${command.replace(/'/g, `'\\''`)}'`, { timeoutSeconds: 1800 });
    return { ...result, stdout: result.stdout.trim() };
  };

  beforeAll(async () => {
    registry = await startRegistry({ port: REGISTRY_PORT });
    const flags = ['--repo', `${registry.host}/${testImage.repo}`, '--tag', 'v3', '--output-dir', join(work, 'publish')];
    for (const step of [['build', ...flags], ['push', '--image-only', ...flags]]) {
      const result = await runCli(step);
      expect(result.exitCode, result.stderr).toBe(0);
      if (step[0] === 'push') digest = result.stdout.trim().split('@')[1]!;
    }
    for (const prefix of ['good', 'other']) expect((await runCli(['keygen', '--output-prefix', join(work, prefix)], { env: passphrase })).exitCode).toBe(0);
    const signed = await runCli(['sign', `${registry.host}/${testImage.repo}@${digest}`, '--key', join(work, 'good.key'), '--signer', 'builtin', '--no-checksums', '--output-dir', join(work, 'publish')], { env: passphrase });
    expect(signed.exitCode, signed.stderr).toBe(0);
    const otherKey = readFileSync(join(work, 'other.pub'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
    const args = `ros.install.automatic=true ros.install.device=/dev/vda ros.install.config_url=/run/initramfs/live/ros/cloud-config.yaml ros.install.power_off=true ros.install.image=${image} ros.install.verify_key=${otherKey} ros.install.allow_http=true`;
    const port = await findFreePort();
    const dir2 = join(work, 'netboot-registry');
    const built = await runCli(['netboot', '--url', `http://10.0.2.2:${port}`, '--cmdline', args, '--cloud-config', join(work, 'cloud-config.yaml'), '--output', dir2, ...specFlags()]);
    expect(built.exitCode, built.stderr).toBe(0);
    await execa('truncate', ['-s', '4G', second]);
    // Under OVMF this time: its iPXE is the EFI one, which hands the kernel's EFI stub both initrds by name.
    live = await startGuest({ artifact: dir2, firmware: 'uefi', timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'netboot-registry.serial.log'), drives: [{ file: second, bootindex: 0 }], ssh: { keyFile: key, user: 'rancher' } });
    await live.waitForLogin();
  }, 3_600_000);

  afterAll(async () => {
    await live?.stop();
    await registry?.stop();
  });

  it('refuses an image that does not verify with the given key, before touching the disk, and says why on the console', async () => {
    const journal = (await sh('journalctl -b -u ros-install -o cat')).stdout;
    expect(journal).toMatch(/ros\.install\.image 10\.0\.2\.2:5131\/\S+:v3 was refused: .*signature does not match the public key/);
    expect(readFileSync(join(work, 'netboot-registry.serial.log'), 'utf8')).toContain('ros.install.image 10.0.2.2:5131');
    // Nothing was written: no partition table, no signature of any kind, and the live system is still up.
    expect((await sh('blkid -p /dev/vda; echo "blkid $?"')).stdout).toBe('blkid 2');
    expect((await sh('cat /proc/cmdline')).stdout).toContain('root=live:http://10.0.2.2:');
  }, testTimeoutMs);

  it('is a full live system, booted from the network under UEFI: its configuration from the medium, SSH with its key, ros config', async () => {
    expect((await sh('hostname')).stdout).toBe('ros-netbooted');
    expect((await sh('ros config show')).stdout).toContain('hostname: ros-netbooted');
    expect((await sh('test -L /run/initramfs/live/LiveOS/squashfs.img && test -e /run/initramfs/live/ros/install/core.img && echo medium')).stdout).toBe('medium');
    expect((await sh('test -d /sys/firmware/efi && echo uefi')).stdout).toBe('uefi');
  }, testTimeoutMs);

  it('installs that image with the right key, and the disk then boots it under OVMF with Secure Boot enforced, with the configuration', async () => {
    expect((await live.run('cat > /home/rancher/good.pub', { input: readFileSync(join(work, 'good.pub'), 'utf8') })).exitCode).toBe(0);
    // The rest (device, image, config, power off) from ros.install.* on the command line; --no-reboot keeps SSH up to the end.
    const installed = await sh('ros install --silent --no-reboot --verify-key /home/rancher/good.pub && sync');
    expect(installed.exitCode, installed.stderr).toBe(0);
    expect(installed.stdout).toContain(`${image} (${digest}): signature verified with /home/rancher/good.pub`);
    expect(installed.stdout).toContain(`pulling ${image}@${digest} into recovery`);
    await live.stop();
    const guest = await startGuest({ artifact: second, firmware: 'uefi-secure', snapshot: true, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'disk-2.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
    try {
      await guest.waitForLogin();
      const run = async (command: string) => (await guest.run(`sudo -n sh -c '${command}'`)).stdout.trim();
      expect(await run('. /etc/os-release; echo $VERSION_ID; id -un; hostname')).toBe('v3\nroot\nros-netbooted');
      expect(await run('cat /run/ros/boot')).toContain('IMAGE=active');
      // The installer put the medium's signed chain on the ESP (from medium.cpio): shim, the signed GRUB, then the kernel.
      expect(await run('mokutil --sb-state')).toBe('SecureBoot enabled');
      expect(await run('stat -c %a /oem/cloud-config.yaml')).toBe('600');
      const status = await run('ros status');
      for (const slot of ['active', 'passive', 'recovery']) expect(status).toMatch(new RegExp(`^${slot}: +\\S+/${testImage.repo}:v3 \\(version v3\\)$`, 'm'));
      // COS_PERSISTENT takes the rest of the 4 GiB disk.
      expect(Number(await run('lsblk -bndo SIZE /dev/disk/by-label/COS_PERSISTENT'))).toBeGreaterThan(1.2 * 2 ** 30);
      expect(await run('systemctl --failed --no-legend --plain')).toBe('');
    } finally {
      await guest.stop();
    }
  }, testTimeoutMs);
});
