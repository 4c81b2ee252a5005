/**
 * qcow2: compressed, for KVM, libvirt, OpenStack Glance, Proxmox. qemu-img
 * writes it in order (no -W), so the same disk gives the same bytes.
 */
import { runCommand } from '../../exec/run.js';
import { writeAtomically } from '../../fsutil/atomic.js';
import { buildQcow2ConvertArgs } from '../../tools/qemu-img.js';
import type { ConvertInput, DiskFormat } from './format.js';
import { checkEpoch, checkRawDisk } from './raw-disk.js';

async function convertToQcow2({ rawPath, outPath, epoch, logPath }: ConvertInput): Promise<void> {
  await checkRawDisk(rawPath);
  checkEpoch(epoch);
  await writeAtomically(outPath, async (tmpPath) => {
    await runCommand('qemu-img', buildQcow2ConvertArgs(rawPath, tmpPath), { logPath });
  });
}

export const qcow2: DiskFormat = {
  name: 'qcow2',
  extension: '.qcow2',
  // freedesktop shared-mime-info's name (there is no registered one).
  mediaType: 'application/x-qemu-disk',
  cmdline: [],
  serialConsole: false,
  boot: { qemuFormat: 'qcow2', snapshot: false },
  tools: [{ command: 'qemu-img', package: 'qemu-utils' }],
  convert: convertToQcow2,
};
