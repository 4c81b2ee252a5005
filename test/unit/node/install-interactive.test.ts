import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planDiskLayout } from '../../../src/disk/layout.js';
import { UserError } from '../../../src/errors.js';
import { installSystem, type InstallIo } from '../../../src/node/install/index.js';
import { verifyPassword } from '../../../src/node/crypt.js';
import { askAccess, askConfig, askDisk, confirmInstall, createPrompter } from '../../../src/node/install/interactive.js';
import { createRecordingSystem, createTestRoot, GiB, MiB, writeMedium, type TestRoot } from './install-root.js';

const IMAGE_BYTES = 3 * MiB;
let test: TestRoot;

/** A terminal whose answers are typed in advance; everything written to it is kept. */
function terminal(answers: string[]): InstallIo & { text: () => string } {
  const input = new PassThrough();
  input.end(answers.map((a) => `${a}\n`).join(''));
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { input, output, interactive: true, text: () => text };
}

beforeEach(() => {
  test = createTestRoot();
  writeMedium(test, IMAGE_BYTES);
  test.addDisk('vda', { bytes: 8 * GiB, dev: '253:0', model: 'QEMU HARDDISK' });
  test.addDisk('vdb', { bytes: 256 * MiB, dev: '253:16', model: 'small disk' });
  test.addDisk('sr0', { bytes: GiB, dev: '11:0', model: 'QEMU DVD-ROM', readOnly: true });
  test.addDisk('loop0', { bytes: GiB, dev: '7:0', virtual: true });
});
afterEach(() => test.remove());

describe('createPrompter', () => {
  it('keeps answers that arrive before their question, trims them, and refuses when the input ends', async () => {
    const io = terminal(['  first ', 'second']);
    const prompter = createPrompter(io.input, io.output);
    expect(await prompter.ask('one? ')).toBe('first');
    expect(await prompter.ask('two? ')).toBe('second');
    await expect(prompter.ask('three? ')).rejects.toThrow(UserError);
    await expect(prompter.ask('four? ')).rejects.toThrow(/the input ended before the installer had its answers; nothing was written/);
    expect(io.text()).toBe('one? two? three? \nfour? \n');
  });
});

describe('askDisk', () => {
  it('lists the real disks with size and model, says which cannot be used, and asks until the answer is usable', async () => {
    const io = terminal(['9', 'vdb', '3', 'nope', '/dev/vda']);
    const prompter = createPrompter(io.input, io.output);
    expect(await askDisk(createRecordingSystem(test.root), prompter, IMAGE_BYTES)).toBe('/dev/vda');
    const lines = io.text().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'Disks:',
      expect.stringMatching(/^ {3}1\) \/dev\/sr0 +1\.0 GiB {2}QEMU DVD-ROM {2}\(read-only\)$/),
      expect.stringMatching(/^ {3}2\) \/dev\/vda +8\.0 GiB {2}QEMU HARDDISK$/),
      expect.stringMatching(/^ {3}3\) \/dev\/vdb +256\.0 MiB {2}small disk {2}\(too small, needs \d+MiB\)$/),
    ]);
    expect(io.text()).not.toContain('loop0');
    expect(io.text()).toContain('"9" is not one of the disks above: answer with its number or its name');
    expect(io.text()).toContain('/dev/vdb cannot be installed to: too small');
    expect(io.text()).toContain('"nope" is not one of the disks above');
  });

  it('marks the disk the live medium is mounted from as in use', async () => {
    test.write('proc/self/mountinfo', '40 22 253:0 / /run/initramfs/live ro - iso9660 /dev/vda ro\n');
    const io = terminal(['2']);
    await expect(askDisk(createRecordingSystem(test.root), createPrompter(io.input, io.output), IMAGE_BYTES)).rejects.toThrow(/input ended/);
    expect(io.text()).toMatch(/\/dev\/vda .*\(in use \(mounted, e\.g\. the live medium\)\)/);
    expect(io.text()).toContain('/dev/vda cannot be installed to: in use');
  });
});

describe('askConfig', () => {
  it('loads and checks each answer, asks again after a bad one, and takes an empty answer as none', async () => {
    test.write('bad.yaml', '#cloud-config\nhostname: [a\n');
    test.write('good.yaml', 'hostname: fine\n');
    const io = terminal(['/missing.yaml', '/bad.yaml', '/good.yaml']);
    const config = await askConfig(createRecordingSystem(test.root), createPrompter(io.input, io.output));
    expect(config).toMatchObject({ source: '/good.yaml', text: 'hostname: fine\n' });
    expect(io.text()).toContain('cannot read the install configuration /missing.yaml: ENOENT');
    expect(io.text()).toContain('the install configuration /bad.yaml has 1 error');
    expect(io.text()).toContain('warning: /good.yaml: does not start with "#cloud-config"');
    // No configuration: a key or a password instead.
    const none = terminal(['', 'github:someone', '']);
    expect(await askConfig(createRecordingSystem(test.root), createPrompter(none.input, none.output))).toMatchObject({ text: '#cloud-config\nssh_authorized_keys:\n  - github:someone\n' });
  });

  it('offers the configured source as the default', async () => {
    test.write('c.yaml', '#cloud-config\n');
    const io = terminal(['']);
    expect(await askConfig(createRecordingSystem(test.root), createPrompter(io.input, io.output), '/c.yaml')).toMatchObject({ source: '/c.yaml' });
    expect(io.text()).toContain('Configuration file or http(s) URL [/c.yaml]: ');
  });
});

