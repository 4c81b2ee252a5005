import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readPublicKey } from '../../publish/cosign/key-file.js';
import { OciLayoutReader } from '../../publish/oci-layout.js';
import { MANIFEST_MEDIA_TYPES, pickAmd64Manifest, RegistryClient, type ImageReader } from '../../publish/registry/client.js';
import { formatReference, parseReference, withDigest } from '../../publish/registry/reference.js';
import { verifyImageSignature } from '../../publish/verify.js';
import { BUNDLE_DIRS } from '../../disk/bundle.js';
import { gatherConfig } from '../config-sources.js';
import { parseKeyValues } from '../slots/image-identity.js';
import type { NodeSystem } from '../system.js';

export interface UpgradeRequest {
  /** Default: ros.upgrade.image, else the IMAGE of /usr/lib/ros-release. */
  image?: string;
  /** A cosign public key (PEM inline or a path); default ros.upgrade.verify_key. */
  key?: string;
  allowHttp: boolean;
}

export interface UpgradeCheck {
  reference: string;
  digest: string;
  /** The key the signature verified with, or undefined when no key is configured (nothing was checked). */
  verifiedWith?: string;
  layers: number;
  compressedBytes: number;
  /** Where the image was read: a bundle's directory on the node, or undefined for its registry. */
  bundle?: string;
}

/** One layer of the image's manifest (bottom first, as manifests list them). */
export interface LayerDescriptor {
  digest: string;
  size: number;
  mediaType: string;
}

/** A checked image, ready to be pulled by its digest (never by its tag again: a tag that moves cannot swap what was verified). */
export interface ResolvedUpgrade {
  check: UpgradeCheck;
  client: ImageReader;
  layers: LayerDescriptor[];
}

/**
 * Everything an upgrade does before it writes: which image, which digest,
 * whether a cosign signature by the configured key names that digest. A
 * missing or wrong signature throws (VerificationError) and nothing is written.
 */
export async function checkUpgrade(system: NodeSystem, request: UpgradeRequest): Promise<UpgradeCheck> {
  return (await resolveUpgrade(system, request)).check;
}

export async function resolveUpgrade(system: NodeSystem, request: UpgradeRequest): Promise<ResolvedUpgrade> {
  const { merged } = await gatherConfig(system.root);
  const image = request.image ?? merged.ros?.upgrade?.image ?? (await readReleaseImage(system.root));
  if (!image) throw new Error('no image to upgrade to: pass --image REF or set ros.upgrade.image (/usr/lib/ros-release names none)');
  return resolveImage(system, { image, key: request.key ?? merged.ros?.upgrade?.verify_key, allowHttp: request.allowHttp });
}

/**
 * One image by reference: its digest, its signature checked with the key when
 * one is given, its layers. From a bundle on the node when one holds the
 * reference, else from its registry; the check is the same.
 */
export async function resolveImage(system: NodeSystem, request: UpgradeRequest & { image: string }): Promise<ResolvedUpgrade> {
  const ref = parseReference(request.image);
  const bundled = await OciLayoutReader.find(BUNDLE_DIRS.map((dir) => join(system.root, dir)), ref);
  const client: ImageReader = bundled ?? (await RegistryClient.connect(ref, { allowHttp: request.allowHttp, onRetry: (message) => system.log(`ros: ${message}`) }));
  const digest = ref.digest ?? (await client.resolveDigest(ref.tag!));
  if (!digest) throw new Error(`${formatReference(ref)} is not in the registry`);
  const keySource = request.key;
  let verifiedWith: string | undefined;
  if (keySource) {
    const { pem, name } = await readKey(keySource);
    await verifyImageSignature(client, withDigest(ref, digest), readPublicKey(pem, name));
    verifiedWith = name;
  }
  const layers = await readLayers(client, digest);
  const bundle = bundled ? `/${relative(system.root, bundled.dir)}` : undefined;
  const check = { reference: formatReference(ref), digest, verifiedWith, layers: layers.length, compressedBytes: layers.reduce((sum, l) => sum + l.size, 0), ...(bundle ? { bundle } : {}) };
  return { check, client, layers };
}

interface ManifestJson {
  mediaType?: string;
  layers?: Array<{ digest: string; size?: number; mediaType?: string }>;
  manifests?: Array<{ digest: string; platform?: { os?: string; architecture?: string } }>;
}

/** The layers of the image a digest names; for a multi-platform index, of its linux/amd64 image. */
async function readLayers(client: ImageReader, digest: string): Promise<LayerDescriptor[]> {
  const manifest = await client.getManifest(digest, MANIFEST_MEDIA_TYPES);
  if (!manifest) throw new Error(`the manifest ${digest} is not in the registry`);
  const json = JSON.parse(manifest.bytes.toString('utf8')) as ManifestJson;
  if (json.manifests) {
    return readLayers(client, pickAmd64Manifest({ manifests: json.manifests }, digest));
  }
  return (json.layers ?? []).map((l) => ({ digest: l.digest, size: l.size ?? 0, mediaType: l.mediaType ?? '' }));
}

async function readReleaseImage(root: string): Promise<string | undefined> {
  return parseKeyValues(await readFile(join(root, 'usr/lib/ros-release'), 'utf8').catch(() => '')).IMAGE;
}

/**
 * A verify key is a PEM inline, a path to one, or the PEM's base64 body on
 * one line: a kernel command line (a network boot's) cannot carry newlines.
 */
async function readKey(source: string): Promise<{ pem: string; name: string }> {
  if (source.includes('-----BEGIN')) return { pem: source, name: 'the configured key' };
  // A DER SubjectPublicKeyInfo is a SEQUENCE: its base64 begins MF (short) or MI.
  if (/^M[FI][A-Za-z0-9+/]{38,}={0,2}$/.test(source)) {
    return { pem: `-----BEGIN PUBLIC KEY-----\n${source.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`, name: `the configured key ${source.slice(0, 12)}…` };
  }
  return { pem: await readFile(source, 'utf8'), name: source };
}

/** Room for a kernel and an initramfs beside the squashfs (Debian's: 8 and 31 MiB). */
const BOOT_FILES_BYTES = 64 * 2 ** 20;

/**
 * What the image takes on disk once written (squashfs, kernel, initramfs).
 * The squashfs (zstd) comes out a little smaller than the image's gzip
 * layers, so those are the estimate, with no margin on top: the layout gives
 * each image 25 % headroom already, and a 10 % margin plus a generous
 * allowance for the boot files came within a few tens of MiB of what
 * COS_RECOVERY has beside one image.
 */
export function estimateImageBytes(check: Pick<UpgradeCheck, 'compressedBytes'>): number {
  return check.compressedBytes + BOOT_FILES_BYTES;
}

export function renderCheck(check: UpgradeCheck): string {
  const signature = check.verifiedWith ? `signature verified with ${check.verifiedWith}` : 'signature NOT checked (no ros.upgrade.verify_key or --key)';
  const source = check.bundle ? `from the bundle in ${check.bundle}` : 'to pull';
  return `${check.reference} (${check.digest}): ${signature}; ${check.layers} layers, ${(check.compressedBytes / 2 ** 20).toFixed(1)} MiB ${source}\n`;
}
