/**
 * ami: a raw disk for Amazon EC2, uploaded to S3 and turned into a snapshot
 * with `aws ec2 import-snapshot --disk-container Format=raw,...`, then
 * registered (`aws ec2 register-image --boot-mode uefi-preferred`). The same
 * bytes as `raw`, except that the disk builder builds it with this format's
 * kernel arguments, hence a format of its own.
 */
import type { DiskFormat } from './format.js';
import { copyRawDisk } from './sparse-copy.js';

export const ami: DiskFormat = {
  name: 'ami',
  extension: '.ami.raw',
  mediaType: 'application/vnd.efi.img',
  // EC2 volumes are NVMe; the default 30 s I/O timeout turns a slow EBS moment into a read-only root.
  cmdline: ['nvme_core.io_timeout=4294967295'],
  serialConsole: true,
  boot: { qemuFormat: 'raw', snapshot: false },
  tools: [{ command: 'cp', package: 'coreutils' }],
  convert: copyRawDisk,
};
