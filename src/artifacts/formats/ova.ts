/**
 * ova: what vSphere imports (Deploy OVF Template, `govc import.ova`,
 * ovftool): a tar holding the OVF descriptor first, then the
 * streamOptimized VMDK, then a manifest of their SHA-256 digests. The
 * descriptor (ova-descriptor.ts) declares the OVF environment's properties
 * (hostname, public-keys, user-data) that the node's `ovf` data source reads
 * from the CD-ROM vSphere attaches.
 *
 * Reproducible: the VMDK as the vmdk format makes it, a descriptor and
 * manifest from the content alone, and a ustar archive with the epoch as
 * every mtime and root as every owner.
 */
import { rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runCommand } from '../../exec/run.js';
import { writeAtomically } from '../../fsutil/atomic.js';
import { sha256File } from '../../outputs/record.js';
import type { ConvertInput, DiskFormat } from './format.js';
import { renderOvaDescriptor } from './ova-descriptor.js';
import { checkEpoch, checkRawDisk, withStageDirectory } from './raw-disk.js';
import { writeStreamOptimizedVmdk } from './vmdk.js';

/** The OVA's members for an output named NAME.ova, in the order the OVF specification requires. */
export function ovaMembers(outPath: string): { name: string; descriptor: string; disk: string; manifest: string } {
  const name = basename(outPath).replace(/\.ova$/, '');
  return { name, descriptor: `${name}.ovf`, disk: `${name}-disk1.vmdk`, manifest: `${name}.mf` };
}

async function convertToOva({ rawPath, outPath, epoch, logPath }: ConvertInput): Promise<void> {
  const capacityBytes = await checkRawDisk(rawPath);
  checkEpoch(epoch);
  const members = ovaMembers(outPath);
  await writeAtomically(outPath, (tmpPath) =>
    withStageDirectory(tmpPath, async (directory) => {
      const at = (name: string) => join(directory, name);
      await writeStreamOptimizedVmdk(rawPath, at(members.disk), logPath);
      const descriptor = renderOvaDescriptor({ name: members.name, diskFile: members.disk, diskFileBytes: (await stat(at(members.disk))).size, capacityBytes });
      await writeFile(at(members.descriptor), descriptor);
      const lines = await Promise.all([members.descriptor, members.disk].map(async (name) => `SHA256(${name})= ${await sha256File(at(name))}\n`));
      await writeFile(at(members.manifest), lines.join(''));
      const archive = at('archive.ova');
      await runCommand(
        'tar',
        ['--create', '--file', archive, '--format=ustar', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=0644', '--directory', directory, '--', members.descriptor, members.disk, members.manifest],
        { logPath, env: { TAR_OPTIONS: '' } },
      );
      await rename(archive, tmpPath);
    }),
  );
}

export const ova: DiskFormat = {
  name: 'ova',
  extension: '.ova',
  mediaType: 'application/x-ova',
  cmdline: [],
  serialConsole: false,
  boot: { qemuFormat: 'vmdk', snapshot: true, member: /\.vmdk$/ },
  tools: [
    { command: 'qemu-img', package: 'qemu-utils' },
    { command: 'tar', package: 'tar' },
  ],
  convert: convertToOva,
};
