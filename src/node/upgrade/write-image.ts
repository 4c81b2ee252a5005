import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { IMAGE_FILES } from '../../disk/slots.js';
import { formatBytes } from '../../format-bytes.js';
import type { ImageReader } from '../../publish/registry/client.js';
import { compressRootfsTar, pickBootFiles } from '../../rootfs/compress.js';
import { flattenLayers, type LayerSource } from '../../rootfs/flatten-layers.js';
import type { CompressionSpec } from '../../spec/types.js';
import { syncPath } from '../durable.js';
import { pickChainBytes, type ChainBytes } from './boot-chain.js';
import type { LayerDescriptor } from './check.js';

/**
 * zstd at a low level: an upgrade compresses the whole OS on the node itself,
 * often a small VM, and the kernel and initramfs beside the image mean GRUB
 * never has to read this squashfs (GRUB 2.06 cannot read zstd).
 */
export const NODE_COMPRESSION: CompressionSpec = { compression: 'zstd', level: 3 };

const GZIP_LAYERS = ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip'];
const TAR_LAYERS = ['application/vnd.oci.image.layer.v1.tar', 'application/vnd.docker.image.rootfs.diff.tar'];

export interface WrittenImage {
  squashfsBytes: number;
  kernelVersion: string;
  entries: number;
  /** The image's signed boot chain (shim, GRUB, MokManager), when it carries one: for the ESP. */
  chain?: ChainBytes;
}

/**
 * Pull an image's layers by digest and write them, merged and filtered as the
 * builder does, as one image directory (squashfs, kernel, initramfs), every
 * file flushed to disk. Nothing is unpacked: the layers stream through
 * gunzip, the merge and tar2sqfs. A failure leaves a partial directory the
 * caller removes.
 */
export async function writeImage(client: ImageReader, layers: readonly LayerDescriptor[], dir: string, log: (line: string) => void): Promise<WrittenImage> {
  assertTarLayers(layers);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const sources: LayerSource[] = layers
    .map((layer, index) => ({
      name: layer.digest,
      open: async () => {
        log(`ros: pulling layer ${index + 1}/${layers.length} ${layer.digest.slice(0, 19)} (${formatBytes(layer.size)})`);
        return openLayer(client, layer);
      },
    }))
    .reverse();
  const merged = new PassThrough({ highWaterMark: 1 << 20 });
  const squashfsPath = join(dir, IMAGE_FILES.squashfsPath);
  const flattening = flattenLayers(sources, merged).catch((error: Error) => {
    merged.destroy(error);
    throw error;
  });
  const [stats, bootFiles] = await Promise.all([
    flattening,
    compressRootfsTar({ tar: merged, output: squashfsPath, compression: NODE_COMPRESSION, mtime: Math.floor(Date.now() / 1000) }),
  ]);
  const { kernel, initrd } = pickBootFiles(bootFiles, layers.at(-1)?.digest ?? 'the image');
  await writeFile(join(dir, IMAGE_FILES.kernelPath), kernel.content);
  await writeFile(join(dir, IMAGE_FILES.initrdPath), initrd.content);
  for (const name of Object.values(IMAGE_FILES)) await syncPath(join(dir, name));
  await syncPath(dir);
  return { squashfsBytes: (await stat(squashfsPath)).size, kernelVersion: kernel.version, entries: stats.entries, chain: pickChainBytes(bootFiles) };
}

/** Throws unless every layer is a tar, gzipped or not: what ros can read. */
export function assertTarLayers(layers: readonly LayerDescriptor[]): void {
  for (const layer of layers) {
    if (!GZIP_LAYERS.includes(layer.mediaType) && !TAR_LAYERS.includes(layer.mediaType)) {
      throw new Error(`layer ${layer.digest} is ${layer.mediaType || 'of no media type'}; ros reads gzip or uncompressed tar layers (push the image with ros-build push, skopeo or docker)`);
    }
  }
}

async function openLayer(client: ImageReader, layer: LayerDescriptor): Promise<Readable> {
  const blob = await client.openBlob(layer.digest);
  if (!GZIP_LAYERS.includes(layer.mediaType)) return blob;
  // pipeline destroys every stage with the first error, so a digest mismatch or a lost connection reaches the reader.
  // 1 MiB chunks instead of zlib's 16 KiB: each chunk costs the merge and the filter a pass through their stream
  // machinery, which was a third of the main thread's time (and costs far more under emulation).
  return pipeline(blob, createGunzip({ chunkSize: 1 << 20 }), () => {});
}
