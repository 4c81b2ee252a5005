import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { DISK_FORMATS } from '../artifacts/formats/index.js';
import { NETBOOT_FILES } from '../artifacts/netboot-files.js';
import type { RegistryClient } from './registry/client.js';
import { sha256Digest } from './registry/client.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** OCI 1.1's empty config for artifacts that are not images. */
const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest(EMPTY_CONFIG_BYTES), size: 2 };

/**
 * Layer media types by manifest format: registered ones where there are some
 * (IANA: application/vnd.efi.iso, .img), else freedesktop shared-mime-info's.
 * Each disk format carries its own (src/artifacts/formats/).
 */
const LAYER_MEDIA_TYPES = new Map<string, string>([
  ['iso', 'application/vnd.efi.iso'],
  ['disk', DISK_FORMATS.raw.mediaType],
  ['squashfs', 'application/vnd.squashfs'],
  ...Object.values(DISK_FORMATS).map((format): [string, string] => [format.name, format.mediaType]),
  ...Object.values(NETBOOT_FILES).map((file): [string, string] => [file.format, file.mediaType]),
]);

export function artifactType(format: string): string {
  return `application/vnd.rancher.os2.${format}.v1`;
}

export interface ArtifactFile {
  path: string;
  format: string;
  size: number;
  sha256: string;
}

/** What the manifest says about the artifact beyond its bytes: OCI's standard annotations. */
export interface ArtifactLabels {
  created: string;
  version: string;
  /** The runnable image the media was built from (repository@digest). */
  image?: string;
  source?: string;
  revision?: string;
}

/**
 * The artifact manifest for one media file: ORAS-style clients pull the layer
 * under its title annotation, so the title is the file name.
 */
export function createArtifactManifest(file: ArtifactFile, labels: ArtifactLabels): Buffer {
  const annotations: Record<string, string> = {
    'org.opencontainers.image.created': labels.created,
    'org.opencontainers.image.version': labels.version,
    'org.opencontainers.image.title': basename(file.path),
    ...(labels.source ? { 'org.opencontainers.image.source': labels.source } : {}),
    ...(labels.revision ? { 'org.opencontainers.image.revision': labels.revision } : {}),
    ...(labels.image ? { 'org.opencontainers.image.base.name': labels.image } : {}),
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: artifactType(file.format),
    config: EMPTY_CONFIG,
    layers: [
      {
        mediaType: LAYER_MEDIA_TYPES.get(file.format) ?? 'application/octet-stream',
        digest: `sha256:${file.sha256}`,
        size: file.size,
        annotations: { 'org.opencontainers.image.title': basename(file.path) },
      },
    ],
    annotations,
  };
  return Buffer.from(JSON.stringify(manifest));
}

/** Push one media file as an OCI artifact under `tag`; the file is streamed from disk. */
export async function pushArtifact(client: RegistryClient, tag: string, file: ArtifactFile, labels: ArtifactLabels): Promise<string> {
  await client.pushBlob({ digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size, open: () => Readable.from([EMPTY_CONFIG_BYTES]) });
  await client.pushBlob({ digest: `sha256:${file.sha256}`, size: file.size, open: () => createReadStream(file.path) });
  return client.putManifest(tag, createArtifactManifest(file, labels), OCI_MANIFEST);
}
