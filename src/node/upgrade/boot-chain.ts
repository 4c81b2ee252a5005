/**
 * The ESP's boot chain (shim, GRUB, MokManager) follows the active image:
 * when an upgrade brings a chain that differs from the one on the ESP, it
 * replaces it, but only with one the machine will still start, and so that a
 * power cut at any moment leaves a complete chain under EFI/BOOT.
 *
 * - Never to a chain the firmware or shim would refuse: the new shim and GRUB
 *   must carry every signer the running ones carry (a machine that trusts
 *   only your key started a shim with your signature on it; a Microsoft-only
 *   shim would stop it cold), and no SBAT generation may go down (shim
 *   refuses components older than the machine's revocation level).
 * - Power-cut safe: the new files are written under EFI/NEWBOOT and read
 *   back, then EFI/BOOT and EFI/NEWBOOT trade places in one sector write
 *   (src/tools/fat-swap.ts), then the old files are deleted. A staging
 *   directory left by a cut is removed by the next attempt.
 *
 * The ESP is never mounted: mtools reads and writes it as the installer does.
 * Each slot's kernel and initramfs stay in that slot's image directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTITION_LABELS } from '../../disk/layout.js';
import type { BootFile } from '../../rootfs/filter.js';
import { ESP_BOOT_DIR, ESP_CHAIN_NAMES, pickSignedEfiChain } from '../../rootfs/signed-efi.js';
import { swapDirectories } from '../../tools/fat-swap.js';
import { readPeImage, type PeImageInfo } from '../../tools/pe-image.js';
import { syncPath } from '../durable.js';
import type { NodeSystem } from '../system.js';

const [EFI_DIR, BOOT_NAME] = ESP_BOOT_DIR.split('/') as [string, string];
/** An 8.3 upper-case name, so its directory entry is one slot beside EFI/BOOT's. */
export const STAGING_NAME = 'NEWBOOT';
const STAGING_DIR = `${EFI_DIR}/${STAGING_NAME}`;

export interface ChainBytes {
  shim: Buffer;
  grub: Buffer;
  mokManager?: Buffer;
}

type ChainPart = 'shim' | 'grub';
type ChainInfo = Record<ChainPart, PeImageInfo>;

/** The ESP device of an installed disk. */
export function espDevice(system: NodeSystem): string {
  return join(system.root, 'dev/disk/by-label', PARTITION_LABELS.efi);
}

/** The signed chain among the files an upgrade captured from its image, if it carries one. */
export function pickChainBytes(files: readonly BootFile[]): ChainBytes | undefined {
  const chain = pickSignedEfiChain(files.filter((f) => f.kind === 'efi'));
  if (!chain) return undefined;
  const content = (path: string) => files.find((f) => f.path === path)!.content;
  return { shim: content(chain.shim), grub: content(chain.grubDisk), ...(chain.mokManager ? { mokManager: content(chain.mokManager) } : {}) };
}

/**
 * Bring the ESP's chain to `next`, or say why it stays. Returns one line for
 * the log; throws only when the ESP cannot be read or written at all (its
 * chain is then still complete: the swap is the only write to EFI/BOOT).
 */
