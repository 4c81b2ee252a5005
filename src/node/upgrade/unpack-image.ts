import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { formatBytes } from '../../format-bytes.js';
import type { ImageReader } from '../../publish/registry/client.js';
import type { NodeSystem } from '../system.js';
import type { LayerDescriptor } from './check.js';
import { assertTarLayers } from './write-image.js';

/**
 * Pull an image's layers by digest and unpack them, bottom first, into `dir`:
 * for small images of files FROM scratch (a Kubernetes installer image), not
 * for an OS (whiteouts are not applied; writeImage merges those). Each blob
 * is checked against its digest as it arrives, then unpacked by tar (which
 * keeps members inside `dir` and reads gzip or plain tar alike).
 */
export async function unpackImage(system: NodeSystem, client: ImageReader, layers: readonly LayerDescriptor[], dir: string, log: (line: string) => void): Promise<void> {
  assertTarLayers(layers);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const blob = join(dir, '.layer');
  for (const [index, layer] of layers.entries()) {
    log(`ros: pulling layer ${index + 1}/${layers.length} ${layer.digest.slice(0, 19)} (${formatBytes(layer.size)})`);
    await pipeline(await client.openBlob(layer.digest), createWriteStream(blob));
    const unpacked = await system.run('tar', ['-x', '--no-same-owner', '-f', blob, '-C', dir]);
    if (unpacked.code !== 0) throw new Error(`could not unpack layer ${layer.digest}: ${unpacked.output.trim()}`);
  }
  await rm(blob, { force: true });
}
