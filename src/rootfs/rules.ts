import { SIGNED_EFI_SOURCES } from './signed-efi.js';
import type { NewEntry } from './tar-header.js';

/**
 * What happens to each path of a container export on its way into the
 * rootfs image. `docker export` carries Docker's init layer: files Docker
 * creates for every container that are wrong on a booted machine.
 */
export type EntryAction = { action: 'keep' } | { action: 'drop' } | { action: 'replace'; entry: Omit<NewEntry, 'name' | 'mtime'> };

const hostsFile = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n';

/** Every image has these, with this content, whether or not its source carried them (an image's layers lack /etc/hosts: Docker adds it to each container). */
export const REPLACEMENTS: Readonly<Record<string, Omit<NewEntry, 'name' | 'mtime'>>> = {
  // Empty in the export; systemd then falls back to DHCP or "localhost".
  'etc/hostname': { type: 'file', mode: 0o644, content: Buffer.from('localhost\n') },
  'etc/hosts': { type: 'file', mode: 0o644, content: Buffer.from(hostsFile) },
  // Docker bind-mounts its own at run time; the booted system's DHCP client writes one.
  'etc/resolv.conf': { type: 'file', mode: 0o644, content: Buffer.alloc(0) },
  'etc/mtab': { type: 'symlink', mode: 0o777, linkname: '../proc/self/mounts' },
};

/** Normalise a tar member name: no leading "./" or "/", no trailing "/". */
export function normalizePath(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

export function classifyEntry(path: string): EntryAction {
  if (path === '.dockerenv' || path === '.dockerinit') return { action: 'drop' };
  // devtmpfs provides /dev at boot; the export's /dev/console, pts and shm are Docker's.
  if (path.startsWith('dev/')) return { action: 'drop' };
  const entry = REPLACEMENTS[path];
  return entry ? { action: 'replace', entry } : { action: 'keep' };
}

export type BootFileKind = 'kernel' | 'initrd' | 'efi';

/** Kernel and initramfs images under /boot, named the Debian or the openSUSE way; the signed EFI chain (version: ''). */
export function matchBootFile(path: string): { kind: BootFileKind; version: string } | undefined {
  if (SIGNED_EFI_SOURCES[path]) return { kind: 'efi', version: '' };
  const kernel = /^boot\/(?:vmlinuz|bzImage)-(.+)$/.exec(path);
  if (kernel) return { kind: 'kernel', version: kernel[1]! };
  const initrd = /^boot\/(?:initrd\.img|initrd|initramfs)-(.+?)(?:\.img)?$/.exec(path);
  if (initrd) return { kind: 'initrd', version: initrd[1]! };
  return undefined;
}
