/**
 * vhd: a fixed VHD for Azure (and Hyper-V). Azure takes only fixed VHDs whose
 * virtual size is a whole MiB; our raw disks are whole GiB, and qemu-img's
 * force_size keeps that size exactly. The footer's time and unique id are
 * then set from the build (see vhd-footer.ts), so the file is reproducible.
 */
import { open } from 'node:fs/promises';
import { runCommand } from '../../exec/run.js';
import { writeAtomically } from '../../fsutil/atomic.js';
import { buildVhdConvertArgs } from '../../tools/qemu-img.js';
import { deriveId, digestDiskContent } from './content-id.js';
import type { ConvertInput, DiskFormat } from './format.js';
import { checkEpoch, checkRawDisk, MiB } from './raw-disk.js';
import { runBothSettled } from './settle.js';
import { readVhdFooter, setVhdFooterIdentity, VHD_FOOTER_SIZE, vhdUniqueId } from './vhd-footer.js';

/** Rewrite the footer of the fixed VHD at `path`, made from a raw disk of `rawSize` bytes. */
export async function setFixedVhdIdentity(path: string, rawSize: number, identity: { epochSeconds: number; uniqueId: Buffer }): Promise<void> {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    if (size !== rawSize + VHD_FOOTER_SIZE) {
      throw new Error(`qemu-img wrote a VHD of ${size} bytes from a ${rawSize}-byte disk; a fixed VHD is the disk plus a ${VHD_FOOTER_SIZE}-byte footer`);
    }
    const footer = Buffer.alloc(VHD_FOOTER_SIZE);
    await file.read(footer, 0, VHD_FOOTER_SIZE, rawSize);
    const { currentSize } = readVhdFooter(footer);
    if (currentSize !== BigInt(rawSize)) throw new Error(`the VHD's virtual size is ${currentSize} bytes, not the disk's ${rawSize} (force_size was not honoured)`);
    await file.write(setVhdFooterIdentity(footer, identity), 0, VHD_FOOTER_SIZE, rawSize);
  } finally {
    await file.close();
  }
}

async function convertToVhd({ rawPath, outPath, epoch, logPath }: ConvertInput): Promise<void> {
  const rawSize = await checkRawDisk(rawPath);
  checkEpoch(epoch);
  if (rawSize % MiB !== 0) throw new Error(`Azure needs a whole MiB; the disk is ${rawSize} bytes`);
  await writeAtomically(outPath, async (tmpPath) => {
    // The content digest reads the raw disk while qemu-img copies it.
    const [, digest] = await runBothSettled(runCommand('qemu-img', buildVhdConvertArgs(rawPath, tmpPath), { logPath }), digestDiskContent(rawPath));
    await setFixedVhdIdentity(tmpPath, rawSize, { epochSeconds: epoch, uniqueId: vhdUniqueId(deriveId(digest, 'vhd unique id', 16)) });
  });
}

export const vhd: DiskFormat = {
  name: 'vhd',
  extension: '.vhd',
  mediaType: 'application/x-vhd-disk',
  // Azure's documented kernel arguments: its storage can take minutes to attach the root disk.
  cmdline: ['rootdelay=300'],
  serialConsole: true,
  // A fixed VHD has no header, so qemu would probe it as raw: name the format.
  boot: { qemuFormat: 'vpc', snapshot: false },
  tools: [{ command: 'qemu-img', package: 'qemu-utils' }],
  convert: convertToVhd,
};
