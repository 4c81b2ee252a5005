/**
 * vmdk: a streamOptimized VMDK for vSphere/ESXi (what OVAs carry; import with
 * `govc import.vmdk` or an OVF). qemu cannot write to this subformat, so a
 * test boot attaches it with snapshot=on.
 *
 * Reproducible: qemu-img writes a random CID into the descriptor, and the
 * output's file name. The file is made under its final name in a private
 * directory (the partial name carries the process id), and the CID is set
 * from the disk's content (vmdk-descriptor.ts).
 */
import { open, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runCommand } from '../../exec/run.js';
import { writeAtomically } from '../../fsutil/atomic.js';
import { buildVmdkConvertArgs } from '../../tools/qemu-img.js';
import { deriveId, digestDiskContent } from './content-id.js';
import type { ConvertInput, DiskFormat } from './format.js';
import { checkEpoch, checkRawDisk, withStageDirectory } from './raw-disk.js';
import { runBothSettled } from './settle.js';
import { readVmdkDescriptorLocation, setVmdkDescriptorCid } from './vmdk-descriptor.js';

/** parentCID=ffffffff means "no parent"; keep our CID clear of it. */
const NO_PARENT_CID = 0xffff_ffff;

export function cidFromContent(contentDigest: Buffer): number {
  const cid = deriveId(contentDigest, 'vmdk cid', 4).readUInt32BE(0);
  return cid === NO_PARENT_CID ? cid - 1 : cid;
}

/** Set the CID in the descriptor of the VMDK at `path`, in place. */
export async function setVmdkCid(path: string, cid: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    const header = Buffer.alloc(512);
    await file.read(header, 0, header.length, 0);
    const { offset, size } = readVmdkDescriptorLocation(header);
    const region = Buffer.alloc(size);
    const { bytesRead } = await file.read(region, 0, size, offset);
    if (bytesRead !== size) throw new Error(`the VMDK ends inside its descriptor (${bytesRead} of ${size} bytes)`);
    await file.write(setVmdkDescriptorCid(region, cid), 0, size, offset);
  } finally {
    await file.close();
  }
}

/** Write the streamOptimized VMDK of `rawPath` at `path` (its name is recorded inside), with a CID from the disk's content. */
export async function writeStreamOptimizedVmdk(rawPath: string, path: string, logPath?: string): Promise<void> {
  const [, digest] = await runBothSettled(runCommand('qemu-img', buildVmdkConvertArgs(rawPath, path), { logPath }), digestDiskContent(rawPath));
  await setVmdkCid(path, cidFromContent(digest));
}

async function convertToVmdk({ rawPath, outPath, epoch, logPath }: ConvertInput): Promise<void> {
  await checkRawDisk(rawPath);
  checkEpoch(epoch);
  await writeAtomically(outPath, (tmpPath) =>
    withStageDirectory(tmpPath, async (directory) => {
      const staged = join(directory, basename(outPath));
      await writeStreamOptimizedVmdk(rawPath, staged, logPath);
      await rename(staged, tmpPath);
    }),
  );
}

export const vmdk: DiskFormat = {
  name: 'vmdk',
  extension: '.vmdk',
  mediaType: 'application/x-vmdk-disk',
  cmdline: [],
  serialConsole: false,
  boot: { qemuFormat: 'vmdk', snapshot: true },
  tools: [{ command: 'qemu-img', package: 'qemu-utils' }],
  convert: convertToVmdk,
};
