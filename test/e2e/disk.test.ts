import { execa } from 'execa';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { runCli, specFlags } from '../helpers/cli.js';
import { errorLines, lastDiskBoot } from '../helpers/serial.js';

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
  const built = await runCli(['disk', '--cloud-config', cloudConfig, '--format', 'raw', '--output', join(work, 'disk'), ...specFlags()]);
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
  /** A clean boot: no unit failed, and the serial console of the last boot (from GRUB's line on) has no FAILED or error line. */
  const expectCleanBoot = async () => {
    expect((await sh('systemctl --failed --no-legend --plain')).stdout).toBe('');
    expect(errorLines(lastDiskBoot(readFileSync(guest.logPath, 'utf8')))).toEqual([]);
  };

  beforeAll(async () => {
    // A copy, enlarged as a cloud or a bigger disk would be, so the artifact itself stays as built.
    const machine = join(work, 'machine.raw');
    copyFileSync(disks.raw!, machine);
    await execa('qemu-img', ['resize', '-f', 'raw', machine, '+2G']);
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
    // The raw platform's data source, unset in the config: no NoCloud or config-2 volume here, and the boot said so.
    const journal = (await sh('journalctl -b -o cat')).stdout;
    expect(journal).toContain('data sources of the raw platform: cdrom (ros.data_sources is not set)');
    expect(journal).toContain('no data source answered (cdrom); going on without user data');
  }, testTimeoutMs);

  it('grew COS_PERSISTENT over the enlarged disk on its first boot', async () => {
    // The disk was enlarged by 2 GiB (whatever the image size): all of it belongs to COS_PERSISTENT now, and its file system fills it.
    const size = Number((await sh('lsblk -bndo SIZE /dev/disk/by-label/COS_PERSISTENT')).stdout);
    expect(size).toBeGreaterThan(2 * GiB);
    const filesystem = Number((await sh("df -B1 --output=size /run/initramfs/ros/persistent | tail -1")).stdout);
    expect(filesystem).toBeGreaterThan(0.9 * size); // ext4 keeps about 6 % for inode tables and its journal
  }, testTimeoutMs);

  it('keeps /var, /usr/local, /home, /opt, /root and /etc/ssh across a reboot, and forgets the rest of /etc', async () => {
    const kept = ['/var/lib/ros-e2e-any/file', '/var/opt/ros-e2e/file', '/usr/local/bin/ros-e2e', '/home/rancher/ros-e2e', '/opt/ros-e2e/file', '/root/ros-e2e', '/etc/ssh/ros-e2e'];
    const writes = kept.map((path) => `mkdir -p ${path.replace(/\/[^/]+$/, '')} && echo kept > ${path}`).join(' && ');
    expect((await sh(`${writes} && echo gone > /etc/ros-e2e && sync`)).exitCode).toBe(0);
    const hostKey = (await sh('cat /etc/ssh/ssh_host_ed25519_key.pub')).stdout;
    // Each persistent path is an overlay over the image's directory, its upper layer on COS_PERSISTENT.
    expect((await sh('findmnt -n -o FSTYPE,OPTIONS /var')).stdout).toMatch(/^overlay .*upperdir=\/run\/initramfs\/ros\/persistent\/var,/);
    await guest.reboot();
    await expectCleanBoot();
    expect((await sh('test -e /etc/ros-e2e')).exitCode).not.toBe(0);
    expect((await sh(`cat ${kept.join(' ')}`)).stdout).toBe(kept.map(() => 'kept').join('\n'));
    expect((await sh('cat /etc/ssh/ssh_host_ed25519_key.pub')).stdout).toBe(hostKey);
    // The boot completed, so boot assessment cleared its count of active's tries and recorded the boot.
    expect((await sh('grep -c ^active_tries= /oem/grubenv')).stdout).toBe('0');
    expect((await sh('tail -1 /var/lib/ros/boots')).stdout).toMatch(/ image=active try=1 fallback= result=up$/);
    const status = (await sh('ros status')).stdout;
    expect(status).toMatch(/^booted: active \(try 1 of 3\)$/m);
    expect(status).toMatch(/^persistent: COS_PERSISTENT$/m);
  }, testTimeoutMs);

  // Three failed boots and the fallback to passive, then to recovery, are proven in test/e2e/upgrade.test.ts (a broken
  // upgrade); the reboot into a rolled-back image too. Here the swap itself and what status says of it.
  it('`ros rollback` swaps active and passive and clears boot assessment\'s counts; `ros status` says so', async () => {
    // A count as GRUB leaves it after a boot of active that never came up.
    expect((await sh('/usr/libexec/ros/grubenv /oem/grubenv active_tries=2')).exitCode).toBe(0);
    expect((await sh('ros status')).stdout).toMatch(/^boot tries: active 2 of 3, passive 0 of 3$/m);
    for (const round of [1, 2]) {
      const rolled = await sh('ros rollback');
      expect(rolled.exitCode, rolled.stderr).toBe(0);
      const after = (await sh('ros status')).stdout;
      expect(after).toMatch(/^last change: rollback at .*: passive became active \(booted from active\)$/m);
      expect(after).toMatch(/^boot tries: active 0 of 3, passive 0 of 3$/m);
      expect((await sh('grep -c _tries= /oem/grubenv')).stdout, `round ${round}`).toBe('0');
    }
  }, testTimeoutMs);

  it('boots recovery when next_entry says so, with the OEM configuration, SSH and ros, COS_PERSISTENT left alone', async () => {
    expect((await sh('/usr/libexec/ros/grubenv /oem/grubenv next_entry=recovery')).exitCode).toBe(0);
    await guest.reboot();
    expect((await sh('cat /run/ros/boot')).stdout).toContain('IMAGE=recovery');
    expect((await sh('cat /proc/cmdline')).stdout).toContain('root=ros:LABEL=COS_RECOVERY');
    expect((await sh('hostname')).stdout).toBe(hostname);
    const status = (await sh('ros status')).stdout;
    expect(status).toMatch(/^booted: recovery$/m);
    expect(status).toMatch(/^persistent: NOT KEPT: the recovery image leaves COS_PERSISTENT unmounted \(mount it by hand/m);
    await expectCleanBoot();
    expect((await sh('test -e /root/ros-e2e')).exitCode).not.toBe(0);
    // The way back to active (and an earlier release's COS_PERSISTENT read as the node's data) is test/e2e/upgrade.test.ts's last boot.
  }, testTimeoutMs);
});

