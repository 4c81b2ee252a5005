import { SIMPLE_SIGNING_MEDIA_TYPE } from './cosign/simple-signing.js';
import { SIGNATURE_ANNOTATION } from './cosign/signature.js';
import { OCI_MANIFEST } from './artifact.js';
import { sha256Digest } from './registry/client.js';

/** One signature as cosign stores it: a payload blob and the signature of it in an annotation. */
export interface SignatureLayer {
  digest: string;
  size: number;
  signature: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** cosign's tag for the signatures of a manifest: "sha256-<hex>.sig", beside it in the same repository. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/**
 * The signature image with `layer` added, as cosign builds it: one
 * simple-signing layer per signature (layers already there are kept exactly,
 * certificates and bundles included), and the image config go-containerregistry
 * writes for such an image (zero times, one history entry and diff_id per layer).
 */
export function appendSignature(existingManifest: Buffer | undefined, layer: SignatureLayer): { manifest: Buffer; config: Buffer } {
  const kept = existingManifest ? ((JSON.parse(existingManifest.toString('utf8')) as { layers?: Descriptor[] }).layers ?? []) : [];
  const layers: Descriptor[] = [...kept, { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: layer.size, digest: layer.digest, annotations: { [SIGNATURE_ANNOTATION]: layer.signature } }];
  const zeroTime = '0001-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: zeroTime,
      history: layers.map(() => ({ created: zeroTime })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256Digest(config) },
    layers,
  };
  return { manifest: Buffer.from(JSON.stringify(manifest)), config };
}

/** The signature layers of a signature manifest (cosign's or ours); layers of other kinds are skipped. */
export function readSignatureLayers(manifestBytes: Buffer): SignatureLayer[] {
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { layers?: Descriptor[] };
  return (manifest.layers ?? [])
    .filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && typeof l.annotations?.[SIGNATURE_ANNOTATION] === 'string')
    .map((l) => ({ digest: l.digest, size: l.size, signature: l.annotations![SIGNATURE_ANNOTATION]! }));
}
