import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKSUMS_FILE, type PushRecord } from '../outputs/manifest.js';
import { sha256File } from '../outputs/record.js';
import { parseSimpleSigningPayload } from './cosign/simple-signing.js';
import { verifyPayload } from './cosign/signature.js';
import { MANIFEST_MEDIA_TYPES, type ImageReader, type RegistryClient } from './registry/client.js';
import { formatReference, parseReference, withDigest, type ImageReference } from './registry/reference.js';
import { readSignatureLayers, signatureTag } from './signature-manifest.js';
import { checksumSignatureFiles } from './sign.js';

/** A signature that is missing or does not hold: the command fails, exit status 1. */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

/**
 * Check that the manifest `ref` names carries a cosign signature by `publicKey`
 * whose signed payload names exactly that digest. Returns the digest verified.
 */
export async function verifyImageSignature(client: ImageReader, ref: ImageReference, publicKey: KeyObject): Promise<string> {
  const shown = formatReference(ref);
  const digest = ref.digest ?? (await client.resolveDigest(ref.tag!));
  if (!digest) throw new VerificationError(`${shown} is not in the registry`);
  const signatures = await client.getManifest(signatureTag(digest), MANIFEST_MEDIA_TYPES);
  if (!signatures) throw new VerificationError(`${shown} (${digest}) is not signed: the registry has no ${signatureTag(digest)}`);
  const layers = readSignatureLayers(signatures.bytes);
  if (layers.length === 0) throw new VerificationError(`${signatureTag(digest)} for ${shown} holds no cosign signature layer`);
  const problems = new Set<string>();
  for (const layer of layers) {
    const payload = await client.getBlob(layer.digest);
    if (!verifyPayload(publicKey, payload, layer.signature)) {
      problems.add('a signature does not match the public key or its payload was altered');
      continue;
    }
    const claim = parseSimpleSigningPayload(payload);
    if (claim.manifestDigest !== digest) {
      problems.add(`a valid signature is for ${claim.manifestDigest}, not ${digest} (copied from another image?)`);
      continue;
    }
    return digest;
  }
  throw new VerificationError(`no valid signature for ${shown} (${digest}): ${[...problems].join('; ')}`);
}

/**
 * Verify what build/manifest.json says was pushed: each tag must still name
 * the pushed digest (a moved tag fails) and that digest must be signed.
 */
export async function verifyPushed(pushed: PushRecord[], connect: (ref: ImageReference) => Promise<RegistryClient>, publicKey: KeyObject): Promise<string[]> {
  if (pushed.length === 0) throw new VerificationError('build/manifest.json records nothing pushed; push first or name the references to verify');
  const verified: string[] = [];
  for (const record of pushed) {
    const ref = parseReference(record.reference);
    const client = await connect(ref);
    const current = await client.resolveDigest(ref.tag!);
    if (current !== record.digest) {
      throw new VerificationError(`${record.reference} moved: it names ${current ?? 'nothing'} now, but ${record.digest} was pushed and signed`);
    }
    verified.push(`${formatReference(withDigest(ref, await verifyImageSignature(client, withDigest(ref, record.digest), publicKey)))}`);
  }
  return verified;
}

/** Check SHA256SUMS.sig over SHA256SUMS, then every file SHA256SUMS lists against its sum. */
export async function verifyChecksums(outputDir: string, publicKey: KeyObject): Promise<string[]> {
  const sumsPath = join(outputDir, CHECKSUMS_FILE);
  const { signature: signaturePath } = checksumSignatureFiles(outputDir);
  const sums = await readFile(sumsPath).catch(() => {
    throw new VerificationError(`${sumsPath} does not exist`);
  });
  const signature = await readFile(signaturePath, 'utf8').catch(() => {
    throw new VerificationError(`${sumsPath} is not signed: ${signaturePath} does not exist (make sign writes it)`);
  });
  if (!verifyPayload(publicKey, sums, signature)) throw new VerificationError(`${signaturePath} is not a valid signature of ${sumsPath} by this key`);
  const checked: string[] = [];
  for (const line of sums.toString('utf8').split('\n').filter(Boolean)) {
    const match = /^([a-f0-9]{64}) [ *](.+)$/.exec(line);
    if (!match) throw new VerificationError(`${sumsPath} has a line that is not "<sha256>  <file>": ${line}`);
    const actual = await sha256File(join(outputDir, match[2]!)).catch(() => 'missing');
    if (actual !== match[1]) throw new VerificationError(`${match[2]} does not match ${CHECKSUMS_FILE} (${actual === 'missing' ? 'file missing' : 'changed'})`);
    checked.push(match[2]!);
  }
  return checked;
}
