import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { writeAtomically } from '../fsutil/atomic.js';
import { withImageExport } from '../docker/export.js';
import { compressRootfsTar, pickBootFiles } from '../rootfs/compress.js';
import type { BootFile } from '../rootfs/filter.js';
import type { CompressionSpec } from '../spec/types.js';

export interface RootfsArtifacts {
  squashfsPath: string;
  kernelPath: string;
  initrdPath: string;
  kernelVersion: string;
}

/**
 * Export an image, filter it and compress it into a squashfs in one stream;
 * the kernel and initramfs are captured on the way. Every file appears
 * atomically in `outDir`.
 */
export async function buildRootfsImages(options: {
  docker: Docker;
  image: string;
  compression: CompressionSpec;
  outDir: string;
  logPath: string;
  mtime: number;
}): Promise<RootfsArtifacts> {
  const squashfsPath = join(options.outDir, 'rootfs.squashfs');
  let bootFiles: BootFile[] = [];
  await writeAtomically(squashfsPath, (tmpPath) =>
    withImageExport(options.docker, options.image, async (tar) => {
      bootFiles = await compressRootfsTar({ tar, output: tmpPath, compression: options.compression, mtime: options.mtime, logPath: options.logPath });
    }),
  );
  const { kernel, initrd } = pickBootFiles(bootFiles, options.image);
  const kernelPath = join(options.outDir, 'vmlinuz');
  const initrdPath = join(options.outDir, 'initrd');
  await writeAtomically(kernelPath, (tmp) => writeFile(tmp, kernel.content));
  await writeAtomically(initrdPath, (tmp) => writeFile(tmp, initrd.content));
  return { squashfsPath, kernelPath, initrdPath, kernelVersion: kernel.version };
}