export async function updateEspChain(system: NodeSystem, next: ChainBytes | undefined, device = espDevice(system)): Promise<string> {
  if (!next) return 'the ESP keeps its boot chain: the new image carries no signed shim and GRUB';
  const mountedAt = await findMountPoint(system, device);
  // mtools beside a mounted vfat would corrupt it; the OS never mounts the ESP, a person may have.
  if (mountedAt) return `the ESP keeps its boot chain: it is mounted at ${mountedAt} (unmount it and run the upgrade again to update it)`;
  const scratch = join(system.root, 'run/ros/esp-update');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  try {
    const esp = openEsp(system, device, scratch);
    await removeStaging(esp);
    const names = await esp.list(ESP_BOOT_DIR);
    if (!names.includes(ESP_CHAIN_NAMES.grub)) return `the ESP keeps its boot chain: it starts a GRUB made by ros-build, not shim (install again to move to the signed chain)`;
    const current = { shim: await esp.read(`${ESP_BOOT_DIR}/${ESP_CHAIN_NAMES.shim}`), grub: await esp.read(`${ESP_BOOT_DIR}/${ESP_CHAIN_NAMES.grub}`) };
    if (current.shim.equals(next.shim) && current.grub.equals(next.grub)) return 'the ESP already holds the new image\'s boot chain';
    const infos = { current: readChain(current, 'running'), next: readChain(next, 'new image\'s') };
    const refusal = judgeChainUpdate(infos.current, infos.next);
    if (refusal) return `the ESP keeps its boot chain: ${refusal}`;
    await stageChain(esp, names, next).catch(async (error: Error) => {
      await removeStaging(esp).catch(() => {});
      throw error;
    });
    await swapDirectories(device, [EFI_DIR], BOOT_NAME, STAGING_NAME);
    await removeStaging(esp);
    return `updated the ESP's boot chain: ${describeChain(infos.current)} -> ${describeChain(infos.next)}`;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Why the new chain must not replace the running one, or undefined when it
 * may: a signer of the running shim or GRUB missing from the new one, or an
 * SBAT generation that goes down.
 */
export function judgeChainUpdate(current: ChainInfo, next: ChainInfo): string | undefined {
  for (const part of ['shim', 'grub'] as const) {
    const issuers = new Set(current[part].signers.map((s) => s.issuer));
    const missing = [...issuers].filter((issuer) => !next[part].signers.some((s) => s.issuer === issuer));
    if (missing.length > 0) {
      return `the new ${part} is not signed by ${missing.map((m) => `"${m}"`).join(', ')} as the running one is, and a machine that trusts only that key would refuse it (sign the image's ${part} with that key too)`;
    }
    for (const entry of current[part].sbat) {
      const newer = next[part].sbat.find((e) => e.component === entry.component);
      if (!newer || newer.generation < entry.generation) {
        return `the new ${part} is older than the running one (SBAT ${entry.component} generation ${newer?.generation ?? 'missing'}, the running one has ${entry.generation}), and shim refuses what the machine has revoked`;
      }
    }
  }
  return undefined;
}

function readChain(bytes: Pick<ChainBytes, ChainPart>, whose: string): ChainInfo {
  const read = (part: ChainPart) => {
    try {
      return readPeImage(bytes[part]);
    } catch (error) {
      throw new Error(`cannot read the ${whose} ${part}: ${(error as Error).message}`);
    }
  };
  return { shim: read('shim'), grub: read('grub') };
}

/** "shim 15.8-1~deb12u1, grub 2.06-13+deb12u1": the vendor's versions from SBAT. */
function describeChain(chain: ChainInfo): string {
  return (['shim', 'grub'] as const).map((part) => `${part} ${chain[part].sbat.find((e) => e.component.startsWith(`${part}.`))?.version || 'unversioned'}`).join(', ');
}

interface Esp {
  list(dir: string): Promise<string[]>;
  read(path: string): Promise<Buffer>;
  write(path: string, content: Buffer): Promise<void>;
  makeDirectory(dir: string): Promise<void>;
  exists(dir: string): Promise<boolean>;
  removeTree(dir: string): Promise<void>;
  /** Flush what mtools wrote through the page cache to the device. */
  sync(): Promise<void>;
}

/** The ESP through mtools, the way the installer fills it: no mount, nothing for systemd or another tool to trip on. */
function openEsp(system: NodeSystem, device: string, scratch: string): Esp {
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  let count = 0;
  const run = async (tool: string, args: string[]) => {
    const result = await system.run(tool, ['-i', device, ...args], { env });
    if (result.code !== 0) throw new Error(`${tool} on the ESP (${device}) failed: ${result.output.trim() || `exit ${result.code}`}`);
    return result.output;
  };
  return {
    // mdir -b prints one path per entry, a directory's with a trailing slash: files only.
    list: async (dir) => (await run('mdir', ['-b', `::/${dir}`])).split('\n').map((line) => line.trim()).filter((line) => line && !line.endsWith('/')).map((line) => line.split('/').pop()!),
    read: async (path) => {
      const copy = join(scratch, `read-${count++}`);
      await run('mcopy', ['-n', `::/${path}`, copy]);
      return readFile(copy);
    },
    write: async (path, content) => {
      const copy = join(scratch, `write-${count++}`);
      await writeFile(copy, content, { mode: 0o600 });
      await run('mcopy', ['-D', 'o', copy, `::/${path}`]);
    },
    makeDirectory: async (dir) => void (await run('mmd', [`::/${dir}`])),
    exists: async (dir) => (await system.run('mdir', ['-i', device, '-b', `::/${dir}`], { env })).code === 0,
    removeTree: async (dir) => void (await run('mdeltree', [`::/${dir}`])),
    sync: () => syncPath(device),
  };
}

/** Every file of EFI/BOOT, the chain's replaced, under EFI/NEWBOOT, flushed and read back. */
async function stageChain(esp: Esp, names: readonly string[], next: ChainBytes): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const name of names) files.set(name, await esp.read(`${ESP_BOOT_DIR}/${name}`));
  files.set(ESP_CHAIN_NAMES.shim, next.shim);
  files.set(ESP_CHAIN_NAMES.grub, next.grub);
  if (next.mokManager) files.set(ESP_CHAIN_NAMES.mokManager, next.mokManager);
  await esp.makeDirectory(STAGING_DIR);
  for (const [name, content] of files) await esp.write(`${STAGING_DIR}/${name}`, content);
  await esp.sync();
  for (const [name, content] of files) {
    const back = await esp.read(`${STAGING_DIR}/${name}`);
    if (!back.equals(content)) throw new Error(`the ESP gave back other bytes for ${STAGING_DIR}/${name} than were written (sha256 ${digest(back)} vs ${digest(content)}): it was left as it was`);
  }
}

async function removeStaging(esp: Esp): Promise<void> {
  if (!(await esp.exists(STAGING_DIR))) return;
  await esp.removeTree(STAGING_DIR);
  await esp.sync();
}

async function findMountPoint(system: NodeSystem, device: string): Promise<string | undefined> {
  const target = await realpath(device).catch(() => device);
  const table = await readFile(join(system.root, 'proc/self/mountinfo'), 'utf8').catch(() => '');
  for (const line of table.split('\n')) {
    const [mount, fs] = line.split(' - ');
    const source = fs?.split(' ')[1];
    if (source && (source === target || (await realpath(source).catch(() => source)) === target)) return mount!.split(' ')[4];
  }
  return undefined;
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
