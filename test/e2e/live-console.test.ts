import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGuest, type Guest } from '../../src/boot/guest.js';
import { runCli, specFlags } from '../helpers/cli.js';
import { errorLines, lastDiskBoot } from '../helpers/serial.js';
import { writeTestSpec } from '../helpers/spec.js';

// Under TCG a boot takes 45–120 s on two cores, an install a few minutes; allow for a loaded CI machine.
const bootTimeoutSeconds = 420;
const testTimeoutMs = 1_200_000;
const PROMPT = /rancher@[\w.-]+:~\$ $/m;
const password = 'e2e-console-password';

/*
 * First contact, as a person at the machine: the stock ISO (no configuration
 * at all) booted under UEFI beside a blank disk, used only through its serial console,
 * typed on by this test: it must come up clean and logged in, `sudo ros
 * install` asks its questions there, a "no" leaves the disk as it was, a "yes"
 * installs, and the installed system then takes the key (SSH) and the
 * password (its console) that were typed. Then the ISO's install entry
 * (ros.install.automatic=true, no device): the console offers the installer.
 */
const work = mkdtempSync(join(tmpdir(), 'ros-live-console-'));
const key = join(work, 'id_ed25519');
const disk = join(work, 'blank.raw');
let iso = '';
let live: Guest;
let poweredOn = 0;


/** Type a command at the shell prompt and return what it printed before the next prompt. */
async function shell(guest: Guest, command: string, timeoutSeconds = 120): Promise<string> {
  guest.console.type(`${command}; echo "<<done:$?>>"\r`);
  const match = await guest.console.expect(/\r?\n([\s\S]*?)<<done:(\d+)>>/, timeoutSeconds);
  await guest.console.expect(PROMPT);
  return match[1]!.trim();
}

/** `sudo ros install` at the console, answered as a person would: the blank disk, no config file, a key and a password; then the confirmation. */
async function answerInstaller(guest: Guest, confirmation: 'yes' | 'no'): Promise<void> {
  guest.console.type('sudo ros install\r');
  const listing = await guest.console.expect(/Disks:\n([\s\S]*?)Install to which disk\? \[1-\d+\]: /);
  const entry = listing[1]!.split('\n').find((line) => line.includes('/dev/vda'));
  expect(entry, listing[1]).toMatch(/^\s+\d+\) \/dev\/vda +8\.0 GiB/);
  // The medium itself is listed as unusable.
  expect(listing[1]).toMatch(/\/dev\/sr0 .*\((read-only|in use)/);
  guest.console.type(`${/(\d+)\)/.exec(entry!)![1]}\r`);
  await guest.console.expect(/Configuration file or http\(s\) URL \(empty: give a key or a password instead\): /);
  guest.console.type('\r');
  await guest.console.expect(/SSH public key for rancher .*: /);
  guest.console.type(`${readFileSync(`${key}.pub`, 'utf8').trim()}\r`);
  await guest.console.expect(/Password for rancher \(not shown; empty: none\): /);
  guest.console.type(`${password}\r`);
  await guest.console.expect(/The same password again: /);
  guest.console.type(`${password}\r`);
  const summary = await guest.console.expect(/([\s\S]*)Erase \/dev\/vda and install\? Type "yes" to go on: /);
  expect(summary[1]).toMatch(/configuration: the SSH key ssh-ed25519 .* and a password \(hashed\) for rancher, answered here/);
  // Not echoed: the password never appears on the console.
  expect(summary[1]).not.toContain(password);
  guest.console.type(`${confirmation}\r`);
}

beforeAll(async () => {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ros-build live console e2e', '-f', key]);
  const built = await runCli(['iso', ...specFlags()]);
  expect(built.exitCode, built.stderr).toBe(0);
  iso = built.stdout.trim();
  await execa('truncate', ['-s', '8G', disk]);
  poweredOn = Date.now();
  // Under OVMF with Secure Boot enforced and Microsoft's keys (a PC as shipped): the ISO's UEFI path gets its
  // clean-boot proof here, through shim and the signed GRUB (the installed disk below boots under SeaBIOS).
  live = await startGuest({ artifact: iso, firmware: 'uefi-secure', timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'live.serial.log'), drives: [{ file: disk }] });
  await live.waitForLogin();
}, 3_600_000);

