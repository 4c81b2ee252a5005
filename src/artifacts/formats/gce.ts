/**
 * gce: the Google Compute Engine image tarball, `disk.raw` alone in a gzip'd
 * GNU tar (upload it to Cloud Storage, then `gcloud compute images create
 * NAME --source-uri gs://BUCKET/FILE --guest-os-features=UEFI_COMPATIBLE`).
 * GCE wants the disk a whole GiB, which the disk builder guarantees.
 *
 * Reproducible: the disk is first copied to `disk.raw` with cp
 * --sparse=always, so its holes (which the sparse tar records) are its runs
 * of zeros rather than whatever allocation the raw disk had; the tar header
 * and gzip carry no time but the epoch (src/tools/tar.ts).
 */
import { join } from 'node:path';
import { runCommand } from '../../exec/run.js';
import { writeAtomically } from '../../fsutil/atomic.js';
import { buildSparseCopyArgs } from '../../tools/cp.js';
import { buildGceTarArgs, GCE_DISK_MEMBER } from '../../tools/tar.js';
import type { ConvertInput, DiskFormat } from './format.js';
import { checkEpoch, checkRawDisk, withStageDirectory } from './raw-disk.js';

/** TAR_OPTIONS and GZIP would add options from the environment; the archive must depend on the arguments alone. */
const CLEAN_ENV = { TAR_OPTIONS: '', GZIP: '' };

async function convertToGceTarball({ rawPath, outPath, epoch, logPath }: ConvertInput): Promise<void> {
  await checkRawDisk(rawPath);
  checkEpoch(epoch);
  await writeAtomically(outPath, (tmpPath) =>
    withStageDirectory(tmpPath, async (directory) => {
      // reflink=never: a shared-block copy would keep the source's allocation, not normalise it.
      await runCommand('cp', buildSparseCopyArgs({ source: rawPath, destination: join(directory, GCE_DISK_MEMBER), reflink: 'never' }), { logPath });
      await runCommand('tar', buildGceTarArgs({ outputPath: tmpPath, directory, mtime: epoch }), { logPath, env: CLEAN_ENV });
    }),
  );
}

export const gce: DiskFormat = {
  name: 'gce',
  extension: '.gce.tar.gz',
  // freedesktop shared-mime-info's name for .tar.gz.
  mediaType: 'application/x-compressed-tar',
  cmdline: [],
  serialConsole: true,
  // qemu cannot boot a tarball: `ros-build boot` unpacks its disk.raw first.
  boot: { qemuFormat: 'raw', snapshot: false, member: /^disk\.raw$/ },
  tools: [
    { command: 'cp', package: 'coreutils' },
    { command: 'tar', package: 'tar' },
    { command: 'gzip', package: 'gzip' },
  ],
  convert: convertToGceTarball,
};
