import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { registerCleanup } from '../cleanup.js';
import { UserError } from '../errors.js';
import { runCommand } from '../exec/run.js';
import { writeAtomically } from '../fsutil/atomic.js';
import { cosignSignArgs, cosignSignBlobArgs } from '../tools/cosign.js';
import { OCI_MANIFEST } from './artifact.js';
import { decryptPrivateKey } from './cosign/key-file.js';
import { readPassphrase } from './cosign/passphrase.js';
import { cosignDockerReference, createSimpleSigningPayload } from './cosign/simple-signing.js';
import { signPayload, verifyPayload } from './cosign/signature.js';
import { sha256Digest, type RegistryClient } from './registry/client.js';
import { writeDockerConfig } from './registry/credentials.js';
import { formatReference, isLoopbackRegistry, repositoryName, type ImageReference } from './registry/reference.js';
import { appendSignature, readSignatureLayers, signatureTag } from './signature-manifest.js';

/** Where the detached signature of a file goes; keyless adds the certificate and the Sigstore bundle. */
export interface BlobSignatureFiles {
  signature: string;
  certificate: string;
  bundle: string;
}

export interface Signer {
  readonly name: string;
  /** Sign the manifest `ref.digest` names (a digest, never a tag). */
  signImage(client: RegistryClient, ref: ImageReference & { digest: string }): Promise<'signed' | 'already signed'>;
  /** Sign a file the way `cosign sign-blob` does; returns the files written. */
  signBlob(file: string, outputs: BlobSignatureFiles): Promise<string[]>;
}

export type SignerChoice = 'auto' | 'cosign' | 'builtin';

export interface SignerOptions {
  keyPath?: string;
  keyless: boolean;
  choice: SignerChoice;
  allowHttp: boolean;
}

/**
 * The cosign CLI when it is on PATH (or asked for), else the built-in signer,
 * which writes the same `.sig` layout. Keyless signing needs Sigstore's
 * services and so always the CLI. A key's passphrase is checked here, before
 * anything is pushed, whichever signer runs.
 */
export async function chooseSigner(options: SignerOptions): Promise<Signer> {
  const cosignOnPath = options.choice !== 'builtin' && (await hasCosign());
  if (options.choice === 'cosign' && !cosignOnPath) {
    throw new UserError('--signer cosign was asked for but cosign is not on PATH', 'install cosign (https://docs.sigstore.dev), or use --signer builtin');
  }
  if (options.keyless) {
    if (!cosignOnPath) throw new UserError('keyless signing needs the cosign CLI (it talks to Sigstore\'s Fulcio and Rekor), and cosign is not on PATH', 'install cosign (GitHub Actions: sigstore/cosign-installer), or sign with a key: --key cosign.key');
    return createCosignSigner({ allowHttp: options.allowHttp });
  }
  if (!options.keyPath) throw new UserError('no signing key given', 'pass --key cosign.key (make keygen creates one), or --keyless in CI');
  const pem = await readFile(options.keyPath, 'utf8').catch(() => {
    throw new UserError(`signing key ${options.keyPath} not found`, 'create a key pair with: make keygen (or ros-build keygen)');
  });
  const passphrase = await readPassphrase({ confirm: false, keyPath: options.keyPath });
  const key = await decryptPrivateKey(pem, passphrase, options.keyPath);
  if (cosignOnPath) return createCosignSigner({ allowHttp: options.allowHttp, keyPath: options.keyPath, passphrase });
  return createBuiltinSigner(key);
}

async function hasCosign(): Promise<boolean> {
  const result = await execa('cosign', ['version'], { reject: false });
  return !result.failed;
}

/** Signs in-process with the decrypted key and pushes cosign's `.sig` manifest itself. */
export function createBuiltinSigner(key: KeyObject): Signer {
  const publicKey = createPublicKey(key);
  return {
    name: 'built-in signer',
    async signImage(client, ref) {
      const payload = createSimpleSigningPayload(cosignDockerReference(repositoryName(ref)), ref.digest);
      const payloadDigest = sha256Digest(payload);
      const tag = signatureTag(ref.digest);
      const existing = await client.getManifest(tag, [OCI_MANIFEST]);
      // Signing again with the same key adds nothing: ECDSA signatures differ each time, so compare by verifying.
      if (existing && readSignatureLayers(existing.bytes).some((l) => l.digest === payloadDigest && verifyPayload(publicKey, payload, l.signature))) {
        return 'already signed';
      }
      const { manifest, config } = appendSignature(existing?.bytes, { digest: payloadDigest, size: payload.length, signature: signPayload(key, payload) });
      await client.pushBlob({ digest: payloadDigest, size: payload.length, open: () => Readable.from([payload]) });
      await client.pushBlob({ digest: sha256Digest(config), size: config.length, open: () => Readable.from([config]) });
      await client.putManifest(tag, manifest, OCI_MANIFEST);
      return 'signed';
    },
    async signBlob(file, outputs) {
      const signature = signPayload(key, await readFile(file));
      await writeAtomically(outputs.signature, (tmp) => writeFile(tmp, signature));
      return [outputs.signature];
    },
  };
}

/** Runs the cosign CLI; registry credentials reach it through a private DOCKER_CONFIG, never argv. */
function createCosignSigner(options: { allowHttp: boolean; keyPath?: string; passphrase?: string }): Signer {
  const env = (extra: Record<string, string> = {}) => ({ ...(options.passphrase !== undefined ? { COSIGN_PASSWORD: options.passphrase } : {}), ...extra });
  return {
    name: options.keyPath ? 'cosign CLI' : 'cosign CLI (keyless)',
    async signImage(client, ref) {
      const credentials = client.loginCredentials;
      const configDir = await mkdtemp(join(tmpdir(), 'ros-build-cosign-'));
      const unregister = registerCleanup(() => rm(configDir, { recursive: true, force: true }));
      try {
        if (credentials) await writeDockerConfig(join(configDir, 'config.json'), ref.registry, credentials);
        const args = cosignSignArgs({
          reference: formatReference(ref),
          keyPath: options.keyPath,
          allowHttpRegistry: options.allowHttp || isLoopbackRegistry(ref.registry),
        });
        await runCommand('cosign', args, { env: env(credentials ? { DOCKER_CONFIG: configDir } : {}) });
        return 'signed';
      } finally {
        unregister();
        await rm(configDir, { recursive: true, force: true });
      }
    },
    async signBlob(file, outputs) {
      const keyless = !options.keyPath;
      await runCommand('cosign', cosignSignBlobArgs({
        file,
        signaturePath: outputs.signature,
        keyPath: options.keyPath,
        certificatePath: keyless ? outputs.certificate : undefined,
        bundlePath: keyless ? outputs.bundle : undefined,
      }), { env: env() });
      return keyless ? [outputs.signature, outputs.certificate, outputs.bundle] : [outputs.signature];
    },
  };
}
