/**
 * A node's update of the ESP's boot chain (src/node/upgrade/boot-chain.ts)
 * on a real FAT32 ESP laid out as the disk builder lays it (mkfs.vfat and
 * mtools), with real EFI binaries: GRUB images made by grub-mkimage with an
 * .sbat section, signed with sbsign by two test keys. The power-cut check
 * records every sector each step writes and replays any subset of one
 * step's writes (a cut with the writes reordered) on the state before it:
 * EFI/BOOT must always hold one whole chain, the old or the new.
 * Booting an updated ESP under Secure Boot is test/e2e/upgrade.test.ts.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateEspChain, type ChainBytes } from '../../src/node/upgrade/boot-chain.js';
import { createSystem, type NodeSystem } from '../../src/node/system.js';
import { buildFatTreeCommands } from '../../src/tools/fat.js';
import { readPeImage } from '../../src/tools/pe-image.js';

const work = mkdtempSync(join(tmpdir(), 'ros-esp-chain-'));
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const SECTOR = 512;
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sbat = (part: 'shim' | 'grub', generation: number, version: string) =>
  `sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n${part},${generation},Test,${part},1,https://example.org\n${part}.debian,1,Debian,${part},${version},https://example.org\n`;

/** A real PE image with an .sbat section, signed by the named keys in order. */
async function makeEfi(name: string, part: 'shim' | 'grub', generation: number, version: string, keys: string[]): Promise<Buffer> {
  const csv = join(work, `${name}.csv`);
  writeFileSync(csv, sbat(part, generation, version));
  let path = join(work, `${name}.efi`);
  // The prefix differs per image, so no two are the same bytes.
  await execa('grub-mkimage', ['-O', 'x86_64-efi', '-p', `/${name}`, '-o', path, '--sbat', csv]);
  for (const key of keys) {
    const signed = `${path}.${key}`;
    await execa('sbsign', ['--key', join(work, `${key}.key`), '--cert', join(work, `${key}.pem`), '--output', signed, path]);
    path = signed;
  }
  return readFileSync(path);
}

const chains: Record<string, ChainBytes> = {};
let pristine: string;

