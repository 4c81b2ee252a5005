import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { ensureFreeSpace } from '../../fsutil/space.js';
import { join } from 'node:path';
import { buildRootfsImages, readSignedEfiChain, type RootfsArtifacts } from '../../artifacts/squashfs.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { computeKey, shortKey } from '../keys.js';
import { keyOf, outputOf, type Step } from '../step.js';
import type { ImageOutput } from './base.js';

/** Bump when the export filter changes what ends up in the rootfs (3: the signed EFI chain is captured too). */
const FILTER_VERSION = 3;

function rootfsDir(env: BuildEnv, key: string): string {
  return join(env.cacheDir, 'rootfs', shortKey(key));
}

async function cachedRootfs(dir: string): Promise<RootfsArtifacts | undefined> {
  const files = { squashfsPath: join(dir, 'rootfs.squashfs'), kernelPath: join(dir, 'vmlinuz'), initrdPath: join(dir, 'initrd') };
  if (!Object.values(files).every((path) => existsSync(path))) return undefined;
  const efiChain = await readSignedEfiChain(dir);
  return { ...files, kernelVersion: 'cached', ...(efiChain ? { efiChain } : {}) };
}

/** The image's filesystem as a squashfs, plus its kernel and initramfs. */
export function createRootfsStep(env: BuildEnv, imageStep: string): Step {
  const compression = env.spec.squashfs;
  const keyFor = (imageKey: string | undefined) =>
    imageKey
      ? computeKey('rootfs', { image: imageKey, compression, filter: FILTER_VERSION, epoch: env.epochFromEnv ? env.epoch : undefined })
      : undefined;
  const label = `${compression.compression}${compression.level ? `-${compression.level}` : ''}`;
  return {
    name: 'rootfs',
    needs: [imageStep],
    async probe(state) {
      const key = keyFor(keyOf(state, imageStep));
      return { key, cached: Boolean(key && (await cachedRootfs(rootfsDir(env, key)))), summary: `squashfs ${label}` };
    },
    async run(state) {
      const key = keyFor(keyOf(state, imageStep));
      if (!key) throw new Error('internal: rootfs step has no image key');
      const dir = rootfsDir(env, key);
      const cached = await cachedRootfs(dir);
      if (cached) return { output: cached, detail: dir };
      const image = outputOf<ImageOutput>(state, imageStep);
      // A compressed rootfs is at most about half the image; the kernel and initramfs are copied out beside it.
      const { Size } = await env.docker.getImage(image.id).inspect();
      await mkdir(dir, { recursive: true });
      await ensureFreeSpace(dir, Size * 0.6, 'the rootfs squashfs');
      const output = await buildRootfsImages({
        docker: env.docker,
        image: image.id,
        compression,
        outDir: dir,
        logPath: logPathFor(env, 'rootfs'),
        mtime: env.epoch,
      });
      return { output, detail: `${label}, kernel ${output.kernelVersion}` };
    },
  };
}
