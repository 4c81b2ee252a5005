import { access, mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_FILES } from '../../disk/slots.js';
import type { NodeSystem } from '../system.js';
import { mustRun } from './partitions.js';

/** What an image says about itself (/usr/lib/ros-release, /etc/os-release). */
export interface ImageIdentity {
  /** e.g. rancher/os2:v1.2 */
  image?: string;
  version?: string;
  name?: string;
  /** Why the identity could not be read (a slot without its squashfs, a mount that failed). */
  problem?: string;
}

/** KEY=VALUE lines (os-release, ros-release, /run/ros/boot, GRUB's environment block); anything else is skipped. */
export function parseKeyValues(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    // os-release quotes with "…", the initramfs's /run/ros/boot with '…'.
    if (match) values[match[1]!] = match[2]!.replace(/^"(.*)"$|^'(.*)'$/, '$1$2');
  }
  return values;
}

/** The identity of a root file system tree (the running one, or a mounted squashfs). */
export async function readIdentity(rootDir: string): Promise<ImageIdentity> {
  const release = parseKeyValues(await readFile(join(rootDir, 'usr/lib/ros-release'), 'utf8').catch(() => ''));
  const os = parseKeyValues(await readFile(join(rootDir, 'usr/lib/os-release'), 'utf8').catch(() => ''));
  return { image: release.IMAGE, version: os.VERSION_ID ?? os.VERSION, name: os.NAME };
}

/** The identity of an image in a slot directory, read from its squashfs mounted read-only for the moment. */
export async function readSlotIdentity(system: NodeSystem, slotPath: string, name: string): Promise<ImageIdentity> {
  const squashfs = join(slotPath, IMAGE_FILES.squashfsPath);
  if (!(await access(squashfs).then(() => true, () => false))) return { problem: `no ${IMAGE_FILES.squashfsPath} in ${slotPath}` };
  const dir = join(system.root, 'run/ros/mnt', `image-${name}`);
  await mkdir(dir, { recursive: true });
  try {
    await mustRun(system, 'mount', ['-t', 'squashfs', '-o', 'loop,ro', squashfs, dir]);
  } catch (error) {
    await rmdir(dir).catch(() => {});
    return { problem: (error as Error).message };
  }
  try {
    return await readIdentity(dir);
  } finally {
    await system.run('umount', [dir]);
    await rmdir(dir).catch(() => {});
  }
}
