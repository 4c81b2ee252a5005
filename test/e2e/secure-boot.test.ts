import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest } from '../../src/boot/guest.js';
import { runCli, specFlags } from '../helpers/cli.js';

// Under TCG a boot takes 45–120 s on two cores; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 900_000;

/*
 * Secure Boot with one's own keys, on a machine that trusts only them: OVMF
 * whose PK, KEK and db hold the ovmf package's "snakeoil" test key and
 * nothing else (OVMF_VARS_4M.snakeoil.fd; its key pair PkKek-1-snakeoil.*,
 * passphrase "snakeoil"). The same image's disk is built twice: as it comes
 * (shim signed by Microsoft only) and with `--secure-boot-key` (the
 * snakeoil signature added to shim, GRUB and the kernel).
 */
const SNAKEOIL = { key: '/usr/share/ovmf/PkKek-1-snakeoil.key', cert: '/usr/share/ovmf/PkKek-1-snakeoil.pem', vars: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd', password: 'snakeoil' };
const work = mkdtempSync(join(tmpdir(), 'ros-secure-boot-'));
const key = join(work, 'id_ed25519');
const disks: Record<'plain' | 'signed', string> = { plain: '', signed: '' };

/** Run debugfs requests against the ext4 partition labelled `name` inside a raw disk. */
async function debugfs(disk: string, name: string, requests: string[], write = false): Promise<void> {
  const { stdout } = await execa('sgdisk', ['-p', disk]);
  const line = stdout.split('\n').find((l) => l.trim().endsWith(` ${name}`))!;
  const offset = Number(line.trim().split(/\s+/)[1]) * 512;
  const script = join(work, 'debugfs.cmd');
  writeFileSync(script, `${requests.join('\n')}\n`);
  await execa('debugfs', [...(write ? ['-w'] : []), '-f', script, `${disk}?offset=${offset}`]);
}

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build secure boot e2e', '-f', key]);
  const cloudConfig = join(work, 'cloud-config.yaml');
  writeFileSync(cloudConfig, `#cloud-config\nssh_authorized_keys:\n  - ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
  for (const kind of ['plain', 'signed'] as const) {
    const signing = kind === 'signed' ? ['--secure-boot-key', SNAKEOIL.key, '--secure-boot-cert', SNAKEOIL.cert] : [];
    const built = await runCli(['disk', '--format', 'raw', '--cloud-config', cloudConfig, '--output', join(work, kind), ...signing, ...specFlags()], { env: { ROS_SECURE_BOOT_KEY_PASSWORD: SNAKEOIL.password } });
    expect(built.exitCode, built.stderr).toBe(0);
    disks[kind] = built.stdout.trim();
  }
}, 1_800_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a machine that trusts only your key (OVMF with the snakeoil key as PK, KEK and db)', () => {
  it('refuses the disk as it comes: its shim carries Microsoft\'s signature only', async () => {
    const guest = await startGuest({ artifact: disks.plain, firmware: 'uefi-secure', ovmfVars: SNAKEOIL.vars, snapshot: true, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'plain.serial.log') });
    try {
      await expect(guest.waitForLogin()).rejects.toThrow(/the firmware refused the boot loader \(Secure Boot: Access Denied\)/);
    } finally {
      await guest.stop();
    }
  }, testTimeoutMs);

  it('boots the disk signed with that key; a kernel signed with a key it does not trust is refused and GRUB falls back to passive', async () => {
    // The active slot's kernel loses its signatures (Debian's and yours) and gets one from a key nobody enrolled.
    const kernel = join(work, 'vmlinuz');
    await debugfs(disks.signed, 'COS_STATE', [`dump /cOS/active/vmlinuz ${kernel}`]);
    while (!(await execa('sbverify', ['--list', kernel], { reject: false, all: true })).all.includes('No signature table present')) await execa('sbattach', ['--remove', kernel]);
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=not enrolled anywhere', '-keyout', join(work, 'other.key'), '-out', join(work, 'other.pem')]);
    await execa('sbsign', ['--key', join(work, 'other.key'), '--cert', join(work, 'other.pem'), '--output', `${kernel}.other`, kernel]);
    await debugfs(disks.signed, 'COS_STATE', ['cd /cOS/active', 'rm vmlinuz', `write ${kernel}.other vmlinuz`], true);

    const guest = await startGuest({ artifact: disks.signed, firmware: 'uefi-secure', ovmfVars: SNAKEOIL.vars, snapshot: true, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'signed.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
    try {
      await guest.waitForLogin();
      const sh = async (command: string) => (await guest.run(`sudo -n sh -c '${command}'`)).stdout.trim();
      expect(await sh('mokutil --sb-state')).toBe('SecureBoot enabled');
      expect(await sh('ros status')).toMatch(/^firmware: UEFI, Secure Boot on$/m);
      // The firmware's db is the snakeoil certificate alone: what let shim in was your signature.
      const db = await sh('mokutil --db');
      expect(db).toContain('SnakeOil');
      expect(db).not.toContain('Microsoft');
      const boot = await sh('cat /run/ros/boot');
      expect(boot).toContain('IMAGE=passive');
      expect(boot).toContain('FALLBACK=yes');
      const serial = readFileSync(guest.logPath, 'utf8');
      expect(serial).toContain('Booting the active image (try 1 of 3)');
      expect(serial).toMatch(/bad shim signature|prohibited by secure boot policy|Access Denied/i);
      expect(serial).toContain('Booting the passive image');
    } finally {
      await guest.stop();
    }
  }, testTimeoutMs);
});
