/**
 * What is being booted and how it is attached: ISO or disk, the disk's format
 * (from the caller or the file name, as the disk format registry names them,
 * checked against the file's own magic), whether qemu may write to it, and
 * the disk inside an archive (GCE tarball, OVA).
 */
import { execa } from 'execa';
import { open, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { DISK_FORMAT_NAMES, DISK_FORMATS, resolveDiskFormats, type DiskFormat as RegistryFormat, type DiskFormatName } from '../artifacts/formats/index.js';
import { UserError } from '../errors.js';
import { NETBOOT_FILES } from '../artifacts/netboot-files.js';
import type { ArtifactKind, DiskBus, DiskFormat, Firmware } from './qemu-args.js';

export type BootMedium =
  | { kind: 'iso' }
  /** A netboot directory (ros-build netboot): served to the guest's iPXE over the user network. */
  | { kind: 'netboot' }
  | {
      kind: 'disk';
      format: DiskFormat;
      bus: DiskBus;
      /** Guest writes go to a throw-away overlay; the file stays as it was. */
      snapshot: boolean;
      /** The archive member that is the disk (a GCE tarball's disk.raw, an OVA's VMDK): unpacked before the boot. */
      member?: RegExp;
    };

export interface MediumRequest {
  kind?: ArtifactKind;
  /** A disk format as `ros-build disk` names it (or an alias: vpc, qcow, azure …). Implies a disk. */
  format?: string;
  /** Boot an ISO as a raw disk, the way it boots written to a USB stick. */
  asDisk?: boolean;
  /** Force snapshot mode for any disk. */
  snapshot?: boolean;
  bus?: DiskBus;
}

/** `.img` is a raw disk too (rancher/os2's name); the rest are the registry's own extensions. */
const EXTRA_EXTENSIONS: Readonly<Record<string, DiskFormatName>> = { '.img': 'raw' };

/** The registry's format whose extension ends the name, the longest first (`.ami.raw` before `.raw`). */
function formatFromName(artifact: string): RegistryFormat | undefined {
  const name = basename(artifact).toLowerCase();
  const candidates = [...Object.values(DISK_FORMATS).map((format) => [format.extension, format] as const), ...Object.entries(EXTRA_EXTENSIONS).map(([extension, format]) => [extension, DISK_FORMATS[format]] as const)];
  return candidates.filter(([extension]) => name.endsWith(extension)).sort((a, b) => b[0].length - a[0].length)[0]?.[1];
}

/** How to attach the artifact: what the caller said, else what its name says. */
export function inferBootMedium(artifact: string, request: MediumRequest = {}): BootMedium {
  const extension = extname(artifact).toLowerCase();
  const kind = request.asDisk || request.format ? 'disk' : (request.kind ?? kindFromName(artifact, extension));
  if (kind === 'iso' || kind === 'netboot') return { kind };
  const format = request.format ? resolveDiskFormats([request.format])[0]! : (formatFromName(artifact) ?? DISK_FORMATS.raw);
  // An ISO is a build output that other steps checksum and publish: booting it as a disk must not change it.
  const snapshot = Boolean(request.snapshot) || format.boot.snapshot || extension === '.iso';
  return { kind, format: format.boot.qemuFormat, bus: request.bus ?? 'virtio', snapshot, ...(format.boot.member ? { member: format.boot.member } : {}) };
}

function kindFromName(artifact: string, extension: string): ArtifactKind {
  if (extension === '.iso') return 'iso';
  if (formatFromName(artifact)) return 'disk';
  const extensions = ['.iso', ...Object.keys(EXTRA_EXTENSIONS), ...Object.values(DISK_FORMATS).map((format) => format.extension)];
  throw new UserError(`Cannot tell from its name whether ${artifact} is an ISO or a disk image`, `name it ${extensions.join(', ')}, or pass --format ${DISK_FORMAT_NAMES.join('|')}`);
}

/**
 * A disk inside an archive (the GCE tarball, the OVA) is unpacked into
 * `scratchDir` (the guest's scratch directory, removed with it); anything
 * else boots where it is. Returns the file to attach.
 */
export async function unpackBootDisk(artifact: string, medium: BootMedium, scratchDir: string): Promise<string> {
  if (medium.kind !== 'disk' || medium.member === undefined) return artifact;
  const { stdout } = await execa('tar', ['--list', '--file', artifact]).catch((error: Error) => {
    throw new UserError(`${artifact} is not an archive tar can read: ${error.message.split('\n')[0]}`, 'pass the .gce.tar.gz or .ova that ros-build disk wrote');
  });
  const member = stdout.split('\n').find((name) => medium.member!.test(name));
  if (member === undefined) throw new UserError(`${artifact} holds no disk (no member matching ${medium.member})`, 'pass the .gce.tar.gz or .ova that ros-build disk wrote');
  // GNU tar keeps a sparse member sparse: a 3 GiB disk.raw takes what it holds.
  await execa('tar', ['--extract', '--file', artifact, '--directory', scratchDir, '--', member]);
  return join(scratchDir, member);
}

export function defaultLogPath(artifact: string, firmware: Firmware, medium: BootMedium): string {
  // An ISO booted both ways must not overwrite one log with the other.
  const asDisk = medium.kind === 'disk' && extname(artifact).toLowerCase() === '.iso' ? '-disk' : '';
  return `${artifact}.${firmware}${asDisk}.serial.log`;
}

/** What the artifact is on disk: a file (ISO, disk) or a netboot directory; anything else is refused here. */
export async function assertArtifact(artifact: string): Promise<'file' | 'netboot'> {
  let info;
  try {
    info = await stat(artifact);
  } catch {
    throw new UserError(`Artifact not found: ${artifact}`, 'build it first, or check the path');
  }
  if (info.isFile()) return 'file';
  if (info.isDirectory() && (await stat(join(artifact, NETBOOT_FILES.script.name)).catch(() => undefined))?.isFile()) return 'netboot';
  throw new UserError(`Not a file: ${artifact}`, `pass the ISO or disk image itself, or a netboot directory (with ${NETBOOT_FILES.script.name})`);
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
