import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appendSignature, readSignatureLayers, signatureTag, type SignatureLayer } from '../../../src/publish/signature-manifest.js';

const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE = 'dev.cosignproject.cosign/signature';
const BUNDLE = 'dev.sigstore.cosign/bundle';
const IMAGE_DIGEST = 'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const FIRST: SignatureLayer = { digest: sha256('payload one'), size: 231, signature: 'MEUCIQDfirst==' };
const SECOND: SignatureLayer = { digest: sha256('payload two'), size: 232, signature: 'MEYCIQCsecond==' };

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

const parse = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as Manifest;

describe('signatureTag', () => {
  it('is cosign\'s "sha256-<hex>.sig"', () => {
    expect(signatureTag(IMAGE_DIGEST)).toBe('sha256-4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec.sig');
  });
});

describe('appendSignature to nothing', () => {
  const { manifest, config } = appendSignature(undefined, FIRST);

  it('makes an OCI manifest with one simple-signing layer carrying the signature', () => {
    const parsed = parse(manifest);
    expect(parsed.schemaVersion).toBe(2);
    expect(parsed.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(parsed.layers).toEqual([{ mediaType: SIMPLE_SIGNING, digest: FIRST.digest, size: 231, annotations: { [SIGNATURE]: 'MEUCIQDfirst==' } }]);
  });

  it('writes exactly the image config go-containerregistry writes for cosign', () => {
    const expected =
      '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"",' +
      `"rootfs":{"type":"layers","diff_ids":["${FIRST.digest}"]},"config":{}}`;
    expect(config.toString('utf8')).toBe(expected);
    expect(config.length).toBe(233);
  });

  it('points the manifest\'s config descriptor at those bytes', () => {
    expect(parse(manifest).config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) });
  });

  it('is deterministic', () => {
    const again = appendSignature(undefined, { ...FIRST });
    expect(again.manifest.equals(manifest)).toBe(true);
    expect(again.config.equals(config)).toBe(true);
  });

  it('reads back as the signature it was given', () => {
    expect(readSignatureLayers(manifest)).toEqual([FIRST]);
  });
});

describe('appendSignature to an existing signature manifest', () => {
  // cosign's own layer, with a certificate chain and a Rekor bundle beside the signature
  const cosignLayer = {
    mediaType: SIMPLE_SIGNING,
    size: 245,
    digest: sha256('cosign payload'),
    annotations: {
      [SIGNATURE]: 'MEQCIFcosign==',
      'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n',
      [BUNDLE]: '{"SignedEntryTimestamp":"MEUC","Payload":{"body":"eyJ","integratedTime":1700000000,"logIndex":1,"logID":"c0d2"}}',
    },
  };
  const existing = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 233, digest: sha256('old config') },
      layers: [cosignLayer],
    }),
  );

  it('keeps the layers already there byte for byte and adds the new one last', () => {
    const { manifest } = appendSignature(existing, SECOND);
    const layers = parse(manifest).layers;
    expect(layers).toHaveLength(2);
    expect(JSON.stringify(layers[0])).toBe(JSON.stringify(cosignLayer));
    expect(layers[1]).toEqual({ mediaType: SIMPLE_SIGNING, digest: SECOND.digest, size: 232, annotations: { [SIGNATURE]: 'MEYCIQCsecond==' } });
    // the existing layer's serialization appears unchanged inside the new manifest
    expect(manifest.toString('utf8')).toContain(JSON.stringify(cosignLayer));
  });

  it('lists a diff_id and a history entry for every layer, in order, and a matching config descriptor', () => {
    const { manifest, config } = appendSignature(existing, SECOND);
    const parsed = JSON.parse(config.toString('utf8')) as { history: unknown[]; rootfs: { diff_ids: string[] } };
    expect(parsed.rootfs.diff_ids).toEqual([cosignLayer.digest, SECOND.digest]);
    expect(parsed.history).toEqual([{ created: '0001-01-01T00:00:00Z' }, { created: '0001-01-01T00:00:00Z' }]);
    expect(parse(manifest).config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) });
    expect(parse(manifest).config.digest).not.toBe(sha256('old config'));
  });

  it('appends again on top of its own output', () => {
    const once = appendSignature(undefined, FIRST).manifest;
    const twice = appendSignature(once, SECOND).manifest;
    expect(readSignatureLayers(twice)).toEqual([FIRST, SECOND]);
  });

  it('treats a manifest without layers like none', () => {
    const empty = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {} }));
    expect(appendSignature(empty, FIRST).manifest.equals(appendSignature(undefined, FIRST).manifest)).toBe(true);
  });
});

describe('readSignatureLayers', () => {
  it('returns the simple-signing layers with a signature and skips everything else', () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        layers: [
          { mediaType: SIMPLE_SIGNING, digest: FIRST.digest, size: FIRST.size, annotations: { [SIGNATURE]: FIRST.signature, [BUNDLE]: '{}' } },
          { mediaType: 'application/vnd.dsse.envelope.v1+json', digest: sha256('attestation'), size: 10, annotations: { [SIGNATURE]: 'x' } },
          { mediaType: SIMPLE_SIGNING, digest: sha256('unsigned'), size: 5 },
          { mediaType: SIMPLE_SIGNING, digest: sha256('other annotation'), size: 6, annotations: { [BUNDLE]: '{}' } },
          { mediaType: SIMPLE_SIGNING, digest: SECOND.digest, size: SECOND.size, annotations: { [SIGNATURE]: SECOND.signature } },
        ],
      }),
    );
    expect(readSignatureLayers(manifest)).toEqual([FIRST, SECOND]);
  });

  it('returns nothing for a manifest without layers', () => {
    expect(readSignatureLayers(Buffer.from('{"schemaVersion":2}'))).toEqual([]);
  });
});
