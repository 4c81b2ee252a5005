import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { runCli, specFlags } from '../helpers/cli.js';
import { writeTestSpec } from '../helpers/spec.js';

// Under TCG a boot takes 45–120 s on two cores, an install a few minutes; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 1_200_000;

/*
 * The unattended install, as a user runs it: the ISO booted with the
 * automated install arguments on its kernel command line (a spec that adds
 * them), a blank virtual disk beside it, the config for the installed system
 * on the medium (config_url). It installs and powers off; the disk then boots
 * on its own under OVMF, checked over SSH as rancher (test/e2e/live-console.test.ts
 * boots the disk it installs under SeaBIOS).
 */
const work = mkdtempSync(join(tmpdir(), 'ros-install-'));
const key = join(work, 'id_ed25519');
const disk = join(work, 'blank.raw');
let installSeconds = 0;

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build install e2e', '-f', key]);
  const cloudConfig = join(work, 'cloud-config.yaml');
  writeFileSync(cloudConfig, `#cloud-config\n# installed by the e2e test\nhostname: ros-installed\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
  const install = 'ros.install.automatic=true ros.install.device=/dev/vda ros.install.config_url=/run/initramfs/live/ros/cloud-config.yaml ros.install.power_off=true';
  const spec = writeTestSpec(work, 'install', { cmdline: install });
  const iso = await runCli(['iso', '-f', spec, '--cloud-config', cloudConfig, '--output', join(work, 'install.iso'), ...specFlags()]);
  expect(iso.exitCode, iso.stderr).toBe(0);
  await execa('truncate', ['-s', '4G', disk]);
  const started = Date.now();
  const live = await startGuest({ artifact: join(work, 'install.iso'), timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'install.serial.log'), drives: [{ file: disk }] });
  try {
    const exit = await live.waitForExit(1200);
    expect(exit, `the live system did not power off after installing; serial log ${live.logPath}`).toBeDefined();
  } finally {
    await live.stop();
  }
  installSeconds = (Date.now() - started) / 1000;
  process.stdout.write(`ros install from the ISO under TCG: ${installSeconds.toFixed(0)} s from power on to power off\n`);
}, 3_600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('an unattended install from the ISO', () => {
  it('said what it did on the console, and powered off', () => {
    const log = readFileSync(join(work, 'install.serial.log'), 'utf8');
    expect(log).toMatch(/ros install/i);
    expect(log).toContain('/dev/vda');
    expect(installSeconds).toBeGreaterThan(0);
  });

  it('boots the installed disk on its own under OVMF with Secure Boot enforced, with the installed config', async () => {
    const guest: Guest = await startGuest({ artifact: disk, firmware: 'uefi-secure', snapshot: true, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'disk.uefi.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
    try {
      await guest.waitForLogin();
      const sh = async (command: string) => (await guest.run(`sudo -n sh -c '${command}'`)).stdout.trim();
      expect(await sh('id -un; hostname')).toBe('root\nros-installed');
      expect(await sh('cat /run/ros/boot')).toContain('IMAGE=active');
      expect(await sh('test -d /sys/firmware/efi && echo uefi || echo bios')).toBe('uefi');
      // The installer wrote the medium's signed chain: the firmware took shim, shim the signed GRUB and kernel.
      expect(await sh('mokutil --sb-state')).toBe('SecureBoot enabled');
      expect(await sh('stat -c %a /oem/cloud-config.yaml')).toBe('600');
      expect(await sh('cat /oem/cloud-config.yaml')).toContain('# installed by the e2e test');
      expect((await sh('lsblk -rno PARTLABEL /dev/vda')).split('\n').filter(Boolean)).toEqual(['BIOS', 'COS_GRUB', 'COS_OEM', 'COS_RECOVERY', 'COS_STATE', 'COS_PERSISTENT']);
      const status = await sh('ros status');
      for (const slot of ['active', 'passive', 'recovery']) expect(status).toMatch(new RegExp(`^${slot}: +ros-build-test/os:it \\(version it\\)$`, 'm'));
      // COS_PERSISTENT takes the rest of the 4 GiB disk.
      expect(Number(await sh('lsblk -bndo SIZE /dev/disk/by-label/COS_PERSISTENT'))).toBeGreaterThan(1.2 * 2 ** 30);
    } finally {
      await guest.stop();
    }
  }, testTimeoutMs);
});
