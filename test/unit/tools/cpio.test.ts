import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCpioArchive } from '../../../src/tools/cpio.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Unpack with GNU cpio, as the kernel would unpack the initrd: the reference reader. */
function unpack(archive: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpio-test-'));
  dirs.push(dir);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: dir, input: archive });
  return dir;
}

describe('buildCpioArchive', () => {
  const entries = [
    { path: '/ros/install/esp/EFI/BOOT/BOOTX64.EFI', content: Buffer.from('shim') },
    { path: 'ros/cloud-config.yaml', content: Buffer.from('#cloud-config\nhostname: n1\n'), mode: 0o600 },
    { path: 'ros/install/core.img', content: Buffer.alloc(1027, 7) },
  ];

  it('gives cpio(1) every file with its bytes, mode and time, and the directories leading to them', () => {
    const dir = unpack(buildCpioArchive(entries, 1_700_000_000));
    expect(readFileSync(join(dir, 'ros/install/esp/EFI/BOOT/BOOTX64.EFI'), 'utf8')).toBe('shim');
    expect(readFileSync(join(dir, 'ros/install/core.img'))).toEqual(Buffer.alloc(1027, 7));
    const config = statSync(join(dir, 'ros/cloud-config.yaml'));
    expect(config.mode & 0o777).toBe(0o600);
    expect(config.mtimeMs).toBe(1_700_000_000_000);
    expect(statSync(join(dir, 'ros/install/esp/EFI')).isDirectory()).toBe(true);
  });

  it('is the same bytes for the same inputs in any order, and a whole number of 512-byte blocks', () => {
    const a = buildCpioArchive(entries, 1);
    expect(buildCpioArchive([...entries].reverse(), 1)).toEqual(a);
    expect(a.length % 512).toBe(0);
    expect(buildCpioArchive(entries, 2)).not.toEqual(a);
  });

  it('refuses a path that climbs out or is given twice', () => {
    expect(() => buildCpioArchive([{ path: 'ros/../etc/shadow', content: Buffer.alloc(1) }], 0)).toThrow(/invalid path/);
    expect(() => buildCpioArchive([{ path: 'a', content: Buffer.alloc(1) }, { path: '/a', content: Buffer.alloc(1) }], 0)).toThrow(/given twice/);
  });
});
