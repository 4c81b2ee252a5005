import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, linkSync, symlinkSync, createReadStream, createWriteStream, readFileSync, existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { scratchDirs } from '../../helpers/scratch.js';

const scratch = scratchDirs();
import { RootfsFilter } from '../../../src/rootfs/filter.js';
import { classifyEntry, matchBootFile } from '../../../src/rootfs/rules.js';
import { pickSignedEfiChain } from '../../../src/rootfs/signed-efi.js';

/** A tar made by GNU tar with what a container export carries, filtered by RootfsFilter, extracted again. */
async function filterTree(build: (root: string) => void) {
  const work = scratch('ros-filter-');
  const root = join(work, 'in');
  mkdirSync(root);
  build(root);
  const input = join(work, 'in.tar');
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-C', root, '-cf', input, '.']);
  const output = join(work, 'out.tar');
  const filter = new RootfsFilter(1700000000);
  await pipeline(createReadStream(input, { highWaterMark: 777 }), filter, createWriteStream(output));
  const out = join(work, 'out');
  mkdirSync(out);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', out, '-xpf', output]);
  return { filter, out };
}

function setXattr(path: string, name: string, hex: string): void {
  execFileSync('python3', ['-c', `import os,sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]))`, path, name, hex]);
}

function getXattr(path: string, name: string): string {
  return execFileSync('python3', ['-c', `import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).hex())`, path, name]).toString().trim();
}

describe('RootfsFilter on a real tar stream', () => {
  it('drops and replaces Docker init-layer files and keeps everything else byte-exact', async () => {
    const longDir = 'usr/share/' + 'a-very-long-directory-name-'.repeat(5);
    const { out } = await filterTree((root) => {
      mkdirSync(join(root, 'etc'));
      mkdirSync(join(root, 'dev', 'pts'), { recursive: true });
      mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
      mkdirSync(join(root, longDir), { recursive: true });
      writeFileSync(join(root, '.dockerenv'), '');
      writeFileSync(join(root, 'dev', 'console'), '');
      writeFileSync(join(root, 'etc', 'hostname'), '');
      writeFileSync(join(root, 'etc', 'resolv.conf'), 'nameserver 10.0.0.1\n');
      writeFileSync(join(root, 'etc', 'hosts'), '172.17.0.2 abc\n');
      writeFileSync(join(root, 'etc', 'motd'), 'hello\n');
      writeFileSync(join(root, 'usr', 'bin', 'ping'), 'binary');
      linkSync(join(root, 'usr', 'bin', 'ping'), join(root, 'usr', 'bin', 'ping6'));
      symlinkSync('/proc/mounts', join(root, 'etc', 'mtab'));
      writeFileSync(join(root, longDir, 'file.txt'), 'deep');
    });
    expect(existsSync(join(out, '.dockerenv'))).toBe(false);
    expect(existsSync(join(out, 'dev', 'console'))).toBe(false);
    expect(existsSync(join(out, 'dev', 'pts'))).toBe(false);
    expect(existsSync(join(out, 'dev'))).toBe(true);
    expect(readFileSync(join(out, 'etc', 'hostname'), 'utf8')).toBe('localhost\n');
    expect(readFileSync(join(out, 'etc', 'resolv.conf'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'etc', 'hosts'), 'utf8')).toMatch(/^127\.0\.0\.1\tlocalhost/);
    expect(lstatSync(join(out, 'etc', 'mtab')).isSymbolicLink()).toBe(true);
    expect(execFileSync('readlink', [join(out, 'etc', 'mtab')]).toString().trim()).toBe('../proc/self/mounts');
    expect(readFileSync(join(out, 'etc', 'motd'), 'utf8')).toBe('hello\n');
    expect(lstatSync(join(out, 'usr', 'bin', 'ping6')).ino).toBe(lstatSync(join(out, 'usr', 'bin', 'ping')).ino);
    expect(readFileSync(join(out, longDir, 'file.txt'), 'utf8')).toBe('deep');
  });

  it('adds the replaced files a source lacks (an image\'s layers have no /etc/hosts)', async () => {
    const { out } = await filterTree((root) => {
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(root, 'etc', 'hostname'), 'builder\n');
    });
    expect(readFileSync(join(out, 'etc', 'hostname'), 'utf8')).toBe('localhost\n');
    expect(readFileSync(join(out, 'etc', 'hosts'), 'utf8')).toMatch(/^127\.0\.0\.1\tlocalhost/);
    expect(readFileSync(join(out, 'etc', 'resolv.conf'), 'utf8')).toBe('');
    expect(lstatSync(join(out, 'etc', 'mtab')).isSymbolicLink()).toBe(true);
  });

  // python3 comes with make setup: a missing one fails here rather than skipping the test.
  it('keeps binary extended attributes (file capabilities) intact', async () => {
    const value = '0100000200200000000000000000000000000000';
    const odd = 'ff00fe01c3';
    const { out } = await filterTree((root) => {
      writeFileSync(join(root, 'ping'), 'x');
      setXattr(join(root, 'ping'), 'user.capability-like', value);
      setXattr(join(root, 'ping'), 'user.not-utf8', odd);
    });
    expect(getXattr(join(out, 'ping'), 'user.capability-like')).toBe(value);
    expect(getXattr(join(out, 'ping'), 'user.not-utf8')).toBe(odd);
  });

  it('captures kernels and initramfs images from /boot while passing them through', async () => {
    const { filter, out } = await filterTree((root) => {
      mkdirSync(join(root, 'boot'));
      writeFileSync(join(root, 'boot', 'vmlinuz-6.1.0-9-amd64'), Buffer.alloc(70000, 7));
      writeFileSync(join(root, 'boot', 'initrd.img-6.1.0-9-amd64'), 'initrd');
      writeFileSync(join(root, 'boot', 'config-6.1.0-9-amd64'), 'config');
    });
    const captured = filter.bootFiles.map((f) => [f.kind, f.version, f.content.length]).sort();
    expect(captured).toEqual([['initrd', '6.1.0-9-amd64', 6], ['kernel', '6.1.0-9-amd64', 70000]]);
    expect(filter.bootFiles.find((f) => f.kind === 'kernel')!.content.equals(Buffer.alloc(70000, 7))).toBe(true);
    expect(readFileSync(join(out, 'boot', 'vmlinuz-6.1.0-9-amd64')).length).toBe(70000);
  });

  it('fails on a truncated stream instead of producing a short rootfs', async () => {
    const work = scratch('ros-filter-');
    writeFileSync(join(work, 'big'), Buffer.alloc(10000, 1));
    const tar = execFileSync('tar', ['-C', work, '-cf', '-', 'big']);
    const filter = new RootfsFilter();
    const sink = createWriteStream(join(work, 'out.tar'));
    const { Readable } = await import('node:stream');
    await expect(pipeline(Readable.from([tar.subarray(0, 3000)]), filter, sink)).rejects.toThrow(/truncated/);
  });
});

