import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest } from '../../src/boot/guest.js';
import { findFreePort } from '../../src/boot/user-net.js';
import type { RequestLog } from '../../src/serve/static-server.js';
import { runCli, specFlags } from '../helpers/cli.js';

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
 * with the cloud-config the directory carries. Then the disk boots by itself.
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
  const port = await findFreePort();
  const install = 'ros.install.automatic=true ros.install.device=/dev/vda ros.install.config_url=/run/initramfs/live/ros/cloud-config.yaml ros.install.power_off=true';
  const built = await runCli(['netboot', '--url', `http://10.0.2.2:${port}`, '--cmdline', install, '--cloud-config', cloudConfig, '--output', dir, ...specFlags()]);
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

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a blank machine booted from the network', () => {
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

  // The disk the unattended install wrote, booted under OVMF with Secure Boot enforced (the live-console e2e boots a disk
  // installed from the ISO under SeaBIOS): the installer put the medium's signed chain on the ESP.
  it('then boots from its disk by itself, with the configuration and the very image it was served, Secure Boot enforced', async () => {
    const guest = await startGuest({ artifact: disk, firmware: 'uefi-secure', snapshot: true, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'disk.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
    try {
      await guest.waitForLogin();
      const sh = async (command: string) => (await guest.run(`sudo -n sh -c '${command}'`)).stdout.trim();
      expect(await sh('id -un; hostname')).toBe('root\nros-netbooted');
      expect(await sh('cat /run/ros/boot')).toContain('IMAGE=active');
      expect(await sh('mokutil --sb-state')).toBe('SecureBoot enabled');
      expect(await sh('stat -c %a /oem/cloud-config.yaml')).toBe('600');
      expect(await sh('cat /oem/cloud-config.yaml')).toContain('# given by the netboot e2e test');
      expect((await sh('lsblk -rno PARTLABEL /dev/vda')).split('\n').filter(Boolean)).toEqual(['BIOS', 'COS_GRUB', 'COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']);
      const status = await sh('ros status');
      for (const slot of ['active', 'passive', 'recovery']) expect(status).toMatch(new RegExp(`^${slot}: +ros-build-test/os:it \\(version it\\)$`, 'm'));
      // COS_PERSISTENT takes the rest of the 4 GiB disk.
      expect(Number(await sh('lsblk -bndo SIZE /dev/disk/by-label/COS_PERSISTENT'))).toBeGreaterThan(1.2 * 2 ** 30);
      // Copied from the loop device over the RAM copy livenet fetched: the same bytes as served, in every slot.
      const servedDigest = createHash('sha256').update(readFileSync(join(dir, 'rootfs.squashfs'))).digest('hex');
      const digests = await sh('mkdir -p /run/r && mount -o ro /dev/disk/by-label/COS_RECOVERY /run/r && sha256sum /run/initramfs/ros/state/cOS/active/rootfs.squashfs /run/initramfs/ros/state/cOS/passive/rootfs.squashfs /run/r/cOS/recovery/rootfs.squashfs | cut -d" " -f1');
      expect(digests.split('\n')).toEqual([servedDigest, servedDigest, servedDigest]);
      expect(await sh('systemctl --failed --no-legend --plain')).toBe('');
    } finally {
      await guest.stop();
    }
  }, testTimeoutMs);
});

