/**
 * Images in an OCI image layout (a directory: oci-layout, index.json,
 * blobs/sha256/…), for machines without a registry: ros-build copies an
 * image and its cosign signature from a registry into one (a medium's
 * bundle), and the node reads it back through the same interface as the
 * registry client, so the same signature check and unpacking apply. Each
 * manifest in index.json is named by its full reference (registry/repository:tag,
 * as containerd names them), the signature by its cosign tag.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeAtomically } from '../fsutil/atomic.js';
import { checkDigestOnTheWay, MANIFEST_MEDIA_TYPES, NotFoundError, pickAmd64Manifest, sha256Digest, type ImageReader, type RegistryClient, type RemoteManifest } from './registry/client.js';
import { formatReference, type ImageReference } from './registry/reference.js';
import { signatureTag } from './signature-manifest.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Array<Descriptor & { platform?: { os?: string; architecture?: string } }>;
}

function blobPath(dir: string, digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

async function readIndex(dir: string): Promise<Descriptor[]> {
  const text = await readFile(join(dir, 'index.json'), 'utf8').catch(() => undefined);
  return text ? ((JSON.parse(text) as { manifests?: Descriptor[] }).manifests ?? []) : [];
}

/** The repository's images as a layout holds them: what ImageReader asks a registry, answered from the directory. */
export class OciLayoutReader implements ImageReader {
  private constructor(
    readonly dir: string,
    /** registry/repository, as the index's reference names start. */
    private readonly name: string,
    private readonly index: Descriptor[],
  ) {}

  /** The first layout among `dirs` whose index names `ref`'s tag (or holds its digest), else undefined. */
  static async find(dirs: readonly string[], ref: ImageReference): Promise<OciLayoutReader | undefined> {
    const name = `${ref.registry}/${ref.repository}`;
    for (const dir of dirs) {
      const reader = new OciLayoutReader(dir, name, await readIndex(dir));
      if ((await reader.resolveDigest(ref.digest ?? ref.tag!)) !== undefined) return reader;
    }
    return undefined;
  }

  async resolveDigest(reference: string): Promise<string | undefined> {
    if (reference.startsWith('sha256:')) return (await this.has(reference)) ? reference : undefined;
    return this.index.find((entry) => entry.annotations?.[REF_NAME_ANNOTATION] === `${this.name}:${reference}`)?.digest;
  }

  async getManifest(reference: string): Promise<RemoteManifest | undefined> {
    const digest = await this.resolveDigest(reference);
    if (!digest) return undefined;
    const bytes = await this.getBlob(digest);
    return { bytes, digest, mediaType: (JSON.parse(bytes.toString('utf8')) as ManifestJson).mediaType ?? MANIFEST_MEDIA_TYPES[0]! };
  }

  async getBlob(digest: string): Promise<Buffer> {
    const bytes = await readFile(blobPath(this.dir, digest)).catch(() => {
      throw new NotFoundError(`blob ${digest} is not in the bundle ${this.dir}`);
    });
    if (sha256Digest(bytes) !== digest) throw new Error(`blob ${digest} in the bundle ${this.dir} does not match its digest (a damaged medium?)`);
    return bytes;
  }

  async openBlob(digest: string): Promise<Readable> {
    if (!(await this.has(digest))) throw new NotFoundError(`blob ${digest} is not in the bundle ${this.dir}`);
    return checkDigestOnTheWay(createReadStream(blobPath(this.dir, digest)), digest, `the bundle ${this.dir}`);
  }

  private async has(digest: string): Promise<boolean> {
    return stat(blobPath(this.dir, digest)).then(() => true, () => false);
  }
}

/**
 * Copy the image `ref` names (its manifest, for an index also the linux/amd64
 * one, config and layers) and its cosign signature when the registry has one
 * into the layout at `dir` (made or added to), named by `ref`'s full
 * reference. Returns the digest copied and whether a signature came along.
 */
export async function copyImageToLayout(client: RegistryClient, ref: ImageReference, dir: string): Promise<{ digest: string; signed: boolean; bytes: number }> {
  const shown = formatReference(ref);
  const top = await client.getManifest(ref.digest ?? ref.tag!, MANIFEST_MEDIA_TYPES);
  if (!top) throw new Error(`${shown} is not in the registry`);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
  const name = `${ref.registry}/${ref.repository}`;
  const entries: Descriptor[] = [{ mediaType: top.mediaType, digest: top.digest, size: top.bytes.length, annotations: { [REF_NAME_ANNOTATION]: `${name}:${ref.tag ?? top.digest}` } }];
  let bytes = await copyManifestTree(client, top, dir);
  const signature = await client.getManifest(signatureTag(top.digest), MANIFEST_MEDIA_TYPES);
  if (signature) {
    bytes += await copyManifestTree(client, signature, dir);
    entries.push({ mediaType: signature.mediaType, digest: signature.digest, size: signature.bytes.length, annotations: { [REF_NAME_ANNOTATION]: `${name}:${signatureTag(top.digest)}` } });
  }
  const kept = (await readIndex(dir)).filter((entry) => !entries.some((added) => added.annotations![REF_NAME_ANNOTATION] === entry.annotations?.[REF_NAME_ANNOTATION]));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [...kept, ...entries] };
  await writeAtomically(join(dir, 'index.json'), (partial) => writeFile(partial, `${JSON.stringify(index, null, 2)}\n`));
  return { digest: top.digest, signed: signature !== undefined, bytes };
}

/** A manifest, and what it points to (for an index, its linux/amd64 manifest), as blobs of the layout; the bytes written. */
async function copyManifestTree(client: RegistryClient, manifest: RemoteManifest, dir: string): Promise<number> {
  await writeFile(blobPath(dir, manifest.digest), manifest.bytes);
  let bytes = manifest.bytes.length;
  const json = JSON.parse(manifest.bytes.toString('utf8')) as ManifestJson;
  if (json.manifests) {
    const childDigest = pickAmd64Manifest({ manifests: json.manifests }, manifest.digest);
    const child = await client.getManifest(childDigest, MANIFEST_MEDIA_TYPES);
    if (!child) throw new Error(`the manifest ${childDigest} is not in the registry`);
    return bytes + (await copyManifestTree(client, child, dir));
  }
  for (const blob of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) {
    const target = blobPath(dir, blob.digest);
    if (await stat(target).then((found) => found.size === blob.size, () => false)) continue;
    await writeAtomically(target, async (partial) => pipeline(await client.openBlob(blob.digest), createWriteStream(partial)));
    bytes += blob.size;
  }
  return bytes;
}
