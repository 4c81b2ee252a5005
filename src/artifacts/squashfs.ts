import { cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { UserError } from '../errors.js';
import { runCommand } from '../exec/run.js';
import { writeAtomically } from '../fsutil/atomic.js';
import { withImageExport } from '../docker/export.js';
import { RootfsFilter, type BootFile } from '../rootfs/filter.js';
import type { CompressionSpec } from '../spec/types.js';
import { buildTar2sqfsArgs } from '../tools/tar2sqfs.js';

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
  const filter = new RootfsFilter(options.mtime);
  await writeAtomically(squashfsPath, (tmpPath) =>
    withImageExport(options.docker, options.image, async (tar) => {
      const filtered = new PassThrough();
      const args = buildTar2sqfsArgs({ output: tmpPath, compression: options.compression, jobs: cpus().length, mtime: options.mtime });
      // Whichever side fails first stops the other: a dead compressor must not stall the export, nor a broken export leave tar2sqfs waiting.
      const abort = new AbortController();
      const compress = runCommand('tar2sqfs', args, { input: filtered, logPath: options.logPath, cancelSignal: abort.signal }).catch((error) => {
        filtered.destroy();
        throw error;
      });
      const stream = pipeline(tar, filter, filtered).catch((error) => {
        abort.abort();
        throw error;
      });
      await Promise.all([compress, stream]);
    }),
  );
  const { kernel, initrd } = pickBootFiles(filter.bootFiles, options.image);
  const kernelPath = join(options.outDir, 'vmlinuz');
  const initrdPath = join(options.outDir, 'initrd');
  await writeAtomically(kernelPath, (tmp) => writeFile(tmp, kernel.content));
  await writeAtomically(initrdPath, (tmp) => writeFile(tmp, initrd.content));
  return { squashfsPath, kernelPath, initrdPath, kernelVersion: kernel.version };
}

/** The newest kernel that has an initramfs beside it. */
export function pickBootFiles(files: BootFile[], image: string): { kernel: BootFile; initrd: BootFile } {
  const kernels = files.filter((f) => f.kind === 'kernel').sort((a, b) => compareVersions(b.version, a.version));
  for (const kernel of kernels) {
    const initrd = files.find((f) => f.kind === 'initrd' && f.version === kernel.version);
    if (initrd) return { kernel, initrd };
  }
  const found = files.map((f) => `${f.kind} ${f.version}`).join(', ') || 'nothing';
  throw new UserError(
    `image ${image} has no kernel with a matching initramfs in /boot (found ${found})`,
    'build media only from images built FROM the OS image, which installs the kernel and a live initramfs',
  );
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
