/**
 * The cdrom source: a NoCloud volume (label cidata/CIDATA) or an OpenStack
 * config drive (label config-2/CONFIG-2), found by label, mounted read-only
 * for as long as it takes to read it. Finding and mounting sit behind
 * CdromAccess so that the unit tests read plain directories.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, realpath, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readConfigDriveDir } from './config-drive.js';
import { readNoCloudDir } from './nocloud.js';
import type { CdromAccess, CdromVolume, MountedVolume, ProbeContext, SourceAnswer } from './types.js';

const run = promisify(execFile);

/** Labels in the order they are tried; both spellings because mkisofs keeps case and vfat tools upper-case it. */
export const CDROM_LABELS: readonly { label: string; kind: CdromVolume['kind'] }[] = [
  { label: 'cidata', kind: 'nocloud' },
  { label: 'CIDATA', kind: 'nocloud' },
  { label: 'config-2', kind: 'config-2' },
  { label: 'CONFIG-2', kind: 'config-2' },
];

export async function probeCdrom(context: ProbeContext): Promise<SourceAnswer> {
  const volumes = await context.cdrom.findCdromVolumes();
  if (volumes.length === 0) throw new Error(`no volume labelled ${CDROM_LABELS.map((entry) => entry.label).join(', ')}`);
  const problems: string[] = [];
  for (const volume of volumes) {
    if (context.signal.aborted) break;
    try {
      return await readVolume(volume, context);
    } catch (error) {
      problems.push(`${volume.label} (${volume.device}): ${(error as Error).message}`);
    }
  }
  throw new Error(problems.join('; ') || 'stopped before reading a volume');
}

async function readVolume(volume: CdromVolume, context: ProbeContext): Promise<SourceAnswer> {
  const mounted = await context.cdrom.mountReadOnly(volume.device);
  try {
    return volume.kind === 'nocloud' ? await readNoCloudDir(mounted.dir, context.warn) : await readConfigDriveDir(mounted.dir);
  } finally {
    // Unmounted even when the probe lost or timed out: a volume left mounted under /run would puzzle whoever finds it.
    await mounted.unmount().catch((error: Error) => context.warn(`could not unmount ${mounted.dir}: ${error.message}`));
  }
}

/** The real thing: /dev/disk/by-label (udev's links) and mount(8). Directories are parameters for tests. */
export function createDefaultCdromAccess(byLabelDir = '/dev/disk/by-label', mountParent = '/run/ros'): CdromAccess {
  return {
    findCdromVolumes: () => findCdromVolumes(byLabelDir),
    findOpticalDrives: () => findOpticalDrives(),
    mountReadOnly: (device) => mountReadOnly(device, mountParent),
  };
}

/** The kernel's optical drives (`sr0`, `sr1` …, SCSI, SATA and IDE alike), as /dev paths in the kernel's order. */
export async function findOpticalDrives(sysBlockDir = '/sys/block', devDir = '/dev'): Promise<string[]> {
  const names = await readdir(sysBlockDir).catch(() => [] as string[]);
  return names
    .filter((name) => /^sr\d+$/.test(name))
    .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
    .map((name) => join(devDir, name));
}

/** Volumes whose label link exists; one device under two labels is listed once. */
export async function findCdromVolumes(byLabelDir = '/dev/disk/by-label'): Promise<CdromVolume[]> {
  const volumes: CdromVolume[] = [];
  const seen = new Set<string>();
  for (const { label, kind } of CDROM_LABELS) {
    const device = join(byLabelDir, label);
    let target: string;
    try {
      target = await realpath(device);
    } catch {
      continue;
    }
    if (seen.has(target)) continue;
    seen.add(target);
    volumes.push({ device, label, kind });
  }
  return volumes;
}

/**
 * Mount read-only on a fresh directory. No `-t`: mount probes the file
 * system, so an ISO 9660 image and a vfat disk both work.
 */
export async function mountReadOnly(device: string, mountParent = '/run/ros'): Promise<MountedVolume> {
  await mkdir(mountParent, { recursive: true });
  const dir = await mkdtemp(join(mountParent, 'datasource-'));
  try {
    await run('mount', ['-o', 'ro', device, dir]);
  } catch (error) {
    await rmdir(dir).catch(() => {});
    throw new Error(`mount -o ro ${device} failed: ${describeCommandError(error)}`);
  }
  return {
    dir,
    unmount: async () => {
      try {
        await run('umount', [dir]);
      } catch (error) {
        throw new Error(`umount failed: ${describeCommandError(error)}`);
      }
      await rmdir(dir);
    },
  };
}

function describeCommandError(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim() !== '') return stderr.trim();
  return (error as Error).message;
}
