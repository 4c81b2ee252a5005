/**
 * What is being booted and how it is attached: ISO or disk, the disk's format
 * (from the caller or the file name, checked against the file's own magic),
 * and whether qemu may write to it.
 */
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { UserError } from '../errors.js';
import type { ArtifactKind, DiskBus, DiskFormat, Firmware } from './qemu-args.js';

export type BootMedium =
  | { kind: 'iso' }
  | {
      kind: 'disk';
      format: DiskFormat;
      bus: DiskBus;
      /** Guest writes go to a throw-away overlay; the file stays as it was. */
      snapshot: boolean;
    };

export interface MediumRequest {
  kind?: ArtifactKind;
  /** Implies a disk. */
  format?: DiskFormat;
  /** Boot an ISO as a raw disk, the way it boots written to a USB stick. */
  asDisk?: boolean;
  /** Force snapshot mode for any disk. */
  snapshot?: boolean;
  bus?: DiskBus;
}

const FORMAT_BY_EXTENSION: Readonly<Record<string, DiskFormat>> = {
  '.raw': 'raw',
  '.img': 'raw',
  '.qcow2': 'qcow2',
  '.vhd': 'vpc',
  '.vmdk': 'vmdk',
};

/** How to attach the artifact: what the caller said, else what its extension says. */
export function inferBootMedium(artifact: string, request: MediumRequest = {}): BootMedium {
  const extension = extname(artifact).toLowerCase();
  const kind = request.asDisk || request.format ? 'disk' : (request.kind ?? kindFromExtension(artifact, extension));
  if (kind === 'iso') return { kind };
  const format = request.format ?? FORMAT_BY_EXTENSION[extension] ?? 'raw';
  return {
    kind,
    format,
    bus: request.bus ?? 'virtio',
    snapshot: Boolean(request.snapshot) || mustSnapshot(format, extension),
  };
}

/*
 * streamOptimized VMDK (the only VMDK ros-build writes) is read-only to qemu:
 * it cannot write such a file in place. An ISO is a build output that other
 * steps checksum and publish; booting it as a disk must not change it.
 */
function mustSnapshot(format: DiskFormat, extension: string): boolean {
  return format === 'vmdk' || extension === '.iso';
}

function kindFromExtension(artifact: string, extension: string): ArtifactKind {
  if (extension === '.iso') return 'iso';
  if (FORMAT_BY_EXTENSION[extension]) return 'disk';
  throw new UserError(
    `Cannot tell from its name whether ${artifact} is an ISO or a disk image`,
    'name it .iso, .img, .raw, .qcow2, .vhd or .vmdk, or pass --format raw|qcow2|vpc|vmdk',
  );
}

export function defaultLogPath(artifact: string, firmware: Firmware, medium: BootMedium): string {
  // An ISO booted both ways must not overwrite one log with the other.
  const asDisk = medium.kind === 'disk' && extname(artifact).toLowerCase() === '.iso' ? '-disk' : '';
  return `${artifact}.${firmware}${asDisk}.serial.log`;
}

export async function assertArtifactFile(artifact: string): Promise<void> {
  let info;
  try {
    info = await stat(artifact);
  } catch {
    throw new UserError(`Artifact not found: ${artifact}`, 'build it first, or check the path');
  }
  if (!info.isFile()) throw new UserError(`Not a file: ${artifact}`, 'pass the ISO or disk image itself');
}

/**
 * The container format a file's own bytes declare, when it has one: qcow2 and
 * VMDK begin with a magic, a dynamic VHD with its footer copy, a fixed VHD
 * ends with its footer. Raw disks and ISOs have none (undefined).
 */
export async function sniffDiskFormat(path: string): Promise<Exclude<DiskFormat, 'raw'> | undefined> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(32);
    await file.read(head, 0, head.length, 0);
    if (head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2'; // "QFI\xfb"
    if (head.subarray(0, 4).toString('latin1') === 'KDMV' || head.toString('latin1').startsWith('# Disk DescriptorFile')) return 'vmdk';
    if (head.subarray(0, 8).toString('latin1') === 'conectix') return 'vpc';
    if (size >= 512) {
      const footer = Buffer.alloc(8);
      await file.read(footer, 0, footer.length, size - 512);
      if (footer.toString('latin1') === 'conectix') return 'vpc';
    }
    return undefined;
  } finally {
    await file.close();
  }
}

/**
 * A disk whose format came from its name is checked against its bytes: a
 * qcow2 file named .img would otherwise boot as raw and fail with "No
 * bootable device", far from the cause. A format the caller named is trusted.
 */
export async function assertFormatMatches(artifact: string, medium: BootMedium, request: MediumRequest): Promise<void> {
  if (medium.kind !== 'disk' || request.format !== undefined) return;
  const declared = await sniffDiskFormat(artifact);
  if (declared === undefined || declared === medium.format) return;
  throw new UserError(
    `${artifact} is a ${declared} image by its contents, but its name says ${medium.format}`,
    `pass --format ${declared}, or rename it`,
  );
}
