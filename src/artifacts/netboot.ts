/**
 * Network boot files: what a PXE/iPXE setup serves so a machine boots the
 * live system without a medium, from the same squashfs, kernel and initramfs
 * as the ISO.
 *
 *   vmlinuz, initrd     the image's kernel and initramfs
 *   rootfs.squashfs     the root; dracut's livenet fetches it over HTTP into RAM
 *   medium.cpio         a second initrd: the /ros/ tree the ISO carries (the
 *                       installer's boot pieces, the cloud-config), which the
 *                       initramfs hands to the live system as its medium
 *   boot.ipxe           the iPXE script: loads the three from BASE_URL, boots live
 *
 * The directory appears whole or not at all (an older one is swapped out).
 */
import { appendFile, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import { writeAtomically } from '../fsutil/atomic.js';
import { withScratchDir } from '../fsutil/scratch.js';
import type { SignedEfiChain } from '../rootfs/signed-efi.js';
import { buildCpioArchive, type CpioEntry } from '../tools/cpio.js';
import { INSTALL_PIECES_ISO_DIR, writeInstallPieces } from './disk-boot.js';
import { ISO_LAYOUT } from './iso.js';
import { NETBOOT_FILES, type NetbootRole } from './netboot-files.js';

export { NETBOOT_FILES, type NetbootRole } from './netboot-files.js';

export interface NetbootInput {
  squashfsPath: string;
  kernelPath: string;
  initrdPath: string;
  efiChain?: SignedEfiChain;
  /** Where the machine fetches the files from: http(s)://HOST[:PORT]/PATH, the directory's URL. */
  baseUrl: string;
  /** Kernel arguments after the live ones: the spec's, then the user's. */
  cmdline: string;
  /** The installed disk's grub.cfg, for `ros install` from the network-booted system. */
  installGrubConfig: string;
  /** Checked already (validateCloudConfig). */
  cloudConfigPath?: string;
  /** An air-gap bundle's directory (artifacts/bundle.ts): in medium.cpio at /ros/bundle, so in the machine's RAM. */
  bundleDir?: string;
  sourceDateEpoch: number;
  workDir: string;
  logPath?: string;
}

/** Check a base URL the way iPXE and curl will read it; the directory's URL, without a trailing slash. */
export function parseBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--url ${JSON.stringify(text)} is not a URL`, 'give the address the files will be served at, e.g. --url http://192.168.1.10:8080/ (ros-build serve prints it)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`--url ${text}: ${url.protocol.slice(0, -1)} cannot serve a network boot`, 'use an http:// or https:// URL (iPXE and dracut\'s livenet fetch over HTTP)');
  }
  if (url.search || url.hash || url.username) throw new UserError(`--url ${text}: a base URL has no query, fragment or credentials`, 'give the directory\'s plain URL');
  if (/\s/.test(decodeURI(url.href))) throw new UserError(`--url ${text} has white space`, 'a kernel command line cannot carry it: serve the files from a path without spaces');
  return url.href.replace(/\/+$/, '');
}

/** The live kernel arguments of a network boot: dracut's livenet fetches the root, DHCP in the initramfs brings the network up for it. */
export function netbootCmdline(baseUrl: string, cmdline: string): string {
  return [`root=live:${baseUrl}/${NETBOOT_FILES.squashfs.name}`, 'rd.live.image', 'rd.live.overlay.overlayfs=1', 'rd.neednet=1', 'ip=dhcp', cmdline].filter(Boolean).join(' ');
}

/**
 * The iPXE script: fetch the kernel and both initrds from the base URL, boot
 * them; say which URL failed, and stop rather than loop. `initrd=NAME` names
 * each initrd for the kernel's EFI stub, which under UEFI loads them from
 * iPXE's files by those names (an iPXE without the LoadFile2 protocol, as
 * Debian's, otherwise boots the kernel with no initramfs: "Unable to mount
 * root fs"); a BIOS boot ignores them.
 */
export function renderIpxeScript(baseUrl: string, cmdline: string): string {
  const file = (role: NetbootRole) => `${baseUrl}/${NETBOOT_FILES[role].name}`;
  const initrds = (['initrd', 'medium'] as const).map((role) => `initrd=${NETBOOT_FILES[role].name}`).join(' ');
  return [
    '#!ipxe',
    '# Written by ros-build netboot: boots the live system over HTTP.',
    `echo ros: fetching ${file('kernel')}`,
    `kernel ${file('kernel')} ${initrds} ${netbootCmdline(baseUrl, cmdline)} || goto failed`,
    `initrd ${file('initrd')} || goto failed`,
    `initrd ${file('medium')} || goto failed`,
    'boot || goto failed',
    ':failed',
    `echo ros: network boot failed: could not fetch or boot the files at ${baseUrl}/ (check that the server runs and serves this directory)`,
    'shell',
    '',
  ].join('\n');
}

/** The second initrd: /ros/ as on the ISO, so the live system finds its installer pieces and cloud-config at the same paths. */
async function buildMediumArchive(input: NetbootInput, stage: string): Promise<Buffer> {
  const env = { SOURCE_DATE_EPOCH: String(input.sourceDateEpoch) };
  const dir = join(stage, 'install');
  await mkdir(dir);
  const pieces = await writeInstallPieces(dir, input.installGrubConfig, { stage, logPath: input.logPath, env, chain: input.efiChain });
  const entries: CpioEntry[] = await Promise.all(
    pieces.map(async (piece) => ({ path: `${INSTALL_PIECES_ISO_DIR}/${piece.target}`, content: await readFile(piece.source) })),
  );
  if (input.cloudConfigPath) entries.push({ path: ISO_LAYOUT.cloudConfig, content: await readFile(input.cloudConfigPath), mode: 0o600 });
  if (input.bundleDir) {
    const files = (await readdir(input.bundleDir, { withFileTypes: true, recursive: true })).filter((entry) => entry.isFile());
    for (const file of files.sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
      const path = join(file.parentPath, file.name);
      entries.push({ path: `${ISO_LAYOUT.bundle}/${relative(input.bundleDir, path)}`, content: await readFile(path) });
    }
  }
  return buildCpioArchive(entries, input.sourceDateEpoch);
}

/** Write the netboot directory at `outDir`; its files' paths by role. */
export async function buildNetboot(input: NetbootInput, outDir: string): Promise<Record<NetbootRole, string>> {
  const baseUrl = parseBaseUrl(input.baseUrl);
  for (const path of [input.squashfsPath, input.kernelPath, input.initrdPath]) {
    if (!(await stat(path).catch(() => undefined))?.isFile()) throw new Error(`internal: netboot input ${path} is missing`);
  }
  const medium = await withScratchDir(input.workDir, 'netboot-', (stage) => buildMediumArchive(input, stage));
  await writeAtomically(outDir, async (tmp) => {
    await mkdir(tmp);
    const at = (role: NetbootRole) => join(tmp, NETBOOT_FILES[role].name);
    await copyFile(input.kernelPath, at('kernel'));
    await copyFile(input.initrdPath, at('initrd'));
    // Under UEFI the kernel's EFI stub joins the initrds end to end, and the kernel reads the next archive only at
    // a 4-byte boundary ("Initramfs unpacking failed: invalid magic", medium.cpio lost): NULs, which it skips, pad it.
    const { size } = await stat(at('initrd'));
    if (size % 4) await appendFile(at('initrd'), Buffer.alloc(4 - (size % 4)));
    await copyFile(input.squashfsPath, at('squashfs'));
    await writeFile(at('medium'), medium);
    await writeFile(at('script'), renderIpxeScript(baseUrl, input.cmdline));
  });
  return netbootPaths(outDir);
}

/** Each file's path in a netboot directory, by role. */
export function netbootPaths(dir: string): Record<NetbootRole, string> {
  return Object.fromEntries(Object.entries(NETBOOT_FILES).map(([role, file]) => [role, join(dir, file.name)])) as Record<NetbootRole, string>;
}
