/** raw: the GPT disk itself, sparse; for `dd` to a device, libvirt, Proxmox, Nutanix, OpenStack. */
import type { DiskFormat } from './format.js';
import { copyRawDisk } from './sparse-copy.js';

export const raw: DiskFormat = {
  name: 'raw',
  extension: '.raw',
  // IANA's registered type for a disk image with a UEFI-bootable partition table.
  mediaType: 'application/vnd.efi.img',
  cmdline: [],
  serialConsole: false,
  boot: { qemuFormat: 'raw', snapshot: false },
  tools: [{ command: 'cp', package: 'coreutils' }],
  convert: copyRawDisk,
};
