import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { writeAtomically } from '../fsutil/atomic.js';
import { withImageExport } from '../docker/export.js';
import { compressRootfsTar, pickBootFiles } from '../rootfs/compress.js';
import type { BootFile } from '../rootfs/filter.js';
import { pickSignedEfiChain, type SignedEfiChain, type SignedEfiRole } from '../rootfs/signed-efi.js';
import type { CompressionSpec } from '../spec/types.js';

export interface RootfsArtifacts {
  squashfsPath: string;
  kernelPath: string;
  initrdPath: string;
  kernelVersion: string;
  /** The distribution's signed UEFI chain, when the image carries one (Secure Boot); else the media get a GRUB made on the host. */
  efiChain?: SignedEfiChain;
}

/**
 * Export an image, filter it and compress it into a squashfs in one stream;
 * the kernel and initramfs are captured on the way. Every file appears
 * atomically in `outDir`.
 */
export async function buildRootfsImages(options: {
  docker: Docker;
  image: string;
  compression: CompressionSpec;
  outDir: string;
  logPath: string;
  mtime: number;
}): Promise<RootfsArtifacts> {
  const squashfsPath = join(options.outDir, 'rootfs.squashfs');
  let bootFiles: BootFile[] = [];
  await writeAtomically(squashfsPath, (tmpPath) =>
    withImageExport(options.docker, options.image, async (tar) => {
      bootFiles = await compressRootfsTar({ tar, output: tmpPath, compression: options.compression, mtime: options.mtime, logPath: options.logPath });
    }),
  );
  const { kernel, initrd } = pickBootFiles(bootFiles, options.image);
  const kernelPath = join(options.outDir, 'vmlinuz');
  const initrdPath = join(options.outDir, 'initrd');
  await writeAtomically(kernelPath, (tmp) => writeFile(tmp, kernel.content));
  await writeAtomically(initrdPath, (tmp) => writeFile(tmp, initrd.content));
  const efiChain = await writeSignedEfiChain(bootFiles, options.outDir);
  return { squashfsPath, kernelPath, initrdPath, kernelVersion: kernel.version, ...(efiChain ? { efiChain } : {}) };
}

const CHAIN_DIR = 'efi';
const CHAIN_RECORD = 'chain.json';
const ROLES: readonly SignedEfiRole[] = ['shim', 'grubDisk', 'grubCd', 'mokManager'];

/** The signed chain's files as efi/<role>.efi in `outDir`, and efi/chain.json last (its presence says the rest is there). */
async function writeSignedEfiChain(bootFiles: readonly BootFile[], outDir: string): Promise<SignedEfiChain | undefined> {
  const captured = bootFiles.filter((f) => f.kind === 'efi');
  const found = pickSignedEfiChain(captured);
  if (!found) return undefined;
  const dir = join(outDir, CHAIN_DIR);
  await mkdir(dir, { recursive: true });
  const chain: SignedEfiChain = { ...found };
  for (const role of ROLES) {
    const file = captured.find((f) => f.path === found[role]);
    if (!file) continue;
    chain[role] = join(dir, `${role}.efi`);
    await writeAtomically(chain[role]!, (tmp) => writeFile(tmp, file.content));
  }
  await writeAtomically(join(dir, CHAIN_RECORD), (tmp) => writeFile(tmp, `${JSON.stringify({ distro: chain.distro, roles: ROLES.filter((r) => chain[r]) })}\n`));
  return chain;
}

/** The chain a cached rootfs directory holds, if any. */
export async function readSignedEfiChain(outDir: string): Promise<SignedEfiChain | undefined> {
  const dir = join(outDir, CHAIN_DIR);
  const text = await readFile(join(dir, CHAIN_RECORD), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const record = JSON.parse(text) as { distro: SignedEfiChain['distro']; roles: SignedEfiRole[] };
  const chain = { distro: record.distro } as SignedEfiChain;
  for (const role of record.roles) chain[role] = join(dir, `${role}.efi`);
  return chain;
}
