import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RECOVERY_LABEL, STATE_LABEL } from '../../disk/slots.js';
import type { BootState } from '../boot-state.js';
import type { NodeSystem } from '../system.js';

/** Where the initramfs mounted the partition the booted image came from (COS_STATE, or COS_RECOVERY for recovery), read-only (30ros-root). */
export const BOOT_STATE_MOUNT = '/run/initramfs/ros/state';

/** The boot's own mount of a partition, to reuse: only when the booted image came from that partition. */
export function bootMountOf(boot: BootState, label: string): string | undefined {
  const bootLabel = boot.slot === 'recovery' ? RECOVERY_LABEL : STATE_LABEL;
  return boot.slot && bootLabel === label ? BOOT_STATE_MOUNT : undefined;
}

export interface MountedPartition {
  dir: string;
  release: () => Promise<void>;
}

/**
 * A partition by label, mounted for the duration of one operation: reused
 * where the boot already mounted it (remounted read-write when asked, read-only
 * again afterwards), else mounted under /run/ros and unmounted afterwards.
 */
export async function mountPartition(system: NodeSystem, label: string, options: { writable: boolean; knownMount?: string }): Promise<MountedPartition> {
  const mode = options.writable ? 'rw' : 'ro';
  if (options.knownMount && (await isMountPoint(system.root, options.knownMount))) {
    const dir = options.knownMount;
    if (options.writable) await mustRun(system, 'mount', ['-o', 'remount,rw', dir]);
    return {
      dir,
      release: async () => {
        if (!options.writable) return;
        await system.run('sync', []);
        await system.run('mount', ['-o', 'remount,ro', dir]);
      },
    };
  }
  const dir = join(system.root, 'run/ros/mnt', label);
  await mkdir(dir, { recursive: true });
  await mustRun(system, 'mount', ['-o', mode, `/dev/disk/by-label/${label}`, dir]);
  return {
    dir,
    release: async () => {
      await system.run('umount', [dir]);
      await rmdir(dir).catch(() => {});
    },
  };
}

export async function withPartition<T>(system: NodeSystem, label: string, options: { writable: boolean; knownMount?: string }, use: (dir: string) => Promise<T>): Promise<T> {
  const partition = await mountPartition(system, label, options);
  try {
    return await use(partition.dir);
  } finally {
    await partition.release();
  }
}

async function isMountPoint(root: string, path: string): Promise<boolean> {
  const table = await readFile(join(root, 'proc/self/mountinfo'), 'utf8').catch(() => '');
  return table.split('\n').some((line) => line.split(' ')[4] === path);
}

export async function mustRun(system: NodeSystem, file: string, args: readonly string[]): Promise<void> {
  const result = await system.run(file, args);
  if (result.code !== 0) throw new Error(`${[file, ...args].join(' ')} failed: ${result.output.trim() || `exit ${result.code}`}`);
}