describe('rootfs rules', () => {
  it('classifies the init-layer paths', () => {
    expect(classifyEntry('.dockerenv').action).toBe('drop');
    expect(classifyEntry('dev/shm').action).toBe('drop');
    expect(classifyEntry('dev').action).toBe('keep');
    expect(classifyEntry('etc/hostname').action).toBe('replace');
    expect(classifyEntry('etc/hostname.d').action).toBe('keep');
  });

  it('recognises Debian and openSUSE boot file names', () => {
    expect(matchBootFile('boot/vmlinuz-6.4.0-150600.23-default')).toEqual({ kind: 'kernel', version: '6.4.0-150600.23-default' });
    expect(matchBootFile('boot/initrd-6.4.0-150600.23-default')).toEqual({ kind: 'initrd', version: '6.4.0-150600.23-default' });
    expect(matchBootFile('boot/initrd.img-6.1.0-9-amd64')).toEqual({ kind: 'initrd', version: '6.1.0-9-amd64' });
    expect(matchBootFile('boot/config-6.1.0-9-amd64')).toBeUndefined();
  });

  it('captures the distribution\'s signed EFI chain, and takes it only when shim and both GRUB images are there', () => {
    expect(matchBootFile('usr/lib/shim/shimx64.efi.signed')).toEqual({ kind: 'efi', version: '' });
    expect(matchBootFile('usr/lib/shim/shimx64.efi')).toBeUndefined();
    const debian = ['usr/lib/shim/shimx64.efi.signed', 'usr/lib/shim/mmx64.efi.signed', 'usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed', 'usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed'];
    expect(pickSignedEfiChain(debian.map((path) => ({ path })))).toEqual({
      distro: 'debian',
      shim: debian[0],
      mokManager: debian[1],
      grubDisk: debian[2],
      grubCd: debian[3],
    });
    expect(pickSignedEfiChain(debian.filter((p) => !p.includes('gcdx64')).map((path) => ({ path })))).toBeUndefined();
    // openSUSE has one GRUB for both.
    const suse = ['usr/share/efi/x86_64/shim.efi', 'usr/share/efi/x86_64/grub.efi'].map((path) => ({ path }));
    expect(pickSignedEfiChain(suse)).toMatchObject({ distro: 'opensuse', grubDisk: 'usr/share/efi/x86_64/grub.efi', grubCd: 'usr/share/efi/x86_64/grub.efi' });
  });
});

describe('RootfsFilter and SOURCE_DATE_EPOCH', () => {
  it('clamps mtimes newer than the epoch and leaves older headers byte-exact', async () => {
    const work = scratch('ros-filter-');
    const root = join(work, 'in');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'new'), 'new');
    writeFileSync(join(root, 'etc', 'old'), 'old');
    execFileSync('touch', ['-d', '@2000000000', join(root, 'etc', 'new'), join(root, 'etc')]);
    execFileSync('touch', ['-d', '@1600000000', join(root, 'etc', 'old')]);
    const input = join(work, 'in.tar');
    // ustar/GNU headers, as a container export has: the mtime is in the header itself.
    execFileSync('tar', ['--format=gnu', '-C', root, '-cf', input, 'etc']);
    const output = join(work, 'out.tar');
    await pipeline(createReadStream(input), new RootfsFilter(1700000000), createWriteStream(output));
    const listing = execFileSync('tar', ['--full-time', '--utc', '-tvf', output]).toString();
    expect(listing).toMatch(/2023-11-14 22:13:20 etc\/\n/);
    expect(listing).toMatch(/2023-11-14 22:13:20 etc\/new\n/);
    expect(listing).toMatch(/2020-09-13 12:26:40 etc\/old\n/);
    // A header that needs no clamping is passed through unchanged.
    const old = readFileSync(input).indexOf('etc/old');
    expect(readFileSync(output).subarray(old, old + 512)).toEqual(readFileSync(input).subarray(old, old + 512));
  });
});