describe('the raw disk under OVMF', () => {
  const boot = async (artifact: string, firmware: 'bios' | 'uefi', extra: string[] = []) => {
    const log = join(mkdtempSync(join(work, 'boot-')), 'serial.log');
    const result = await runCli(['boot', artifact, '--firmware', firmware, '--snapshot', '--timeout', String(bootTimeoutSeconds), '--log', log, ...extra]);
    return { ...result, serial: readFileSync(log, 'utf8') };
  };

  // The raw disk's boot doubles as the proof for a COS_PERSISTENT that cannot be mounted (one boot, not two): a copy whose
  // COS_PERSISTENT carries an ext4 feature bit no kernel knows, so every mount refuses it, set from the host with debugfs.
  it('raw under OVMF, with a COS_PERSISTENT that cannot be mounted: boots on a tmpfs, says so, writes nothing there', async () => {
    const broken = join(work, 'persistent-broken.raw');
    copyFileSync(disks.raw!, broken);
    const { stdout: table } = await execa('sgdisk', ['-p', broken]);
    const offset = Number(table.split('\n').find((line) => line.trim().endsWith(' COS_PERSISTENT'))!.trim().split(/\s+/)[1]) * 512;
    // s_feature_incompat: 0x60 into the superblock, which starts 1024 bytes into the partition.
    const field = Buffer.alloc(4);
    const fd = openSync(broken, 'r');
    readSync(fd, field, 0, 4, offset + 1024 + 0x60);
    closeSync(fd);
    const incompat = field.readUInt32LE(0);
    await execa('debugfs', ['-w', '-R', `ssv feature_incompat ${(incompat | 0x80000000) >>> 0}`, `${broken}?offset=${offset}`]);
    const checks = [
      'sudo ros status | grep -qx "persistent: NOT KEPT: cannot mount COS_PERSISTENT (/dev/disk/by-label/COS_PERSISTENT); /var, /home and the other persistent paths are on a tmpfs"',
      'test "$(findmnt -n -o FSTYPE /run/initramfs/ros/persistent)" = tmpfs',
      'echo written | sudo tee /var/lib/ros-e2e-tmpfs && test ! -e /root/ros-e2e',
      'test -z "$(systemctl --failed --no-legend --plain)"',
      'sudo journalctl -b -o cat | grep -q "cannot mount COS_PERSISTENT"',
      // And `ros-build boot --check` itself: a check that fails makes the run fail, naming it, after running the rest.
      'test -e /no/such/file',
    ];
    const result = await boot(broken, 'uefi', ['--ssh-key', key, ...checks.flatMap((check) => ['--check', check])]);
    expect(result.exitCode, `${result.stderr}\n${result.stdout}`).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ ok: boolean }> };
    expect(report.ok).toBe(true); // the boot itself
    expect(report.checks.map((check) => check.ok)).toEqual([true, true, true, true, true, false]);
    expect(result.stderr).toContain('✓ check: test -z "$(systemctl --failed --no-legend --plain)"');
    expect(result.stderr).toContain('✗ check: test -e /no/such/file (exit 1)');
    expect(result.stderr).toContain('1 of 6 checks failed');
    expect(result.stderr).toMatch(/boot phases \(serial console \+ systemd-analyze\): bootloader [\d.]+ s, kernel [\d.]+ s, initrd [\d.]+ s, userspace [\d.]+ s/);
    expect(errorLines(lastDiskBoot(result.serial))).toEqual([]);
    expect(result.serial).toContain('ros: cannot mount COS_PERSISTENT (/dev/disk/by-label/COS_PERSISTENT): the persistent paths are on a tmpfs, nothing written there survives a reboot');
    expect(result.serial).toContain('ros: reached multi-user.target: RancherOS');
  }, testTimeoutMs);

  // qcow2, vhd and the OVA's vmdk boot in test/e2e/cloud.test.ts, each with its cloud's stand-in.
});