afterAll(async () => {
  await live?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the stock ISO at its serial console', () => {
  it('boots with Secure Boot enforced, no FAILED unit and no error line, and logs rancher in by itself', async () => {
    await live.console.expect(/login: rancher \(automatic login\)/);
    await live.console.expect(PROMPT);
    process.stdout.write(`stock ISO under TCG: a shell prompt on the serial console ${((Date.now() - poweredOn) / 1000).toFixed(0)} s after qemu started\n`);
    expect(errorLines(readFileSync(live.logPath, 'utf8'))).toEqual([]);
    expect(await shell(live, 'systemctl --failed --no-legend --plain | wc -l')).toBe('0');
    // Nothing at error priority in the journal either: kernel, dracut, units, logins.
    expect(await shell(live, 'sudo journalctl -b -p err --no-pager -o cat')).toBe('');
    expect(await shell(live, 'id -un')).toBe('rancher');
    // Booted with Secure Boot enforced, and the kernel knows it (Debian's locks itself down then).
    expect(await shell(live, 'mokutil --sb-state')).toBe('SecureBoot enabled');
    expect(await shell(live, 'cat /sys/kernel/security/lockdown')).toContain('[integrity]');
  }, testTimeoutMs);

  it('answers "no" at the confirmation: the blank disk is left untouched', async () => {
    await answerInstaller(live, 'no');
    await live.console.expect(/not confirmed: nothing was written/);
    await live.console.expect(PROMPT);
    // Not a block of the sparse file was written: no partition table, nothing.
    expect(statSync(disk).blocks).toBe(0);
  }, testTimeoutMs);

  it('installs with the key and the password typed at the console', async () => {
    const started = Date.now();
    await answerInstaller(live, 'yes');
    await live.console.expect(/installed to \/dev\/vda; rebooting/, 1200);
    process.stdout.write(`interactive install under TCG: ${((Date.now() - started) / 1000).toFixed(0)} s from the confirmation to the reboot\n`);
    await live.stop();
    expect(readFileSync(live.logPath, 'utf8')).not.toContain(password);
  }, testTimeoutMs);
});

describe('the system installed at the console', () => {
  let guest: Guest;
  beforeAll(async () => {
    guest = await startGuest({ artifact: disk, timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'installed.serial.log'), ssh: { keyFile: key, user: 'rancher' } });
    await guest.waitForLogin();
  }, 3_600_000);
  afterAll(async () => {
    await guest?.stop();
  });

  it('takes the typed key over SSH, boots clean, and its console asks for the password (no automatic login)', async () => {
    const result = await guest.run('id -un; cat /run/ros/boot | head -1; sudo -n systemctl --failed --no-legend --plain | wc -l; sudo -n ros status | grep ^firmware:');
    expect(result.stdout.trim()).toBe('rancher\nIMAGE=active\n0\nfirmware: BIOS');
    const log = readFileSync(guest.logPath, 'utf8');
    expect(errorLines(lastDiskBoot(log))).toEqual([]);
    expect(log).not.toContain('automatic login');
    guest.console.type('rancher\r');
    await guest.console.expect(/Password: $/m);
    guest.console.type(`${password}\r`);
    await guest.console.expect(PROMPT);
    expect(await shell(guest, 'id -un')).toBe('rancher');
  }, testTimeoutMs);
});

describe("the ISO's install entry (ros.install.automatic=true without a device)", () => {
  it('offers the installer at the console instead of failing, and Ctrl-C at a question writes nothing', async () => {
    const spec = writeTestSpec(work, 'install-entry', { cmdline: 'ros.install.automatic=true' });
    const built = await runCli(['iso', '-f', spec, '--output', join(work, 'install-entry.iso'), ...specFlags()]);
    expect(built.exitCode, built.stderr).toBe(0);
    const blank = join(work, 'blank-2.raw');
    await execa('truncate', ['-s', '8G', blank]);
    const guest = await startGuest({ artifact: join(work, 'install-entry.iso'), timeoutSeconds: bootTimeoutSeconds, logPath: join(work, 'install-entry.serial.log'), drives: [{ file: blank }] });
    try {
      await guest.waitForLogin();
      await guest.console.expect(/Press Enter to install RancherOS to a disk/);
      guest.console.type('\r');
      await guest.console.expect(/Install to which disk\? \[1-\d+\]: /);
      guest.console.type('\x03');
      await guest.console.expect(PROMPT);
      expect(statSync(blank).blocks).toBe(0);
      expect(errorLines(readFileSync(guest.logPath, 'utf8'))).toEqual([]);
    } finally {
      await guest.stop();
    }
  }, testTimeoutMs);
});
