import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSimpleSigningPayload } from '../../../src/publish/cosign/simple-signing.js';
import { signPayload } from '../../../src/publish/cosign/signature.js';
import { copyImageToLayout, OciLayoutReader, REF_NAME_ANNOTATION } from '../../../src/publish/oci-layout.js';
import { sha256Digest, type RegistryClient, type RemoteManifest } from '../../../src/publish/registry/client.js';
import { parseReference } from '../../../src/publish/registry/reference.js';
import { appendSignature, signatureTag } from '../../../src/publish/signature-manifest.js';
import { verifyImageSignature } from '../../../src/publish/verify.js';

/*
 * An image and its cosign signature copied from a registry (an in-memory
 * stand-in answering what RegistryClient answers) into an OCI layout, then
 * read back through the layout as the node reads it: by tag, by digest, with
 * the signature check of `ros upgrade`, and refusing a damaged blob.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oci-layout-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function fakeRegistry(): { client: RegistryClient; digest: string; layer: Buffer; publicKey: ReturnType<typeof generateKeyPairSync>['publicKey'] } {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, RemoteManifest>();
  const addBlob = (bytes: Buffer) => {
    blobs.set(sha256Digest(bytes), bytes);
    return { digest: sha256Digest(bytes), size: bytes.length };
  };
  const addManifest = (tag: string, bytes: Buffer) => {
    const manifest = { bytes, mediaType: OCI_MANIFEST, digest: sha256Digest(bytes) };
    manifests.set(tag, manifest);
    manifests.set(manifest.digest, manifest);
    return manifest;
  };
  const layer = Buffer.from('the installer image layer');
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const image = addManifest('v1', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...addBlob(config) }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...addBlob(layer) }] })));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = createSimpleSigningPayload('registry.example/rancher/installer', image.digest);
  const signed = appendSignature(undefined, { ...addBlob(payload), signature: signPayload(privateKey, payload) });
  addBlob(signed.config);
  addManifest(signatureTag(image.digest), signed.manifest);
  const client = {
    getManifest: async (reference: string) => manifests.get(reference),
    openBlob: async (digest: string) => Readable.from([blobs.get(digest)!]),
  } as unknown as RegistryClient;
  return { client, digest: image.digest, layer, publicKey };
}

describe('an image in an OCI layout', () => {
  const ref = parseReference('registry.example/rancher/installer:v1');

  it('is copied with its signature, named by its full reference, and read back by tag and digest', async () => {
    const { client, digest, layer } = fakeRegistry();
    const copied = await copyImageToLayout(client, ref, dir);
    expect(copied).toMatchObject({ digest, signed: true });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations[REF_NAME_ANNOTATION])).toEqual([
      'registry.example/rancher/installer:v1',
      `registry.example/rancher/installer:${signatureTag(digest)}`,
    ]);
    expect(await readFile(join(dir, 'oci-layout'), 'utf8')).toContain('"imageLayoutVersion":"1.0.0"');

    const reader = (await OciLayoutReader.find([join(dir, 'missing'), dir], ref))!;
    expect(reader.dir).toBe(dir);
    expect(await reader.resolveDigest('v1')).toBe(digest);
    expect(await reader.resolveDigest(digest)).toBe(digest);
    expect(await reader.resolveDigest('v2')).toBeUndefined();
    const manifest = (await reader.getManifest('v1'))!;
    const layerDigest = JSON.parse(manifest.bytes.toString('utf8')).layers[0].digest;
    expect(await text(await reader.openBlob(layerDigest))).toBe(layer.toString());
    // Another tag or repository is not there: the node goes to the registry for it.
    expect(await OciLayoutReader.find([dir], parseReference('registry.example/rancher/installer:v2'))).toBeUndefined();
    expect(await OciLayoutReader.find([dir], parseReference('registry.example/other:v1'))).toBeUndefined();
  });

  it('passes the signature check with the signer\'s key and fails it with another', async () => {
    const { client, digest, publicKey } = fakeRegistry();
    await copyImageToLayout(client, ref, dir);
    const reader = (await OciLayoutReader.find([dir], ref))!;
    expect(await verifyImageSignature(reader, ref, publicKey)).toBe(digest);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    await expect(verifyImageSignature(reader, ref, other)).rejects.toThrow(/no valid signature .*does not match the public key/);
  });

  it('refuses a blob whose bytes no longer match its digest', async () => {
    const { client } = fakeRegistry();
    await copyImageToLayout(client, ref, dir);
    const reader = (await OciLayoutReader.find([dir], ref))!;
    const manifest = JSON.parse((await reader.getManifest('v1'))!.bytes.toString('utf8'));
    const layerDigest: string = manifest.layers[0].digest;
    await writeFile(join(dir, 'blobs/sha256', layerDigest.slice(7)), 'damaged');
    await expect(text(await reader.openBlob(layerDigest))).rejects.toThrow(/does not match its digest/);
    await expect(reader.getBlob(layerDigest)).rejects.toThrow(/does not match its digest \(a damaged medium\?\)/);
  });
});
