/**
 * A root file system tar to a squashfs: the one path both the builder (a
 * container export) and a node's upgrade (an image's layers, merged) take, so
 * an image written by `ros upgrade` is filtered exactly as one built by
 * ros-build.
 */
import { cpus } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { UserError } from '../errors.js';
import { runCommand } from '../exec/run.js';
import type { CompressionSpec } from '../spec/types.js';
import { buildTar2sqfsArgs } from '../tools/tar2sqfs.js';
import { RootfsFilter, type BootFile } from './filter.js';

/**
 * A root file system tar (a container export, or an image's layers merged on
 * a node during an upgrade) through the rootfs filter into tar2sqfs, in one
 * stream; returns the kernels and initramfs images seen on the way.
 */
export async function compressRootfsTar(options: { tar: NodeJS.ReadableStream; output: string; compression: CompressionSpec; mtime: number; logPath?: string }): Promise<BootFile[]> {
  const filter = new RootfsFilter(options.mtime);
  const filtered = new PassThrough();
  const args = buildTar2sqfsArgs({ output: options.output, compression: options.compression, jobs: cpus().length, mtime: options.mtime });
  // Whichever side fails first stops the other: a dead compressor must not stall the stream, nor a broken stream leave tar2sqfs waiting.
  const abort = new AbortController();
  const compress = runCommand('tar2sqfs', args, { input: filtered, logPath: options.logPath, cancelSignal: abort.signal }).catch((error) => {
    filtered.destroy();
    throw error;
  });
  const stream = pipeline(options.tar, filter, filtered).catch((error) => {
    abort.abort();
    throw error;
  });
  await Promise.all([compress, stream]);
  return filter.bootFiles;
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
