import { execa } from 'execa';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { runCli, specFlags } from '../helpers/cli.js';

// Under TCG a boot takes 60–120 s on two cores; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 900_000;
const hostname = 'ros-disk-e2e';
const GiB = 2 ** 30;

/*
 * The installed system, looked at from inside: one disk built with a
 * cloud-config carrying a fresh SSH key; its raw form, enlarged before its
 * first boot, booted in one qemu session that reboots it several times (each
 * TCG boot costs a minute), then each format booted once. The checks log in
 * as rancher and look with sudo.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-disk-'));
const key = join(work, 'id_ed25519');
/** The disk in each bootable format, built once with a cloud-config carrying a fresh SSH key. */
const disks: Record<string, string> = {};

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build disk e2e', '-f', key]);
  const cloudConfig = join(work, 'cloud-config.yaml');
  writeFileSync(cloudConfig, `#cloud-config\nhostname: ${hostname}\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
  const built = await runCli(['disk', '--cloud-config', cloudConfig, '--format', 'raw,qcow2,vhd,vmdk', '--output', join(work, 'disk'), ...specFlags()]);
  expect(built.stderr).not.toMatch(/error:/);
  expect(built.exitCode).toBe(0);
  for (const path of built.stdout.trim().split('\n')) disks[path.replace(/^.*\.(\w+)$/, '$1')] = path;
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('an installed disk, booted and looked at over SSH', () => {
  let guest: Guest;
  const sh = async (command: string) => {
    const result = await guest.run(`sudo -n sh -c '${command.replace(/'/g, `'\\''`)}'`);
    return { ...result, stdout: result.stdout.trim() };
  };

  beforeAll(async () => {
    // A copy, enlarged as a cloud or a bigger disk would be, so the artifact itself stays as built.
    const machine = join(work, 'machine.raw');
    copyFileSync(disks.raw!, machine);
    await execa('qemu-img', ['resize', '-f', 'raw', machine, '4G']);
    guest = await startGuest({ artifact: machine, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'machine.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
    await guest.waitForLogin();
  });

  afterAll(async () => {
    await guest?.stop();
  });

  it('runs the active image as a read-only root with the cloud-config on /oem', async () => {
    expect((await sh('cat /run/ros/boot')).stdout).toContain('IMAGE=active');
    expect((await sh('findmnt -n -o FSTYPE /')).stdout).toBe('squashfs');
    const write = await sh('touch /usr/ros-e2e');
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect((await sh('stat -c %a /oem/cloud-config.yaml')).stdout).toBe('600');
    expect((await sh('cat /oem/cloud-config.yaml')).stdout).toContain(`hostname: ${hostname}`);
    expect((await sh('hostname')).stdout).toBe(hostname);
  }, testTimeoutMs);

  it('grew COS_PERSISTENT over the enlarged disk on its first boot', async () => {
    // The disk was enlarged by 2 GiB (whatever the image size): all of it belongs to COS_PERSISTENT now, and its file system fills it.
    const size = Number((await sh('lsblk -bndo SIZE /dev/disk/by-label/COS_PERSISTENT')).stdout);
    expect(size).toBeGreaterThan(2 * GiB);
    const filesystem = Number((await sh("df -B1 --output=size /run/initramfs/ros/persistent | tail -1")).stdout);
    expect(filesystem).toBeGreaterThan(0.9 * size); // ext4 keeps about 6 % for inode tables and its journal
  }, testTimeoutMs);

  it('keeps the persistent paths and forgets /etc across a reboot', async () => {
    const writes = 'echo gone > /etc/ros-e2e && echo kept > /root/ros-e2e && mkdir -p /home/e2e && echo kept > /home/e2e/file && echo kept > /var/lib/rancher/ros-e2e && sync';
    expect((await sh(writes)).exitCode).toBe(0);
    await guest.reboot();
    expect((await sh('test -e /etc/ros-e2e')).exitCode).not.toBe(0);
    expect((await sh('cat /root/ros-e2e /home/e2e/file /var/lib/rancher/ros-e2e')).stdout).toBe('kept\nkept\nkept');
    // The boot completed, so boot assessment cleared GRUB's pending mark.
    expect((await sh('grep -c ^boot_pending= /oem/grubenv')).stdout).toBe('0');
  }, testTimeoutMs);

  it('boots recovery once when next_entry says so, then active again', async () => {
    expect((await sh('/usr/libexec/ros/grubenv /oem/grubenv next_entry=recovery')).exitCode).toBe(0);
    await guest.reboot();
    expect((await sh('cat /run/ros/boot')).stdout).toContain('IMAGE=recovery');
    expect((await sh('cat /proc/cmdline')).stdout).toContain('root=ros:LABEL=COS_RECOVERY');
    await guest.reboot();
    expect((await sh('cat /run/ros/boot')).stdout).toContain('IMAGE=active');
  }, testTimeoutMs);

  it('comes up on passive by itself, and says so, when the active image cannot boot', async () => {
    const state = '/run/initramfs/ros/state/cOS/active';
    expect((await sh(`mount -o remount,rw /run/initramfs/ros/state && mv ${state}/rootfs.squashfs ${state}/rootfs.squashfs.broken && sync`)).exitCode).toBe(0);
    // The active boot fails in the initramfs and restarts the machine; GRUB then starts passive.
    await guest.reboot({ timeoutSeconds: 2 * bootTimeoutSeconds });
    const boot = (await sh('cat /run/ros/boot')).stdout;
    expect(boot).toContain('IMAGE=passive');
    expect(boot).toContain('FALLBACK=yes');
    expect((await sh('test -e /run/ros/fallback')).exitCode).toBe(0);
    expect((await sh('cat /root/ros-e2e')).stdout).toBe('kept');
    expect(readFileSync(guest.logPath, 'utf8')).toContain('The last boot of the active image did not complete: starting passive.');
  }, 2 * testTimeoutMs);

  // The reboot into a rolled-back image is proven in test/e2e/upgrade.test.ts; here the swap itself and what status says of it.
  it('`ros status` says so; `ros rollback` makes the running image active and clears the fallback mark', async () => {
    const before = (await sh('ros status')).stdout;
    expect(before).toContain('booted: passive (FALLBACK: the active image did not boot)');
    expect(before).toMatch(/^active: +unreadable \(no rootfs\.squashfs in /m);
    expect(before).toMatch(/^passive: +ros-build-test\/os:it \(version it\)$/m);
    expect(before).toMatch(/^recovery: +ros-build-test\/os:it \(version it\)$/m);
    expect(before).toContain('last change: none recorded');
    const rolled = await sh('ros rollback');
    expect(rolled.exitCode, rolled.stderr).toBe(0);
    const after = (await sh('ros status')).stdout;
    expect(after).toMatch(/^active: +ros-build-test\/os:it \(version it\)$/m);
    expect(after).toMatch(/^passive: +unreadable/m);
    expect(after).toMatch(/^last change: rollback at .*: passive became active \(booted from passive as a fallback\)$/m);
    expect((await sh('grep -c ^boot_pending= /oem/grubenv')).stdout).toBe('0');
  }, testTimeoutMs);
});

describe('every bootable disk format reaches a login prompt', () => {
  const boot = async (artifact: string, firmware: 'bios' | 'uefi') => {
    const log = join(mkdtempSync(join(tmpdir(), 'ros-disk-boot-')), 'serial.log');
    const result = await runCli(['boot', artifact, '--firmware', firmware, '--snapshot', '--timeout', String(bootTimeoutSeconds), '--log', log]);
    return { ...result, serial: readFileSync(log, 'utf8') };
  };

  for (const [format, firmware] of [['raw', 'uefi'], ['qcow2', 'bios'], ['vhd', 'bios'], ['vmdk', 'bios']] as const) {
    it(`${format} under ${firmware === 'uefi' ? 'OVMF' : 'SeaBIOS'}`, async () => {
      const result = await boot(disks[format]!, firmware);
      expect(result.stderr).not.toMatch(/error:/);
      expect(result.exitCode).toBe(0);
      expect(result.serial).toContain('ros: booted the active image from LABEL=COS_STATE');
      expect(result.serial).toContain('ros: reached multi-user.target: RancherOS');
    }, testTimeoutMs);
  }
});