beforeAll(async () => {
  for (const key of ['A', 'B']) {
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=Test key ${key}`, '-keyout', join(work, `${key}.key`), '-out', join(work, `${key}.pem`)]);
  }
  chains.old = { shim: await makeEfi('shim-old', 'shim', 3, '15.7-1', ['A']), grub: await makeEfi('grub-old', 'grub', 3, '2.06-13', ['A']) };
  // The new chain carries one more signature, as the e2e's does: what every machine that started the old one trusts is still on it.
  chains.new = {
    shim: await makeEfi('shim-new', 'shim', 4, '15.8-1', ['A', 'B']),
    grub: await makeEfi('grub-new', 'grub', 4, '2.06-14', ['A']),
    mokManager: await makeEfi('mm-new', 'shim', 4, '15.8-1', ['A']),
  };
  chains.foreign = { ...chains.new, shim: await makeEfi('shim-foreign', 'shim', 4, '15.8-1', ['B']) };
  chains.older = { ...chains.new, grub: await makeEfi('grub-older', 'grub', 2, '2.06-1', ['A']) };

  // The ESP as the disk builder lays it out (36 MiB here, 64 on a disk): FAT32 with one-sector clusters, shim, GRUB, MokManager, the stub and the menu.
  pristine = join(work, 'esp.img');
  await execa('mkfs.vfat', ['--invariant', '-F', '32', '-S', '512', '-s', '1', '-i', '12345678', '-n', 'COS_GRUB', '-C', pristine, String(36 * 1024)]);
  const files = { 'EFI/BOOT/BOOTX64.EFI': chains.old.shim, 'EFI/BOOT/grubx64.efi': chains.old.grub, 'EFI/BOOT/mmx64.efi': Buffer.from('old mokmanager'), 'EFI/debian/grub.cfg': Buffer.from('stub\n'), 'grub/grub.cfg': Buffer.from('menu\n') };
  mkdirSync(join(work, 'files'));
  const fatFiles = Object.entries(files).map(([target, content], i) => {
    const source = join(work, 'files', String(i));
    writeFileSync(source, content);
    return { target, source };
  });
  for (const { tool, args } of buildFatTreeCommands(pristine, fatFiles)) await execa(tool, args, { env });
}, 120_000);

function freshEsp(name: string): string {
  const path = join(work, `${name}.img`);
  copyFileSync(pristine, path);
  return path;
}

function nodeSystem(name: string): NodeSystem {
  const root = join(work, `root-${name}`);
  mkdirSync(root, { recursive: true });
  return createSystem(root, () => {});
}

async function readEspFile(image: string, path: string): Promise<Buffer | undefined> {
  const result = await execa('mcopy', ['-n', '-i', image, `::/${path}`, '-'], { env, encoding: 'buffer', reject: false, stripFinalNewline: false });
  return result.exitCode === 0 ? Buffer.from(result.stdout) : undefined;
}

const sha = (bytes: Buffer | undefined) => (bytes ? createHash('sha256').update(bytes).digest('hex') : 'missing');

describe('readPeImage on real EFI binaries', () => {
  it('lists every signature in order with its signer and issuer, and the SBAT records', () => {
    const shim = readPeImage(chains.new!.shim);
    expect(shim.signers).toEqual([
      { subject: 'Test key A', issuer: 'Test key A' },
      { subject: 'Test key B', issuer: 'Test key B' },
    ]);
    expect(shim.sbat.map((e) => `${e.component},${e.generation},${e.version}`)).toEqual(['sbat,1,1', 'shim,4,1', 'shim.debian,1,15.8-1']);
  });

  it('an unsigned image has no signers; bytes that are not a PE image say so', async () => {
    await execa('grub-mkimage', ['-O', 'x86_64-efi', '-p', '/unsigned', '-o', join(work, 'unsigned.efi')]);
    expect(readPeImage(readFileSync(join(work, 'unsigned.efi')))).toEqual({ signers: [], sbat: [] });
    expect(() => readPeImage(Buffer.from('#!/bin/sh\n'))).toThrow('not a PE image (no MZ header)');
  });
});

describe('updateEspChain', () => {
  it('replaces shim, GRUB and MokManager together, keeps the rest of the ESP, and leaves a clean file system', async () => {
    const esp = freshEsp('update');
    const line = await updateEspChain(nodeSystem('update'), chains.new, esp);
    expect(line).toBe('updated the ESP\'s boot chain: shim 15.7-1, grub 2.06-13 -> shim 15.8-1, grub 2.06-14');
    expect(sha(await readEspFile(esp, 'EFI/BOOT/BOOTX64.EFI'))).toBe(sha(chains.new!.shim));
    expect(sha(await readEspFile(esp, 'EFI/BOOT/grubx64.efi'))).toBe(sha(chains.new!.grub));
    expect(sha(await readEspFile(esp, 'EFI/BOOT/mmx64.efi'))).toBe(sha(chains.new!.mokManager));
    expect((await readEspFile(esp, 'EFI/debian/grub.cfg'))?.toString()).toBe('stub\n');
    expect((await readEspFile(esp, 'grub/grub.cfg'))?.toString()).toBe('menu\n');
    expect((await execa('mdir', ['-b', '-i', esp, '::/EFI'], { env })).stdout.split('\n').sort()).toEqual(['::/EFI/BOOT/', '::/EFI/debian/']);
    const fsck = await execa('fsck.vfat', ['-n', esp], { reject: false });
    expect(fsck.exitCode, fsck.stdout).toBe(0);
    // Run again: nothing to do.
    expect(await updateEspChain(nodeSystem('update'), chains.new, esp)).toBe('the ESP already holds the new image\'s boot chain');
  });

  it('a power cut at any write leaves one whole chain under EFI/BOOT, and the next run finishes the job', async () => {
    const esp = freshEsp('cut');
    const steps: Array<{ command: string; before: Buffer; after: Buffer; changed: number[] }> = [];
    let last = readFileSync(esp);
    const inner = nodeSystem('cut');
    const recording: NodeSystem = {
      ...inner,
      run: async (file, args, options) => {
        // The sectors written since the last command: the swap's single sector shows up at the command after it.
        const afterPrevious = readFileSync(esp);
        record('(between commands)', last, afterPrevious);
        const result = await inner.run(file, args, options);
        const after = readFileSync(esp);
        record([file, ...args.slice(2)].join(' '), afterPrevious, after);
        last = after;
        return result;
      },
    };
    function record(command: string, before: Buffer, after: Buffer): void {
      const changed: number[] = [];
      for (let sector = 0; sector < before.length / SECTOR; sector++) {
        if (before.compare(after, sector * SECTOR, (sector + 1) * SECTOR, sector * SECTOR, (sector + 1) * SECTOR) !== 0) changed.push(sector);
      }
      if (changed.length > 0) steps.push({ command, before, after, changed });
    }
    expect(await updateEspChain(recording, chains.new, esp)).toMatch(/^updated/);

    // Each step's writes, in any subset: none, all, each alone and all but each (for a step of few writes), and pseudo-random ones.
    const crashed = join(work, 'crashed.img');
    const expected = [`${sha(chains.old!.shim)} ${sha(chains.old!.grub)}`, `${sha(chains.new!.shim)} ${sha(chains.new!.grub)}`];
    let checked = 0;
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const step of steps) {
      const subsets: number[][] = [[], step.changed];
      if (step.changed.length <= 24) subsets.push(...step.changed.map((s) => [s]), ...step.changed.map((s) => step.changed.filter((t) => t !== s)));
      for (let i = 0; i < 6; i++) subsets.push(step.changed.filter(() => random() < 0.5));
      writeFileSync(crashed, step.before);
      const file = await open(crashed, 'r+');
      try {
        for (const subset of subsets) {
          for (const sector of subset) await file.write(step.after, sector * SECTOR, SECTOR, sector * SECTOR);
          await file.sync();
          const pair = `${sha(await readEspFile(crashed, 'EFI/BOOT/BOOTX64.EFI'))} ${sha(await readEspFile(crashed, 'EFI/BOOT/grubx64.efi'))}`;
          expect(expected, `a cut in "${step.command}" after writing sectors ${subset.join(',')}`).toContain(pair);
          for (const sector of subset) await file.write(step.before, sector * SECTOR, SECTOR, sector * SECTOR);
          checked++;
        }
      } finally {
        await file.close();
      }
    }
    expect(checked).toBeGreaterThan(20);
    // The swap is one sector written between two mtools commands.
    expect(steps.find((s) => s.command === '(between commands)')?.changed).toHaveLength(1);

    // A cut between the swap and the removal of the old files: the next run removes them and finds the chain current.
    writeFileSync(crashed, steps.find((s) => s.command === '(between commands)')!.after);
    expect((await execa('mdir', ['-b', '-i', crashed, '::/EFI'], { env })).stdout).toContain('NEWBOOT');
    expect(await updateEspChain(nodeSystem('cut'), chains.new, crashed)).toBe('the ESP already holds the new image\'s boot chain');
    expect((await execa('mdir', ['-b', '-i', crashed, '::/EFI'], { env })).stdout).not.toContain('NEWBOOT');
  }, 300_000);

  it('keeps the chain, byte for byte, when the new shim lacks a signer of the running one or the new GRUB is older', async () => {
    for (const [name, expected] of [
      ['foreign', 'the ESP keeps its boot chain: the new shim is not signed by "Test key A" as the running one is, and a machine that trusts only that key would refuse it (sign the image\'s shim with that key too)'],
      ['older', 'the ESP keeps its boot chain: the new grub is older than the running one (SBAT grub generation 2, the running one has 3), and shim refuses what the machine has revoked'],
    ] as const) {
      const esp = freshEsp(name);
      const before = sha(readFileSync(esp));
      expect(await updateEspChain(nodeSystem(name), chains[name], esp)).toBe(expected);
      expect(sha(readFileSync(esp)), name).toBe(before);
    }
  });

  it('leaves a mounted ESP alone: mtools beside a mounted vfat would corrupt it', async () => {
    const esp = freshEsp('mounted');
    const system = nodeSystem('mounted');
    mkdirSync(join(system.root, 'proc/self'), { recursive: true });
    writeFileSync(join(system.root, 'proc/self/mountinfo'), `22 1 259:1 / / ro,relatime shared:1 - squashfs /dev/loop0 ro\n40 22 7:3 / /boot/efi rw,relatime shared:9 - vfat ${esp} rw,fmask=0022\n`);
    const before = sha(readFileSync(esp));
    expect(await updateEspChain(system, chains.new, esp)).toBe('the ESP keeps its boot chain: it is mounted at /boot/efi (unmount it and run the upgrade again to update it)');
    expect(sha(readFileSync(esp))).toBe(before);
  });

  it('leaves alone an ESP that starts a GRUB made by ros-build, and says when the image has no chain', async () => {
    const esp = freshEsp('made');
    await execa('mdel', ['-i', esp, '::/EFI/BOOT/grubx64.efi'], { env });
    expect(await updateEspChain(nodeSystem('made'), chains.new, esp)).toMatch(/^the ESP keeps its boot chain: it starts a GRUB made by ros-build, not shim/);
    expect(await updateEspChain(nodeSystem('made'), undefined, esp)).toBe('the ESP keeps its boot chain: the new image carries no signed shim and GRUB');
  });
});