describe('askAccess', () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2Pqf2m0y7QyZcY8f0Jx2w1m8E0e3n3hQ0aYtq3bX1c me@laptop';

  it('takes a key and a password typed twice, and writes the password hashed, never in clear', async () => {
    const io = terminal(['not a key', key, 'secret-1', 'secret-2', 'secret-1', 'secret-1']);
    const config = await askAccess(createPrompter(io.input, io.output));
    expect(io.text()).toContain('That is not an OpenSSH public key line');
    expect(io.text()).toContain('The two passwords differ: try again');
    expect(config.source).toMatch(/^the SSH key ssh-ed25519 AAAA.*… and a password \(hashed\) for rancher, answered here$/);
    expect(config.text).toContain(`ssh_authorized_keys:\n  - ${key}\n`);
    expect(config.text).not.toContain('secret-1');
    const hash = /password: (\S+)/.exec(config.text)![1]!.replace(/^"|"$/g, '');
    expect(verifyPassword('secret-1', hash)).toBe(true);
  });

  it('asks again when given neither a key nor a password', async () => {
    const io = terminal(['', '', 'github:someone', '']);
    const config = await askAccess(createPrompter(io.input, io.output));
    expect(io.text()).toContain('With neither a key nor a password nobody could log in to the installed system: give at least one');
    expect(config.text).not.toContain('password');
  });
});

describe('confirmInstall', () => {
  it.each([
    ['yes', true],
    ['Y', true],
    ['no', false],
    ['', false],
    ['yess', false],
  ])('answer %j goes on: %s', async (answer, expected) => {
    const io = terminal([answer]);
    expect(await confirmInstall(createPrompter(io.input, io.output), ['line one'], 'Erase /dev/vda and install?')).toBe(expected);
    expect(io.text()).toBe('line one\nErase /dev/vda and install? Type "yes" to go on: ');
  });
});

describe('interactive installSystem', () => {
  const addPartitions = () => {
    const layout = planDiskLayout({ imageBytes: IMAGE_BYTES, deviceBytes: 8 * GiB, seed: 'any' });
    for (const p of layout.partitions) test.addPartition('vda', `vda${p.number}`, { number: p.number, startSector: p.firstSector, bytes: p.sizeBytes, dev: `253:${p.number}` });
  };

  it('asks for the disk and the configuration, shows what will be erased, and installs once confirmed', async () => {
    addPartitions();
    test.write('cc.yaml', '#cloud-config\nhostname: asked\n');
    const io = terminal(['2', '/cc.yaml', 'yes']);
    const system = createRecordingSystem(test.root);
    expect(await installSystem(system, { reboot: false }, io)).toEqual({ result: 'installed', device: '/dev/vda', action: 'none' });
    expect(io.text()).toMatch(/Install to which disk\? \[1-3\]: .*Configuration file or http\(s\) URL \(empty: give a key or a password instead\): /s);
    expect(io.text()).toMatch(/ERASE everything on \/dev\/vda, 8\.0 GiB, QEMU HARDDISK, and write:\n {3}1 BIOS +1MiB\n {3}2 COS_GRUB +64MiB\n/);
    expect(io.text()).toContain('configuration: /cc.yaml (to COS_OEM/cloud-config.yaml)');
    expect(io.text()).toContain('Erase /dev/vda and install? Type "yes" to go on: ');
    expect(readFileSync(join(test.root, 'run/ros/install/COS_OEM/cloud-config.yaml'), 'utf8')).toBe('#cloud-config\nhostname: asked\n');
    expect(system.runs.map((r) => r.file)).toContain('sgdisk');
  });

  it('writes nothing when not confirmed', async () => {
    const io = terminal(['vda', '', 'github:someone', '', 'no']);
    const system = createRecordingSystem(test.root);
    await expect(installSystem(system, { reboot: false }, io)).rejects.toThrow(/not confirmed: nothing was written/);
    expect(system.runs).toEqual([]);
    expect(io.text()).toContain('configuration: the SSH key github:someone for rancher, answered here (to COS_OEM/cloud-config.yaml)');
  });

  it('asks only for the confirmation when the device is given, and not at all with --silent', async () => {
    addPartitions();
    const asked = terminal(['yes']);
    await installSystem(createRecordingSystem(test.root), { device: '/dev/vda', reboot: false }, asked);
    expect(asked.text()).not.toContain('Install to which disk');
    expect(asked.text()).toContain('Type "yes" to go on');
    const silent = terminal([]);
    await installSystem(createRecordingSystem(test.root), { device: '/dev/vda', silent: true, reboot: false }, silent);
    expect(silent.text()).not.toContain('Type "yes"');
  });

  it('in automatic mode without a device and without a terminal (the ISO install entry\'s unit), leaves the asking to the consoles', async () => {
    test.write('proc/cmdline', 'ros.install.automatic=true\n');
    const system = createRecordingSystem(test.root);
    const outcome = await installSystem(system, { automatic: true, reboot: false }, { ...terminal([]), interactive: false });
    expect(outcome).toEqual({ result: 'skipped', reason: expect.stringMatching(/no ros\.install\.device: the installer asks at the live consoles/) });
    expect(system.runs).toEqual([]);
  });

  it('in automatic mode without a device, asks on a terminal (and then confirms)', async () => {
    addPartitions();
    test.write('proc/cmdline', 'ros.install.automatic=true\n');
    const io = terminal(['2', '', 'github:someone', '', 'yes']);
    expect(await installSystem(createRecordingSystem(test.root), { automatic: true, reboot: false }, io)).toMatchObject({ result: 'installed', device: '/dev/vda' });
    expect(io.text()).toContain('Erase /dev/vda and install?');
  });
});
