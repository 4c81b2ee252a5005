import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { CHECKSUMS_FILE, type PushRecord } from '../outputs/manifest.js';
import type { Reporter } from '../progress/reporter.js';
import { runTimed } from '../progress/timed.js';
import { RegistryClient, type ClientOptions } from './registry/client.js';
import { formatReference, parseReference, repositoryName, withDigest, type ImageReference } from './registry/reference.js';
import type { Signer } from './signer.js';

/** The detached signature files of SHA256SUMS, named as release pages usually name them. */
export function checksumSignatureFiles(outputDir: string) {
  const base = join(outputDir, CHECKSUMS_FILE);
  return { signature: `${base}.sig`, certificate: `${base}.pem`, bundle: `${base}.sigstore.json` };
}

/** Connections to each repository, made once and shared by the signing and verifying of its references. */
export function createClientPool(options: ClientOptions): (ref: ImageReference) => Promise<RegistryClient> {
  const clients = new Map<string, Promise<RegistryClient>>();
  return (ref) => {
    const key = repositoryName(ref);
    if (!clients.has(key)) clients.set(key, RegistryClient.connect(ref, options));
    return clients.get(key)!;
  };
}

/**
 * What to sign: the given references, or everything build/manifest.json says
 * was pushed. A tag is signed only when it still names the digest that was
 * pushed from this build; a signature belongs to a digest, not to a tag that
 * may have moved since.
 */
export async function resolveSignTargets(
  outputDir: string,
  pushed: PushRecord[],
  references: string[],
  connect: (ref: ImageReference) => Promise<RegistryClient>,
): Promise<Array<ImageReference & { digest: string }>> {
  if (references.length === 0 && pushed.length === 0) {
    throw new UserError(`nothing in ${join(outputDir, 'manifest.json')} was pushed yet`, 'push first (make push), or name what to sign: ros-build sign REGISTRY/REPO@sha256:<digest>');
  }
  const targets: Array<ImageReference & { digest: string }> = [];
  for (const text of references.length ? references : pushed.map((p) => p.reference)) {
    const ref = parseReference(text);
    const client = await connect(ref);
    if (ref.digest) {
      if (!(await client.getManifest(ref.digest))) throw new UserError(`${text} is not in the registry`, 'sign a digest that was pushed (see build/manifest.json)');
      targets.push({ ...ref, digest: ref.digest });
      continue;
    }
    const record = pushed.find((p) => p.reference === formatReference(ref));
    if (!record) {
      throw new UserError(`refusing to sign the tag ${text}: it was not pushed from this build, so what it names is unknown`, `sign by digest instead: ros-build sign ${repositoryName(ref)}@sha256:<digest>`);
    }
    const current = await client.resolveDigest(ref.tag!);
    if (current !== record.digest) {
      throw new UserError(
        `refusing to sign ${text}: it now names ${current ?? 'nothing'}, not ${record.digest} that was pushed from this build`,
        'push again (make push) and sign what was pushed, or sign an explicit digest',
      );
    }
    targets.push(withDigest(ref, record.digest) as ImageReference & { digest: string });
  }
  return targets;
}

export async function signTargets(targets: Array<ImageReference & { digest: string }>, signer: Signer, connect: (ref: ImageReference) => Promise<RegistryClient>, report: Reporter): Promise<void> {
  for (const target of targets) {
    await runTimed(report, `sign ${formatReference(target)}`, 'signed', async () => signer.signImage(await connect(target), target), (outcome) => `${outcome}, ${signer.name}`);
  }
}

/** Sign build/SHA256SUMS (the checksums of every artifact) as `cosign sign-blob` would. */
export async function signChecksums(outputDir: string, signer: Signer, report: Reporter): Promise<string[]> {
  const sums = join(outputDir, CHECKSUMS_FILE);
  if (!existsSync(sums)) throw new UserError(`${sums} does not exist`, 'build the media first (make iso); SHA256SUMS is written with build/manifest.json');
  return runTimed(report, `sign ${CHECKSUMS_FILE}`, 'signed', () => signer.signBlob(sums, checksumSignatureFiles(outputDir)), (files) => files.join(', '));
}
