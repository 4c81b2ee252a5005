/**
 * The disk output formats by name, how users may name them, and the
 * up-front check that the host has the tools they run.
 */
import { locateTool } from '../../exec/find-tool.js';
import { UserError } from '../../errors.js';
import { closestKey } from '../../validation/problems.js';
import { ami } from './ami.js';
import type { DiskFormat, DiskFormatName } from './format.js';
import { gce } from './gce.js';
import { ova } from './ova.js';
import { qcow2 } from './qcow2.js';
import { raw } from './raw.js';
import { vhd } from './vhd.js';
import { vmdk } from './vmdk.js';

export type { ConvertInput, DiskFormat, DiskFormatName } from './format.js';
export { platformCmdline, SERIAL_CONSOLE } from './format.js';

export const DISK_FORMATS: Readonly<Record<DiskFormatName, DiskFormat>> = Object.freeze({ raw, qcow2, vhd, vmdk, ova, gce, ami });

export const DISK_FORMAT_NAMES = Object.keys(DISK_FORMATS) as DiskFormatName[];

/**
 * Other names users write for a format: rancher/os2's ros-image-build took
 * "qcow" and "ami"; qemu calls a VHD "vpc"; the rest are the platforms
 * (vSphere imports an OVA; VMware's desktop products take the bare VMDK).
 */
export const DISK_FORMAT_ALIASES: Readonly<Record<string, DiskFormatName>> = Object.freeze({
  img: 'raw',
  qcow: 'qcow2',
  azure: 'vhd',
  vpc: 'vhd',
  vmware: 'vmdk',
  vsphere: 'ova',
  esxi: 'ova',
  gcp: 'gce',
  google: 'gce',
  aws: 'ami',
  ec2: 'ami',
});

/** Media that are not disk formats, with where they come from instead. */
const NOT_DISK_FORMATS: Readonly<Record<string, string>> = {
  iso: 'the ISO is not a disk format; ros-build iso makes it',
  squashfs: 'the squashfs is not a disk format; ros-build iso makes it on the way',
};

function describeKnownNames(): string {
  const aliases = Object.entries(DISK_FORMAT_ALIASES)
    .map(([alias, name]) => `${alias} → ${name}`)
    .join(', ');
  return `known disk formats: ${DISK_FORMAT_NAMES.join(', ')} (also: ${aliases})`;
}

function lookUpFormat(written: string): DiskFormat {
  const name = written.trim().toLowerCase();
  if (Object.hasOwn(DISK_FORMATS, name)) return DISK_FORMATS[name as DiskFormatName];
  if (Object.hasOwn(DISK_FORMAT_ALIASES, name)) return DISK_FORMATS[DISK_FORMAT_ALIASES[name]!];
  if (Object.hasOwn(NOT_DISK_FORMATS, name)) throw new UserError(`"${written}" is not a disk format: ${NOT_DISK_FORMATS[name]}`, describeKnownNames());
  const guess = closestKey(name, [...DISK_FORMAT_NAMES, ...Object.keys(DISK_FORMAT_ALIASES)]);
  throw new UserError(`unknown disk format "${written}"${guess ? ` (did you mean "${guess}"?)` : ''}`, describeKnownNames());
}

/**
 * The formats for names as users write them (os.yaml artifacts.disk.formats,
 * --format a,b, rancher/os2's names): case and spaces ignored, a
 * comma-separated entry split, aliases resolved, duplicates removed with the
 * first position kept. An unknown name is a UserError listing the known ones.
 */
export function resolveDiskFormats(names: readonly string[]): DiskFormat[] {
  const resolved: DiskFormat[] = [];
  for (const entry of names) {
    for (const written of entry.split(',')) {
      if (written.trim() === '') {
        if (entry.includes(',')) continue; // "qcow2," from a shell list
        throw new UserError('empty disk format name', describeKnownNames());
      }
      const format = lookUpFormat(written);
      if (!resolved.includes(format)) resolved.push(format);
    }
  }
  return resolved;
}

/** "a", "a and b", "a, b and c". */
function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/**
 * Check before anything runs that the host has every command the formats
 * run. One UserError names each missing command, what needs it and the
 * Debian package that provides it.
 */
export async function checkFormatTools(formats: ReadonlyArray<Pick<DiskFormat, 'tools'> & { name: string }>, searchPath = process.env.PATH ?? ''): Promise<void> {
  const needs = new Map<string, { package: string; formats: string[] }>();
  for (const format of formats) {
    for (const tool of format.tools) {
      const need = needs.get(tool.command) ?? { package: tool.package, formats: [] };
      if (!need.formats.includes(format.name)) need.formats.push(format.name);
      needs.set(tool.command, need);
    }
  }
  const missing: Array<[string, { package: string; formats: string[] }]> = [];
  for (const [command, need] of needs) {
    if (!(await locateTool(command, searchPath))) missing.push([command, need]);
  }
  if (missing.length === 0) return;
  const lines = missing.map(([command, need]) => {
    const what = need.formats.length === 1 ? `the ${need.formats[0]} disk image` : `the ${listWords(need.formats)} disk images`;
    return `Could not find ${command}, which is required to make ${what}; install package ${need.package}`;
  });
  const packages = [...new Set(missing.map(([, need]) => need.package))].join(' ');
  throw new UserError(lines.join('\n'), `on Debian or Ubuntu: sudo apt-get install ${packages} (make setup installs them)`);
}
