import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { connectEngine } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { listPushRecords } from '../outputs/manifest.js';
import { createReporter } from '../progress/reporter.js';
import { readPublicKey } from '../publish/cosign/key-file.js';
import { pushBuild } from '../publish/push.js';
import { readPushRecords } from '../publish/pushed.js';
import { parseReference } from '../publish/registry/reference.js';
import { createClientPool, resolveSignTargets, signChecksums, signTargets } from '../publish/sign.js';
import { chooseSigner, type SignerChoice } from '../publish/signer.js';
import { verifyChecksums, verifyImageSignature, verifyPushed } from '../publish/verify.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../publish/registry/retry.js';
import { addSpecOptions, loadSpecFlags, type SpecFlags } from './common.js';

export interface RegistryFlags {
  allowHttp?: boolean;
  retries?: string;
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option('--allow-http', 'talk plain HTTP to a registry that is not on loopback (loopback registries may always use it)')
    .option('--retries <n>', 'attempts for each registry request before giving up (backoff doubles from 0.5 s)', String(DEFAULT_RETRY.attempts));
}

export function toRetryPolicy(flags: RegistryFlags): RetryPolicy {
  const attempts = Number(flags.retries ?? DEFAULT_RETRY.attempts);
  if (!Number.isInteger(attempts) || attempts < 1) throw new UserError(`--retries must be a whole number of at least 1, got "${flags.retries}"`, 'for example --retries 4');
  return { ...DEFAULT_RETRY, attempts };
}

export function registerPublishCommands(program: Command): void {
  addRegistryOptions(
    addSpecOptions(
      program
        .command('push')
        .description('push the OS image (REPO:TAG) and its media (as OCI artifacts, REPO:TAG-<format>) to the registry; digests go to build/manifest.json')
        .option('--image-only', 'push the runnable image but not the media'),
    ),
  ).action(async (flags: SpecFlags & RegistryFlags & { imageOnly?: boolean }) => {
    const spec = loadSpecFlags(flags);
    const docker = await connectEngine();
    const manifest = await pushBuild(docker, spec, { allowHttp: Boolean(flags.allowHttp), retry: toRetryPolicy(flags), imageOnly: flags.imageOnly }, createReporter());
    for (const pushed of listPushRecords(manifest)) process.stdout.write(`${pushed.reference}@${pushed.digest}\n`);
  });
}

interface SignFlags extends SpecFlags, RegistryFlags {
  key?: string;
  keyless?: boolean;
  signer: SignerChoice;
  checksums: boolean;
}

export function registerSigningCommands(program: Command): void {
  addRegistryOptions(
    addSpecOptions(
      program
        .command('sign')
        .argument('[references...]', 'what to sign (default: everything build/manifest.json records as pushed); a tag only if it still names the pushed digest')
        .description('sign pushed digests in cosign\'s keyed .sig layout, and build/SHA256SUMS as cosign sign-blob does')
        .option('--key <path>', 'cosign private key (passphrase from COSIGN_PASSWORD or a prompt)')
        .option('--keyless', 'Sigstore keyless signing with the CI\'s OIDC identity (needs the cosign CLI)')
        .addOption(new Option('--signer <which>', 'cosign CLI if on PATH, else the built-in signer; or force one').choices(['auto', 'cosign', 'builtin']).default('auto'))
        .option('--no-checksums', 'do not sign build/SHA256SUMS'),
    ),
  ).action(async (references: string[], flags: SignFlags) => {
    if (flags.key && flags.keyless) throw new UserError('--key and --keyless exclude each other', 'sign with a key pair, or keylessly in CI');
    const spec = loadSpecFlags(flags);
    const report = createReporter();
    const allowHttp = Boolean(flags.allowHttp);
    const signer = await chooseSigner({ keyPath: flags.key, keyless: Boolean(flags.keyless), choice: flags.signer, allowHttp });
    const connect = createClientPool({ allowHttp, retry: toRetryPolicy(flags) });
    // Named references need the records only to vouch for tags; a manifest of another build just vouches for none.
    const pushed = await readPushRecords(spec.outputDir, spec.image.ref).catch((error) => (references.length ? [] : Promise.reject(error)));
    const targets = await resolveSignTargets(spec.outputDir, pushed, references, connect);
    await signTargets(targets, signer, connect, report);
    if (flags.checksums && references.length === 0) await signChecksums(spec.outputDir, signer, report);
  });

  addRegistryOptions(
    addSpecOptions(
      program
        .command('verify')
        .argument('[references...]', 'what to verify (default: everything build/manifest.json records as pushed, and build/SHA256SUMS)')
        .description('verify cosign key signatures of references (a moved tag, a missing or wrong signature fail) and of build/SHA256SUMS')
        .requiredOption('--key <path>', 'cosign public key (cosign.pub)')
        .option('--no-checksums', 'do not verify build/SHA256SUMS.sig'),
    ),
  ).action(async (references: string[], flags: SpecFlags & RegistryFlags & { key: string; checksums: boolean }) => {
    const spec = loadSpecFlags(flags);
    const pem = await readFile(flags.key, 'utf8').catch(() => {
      throw new UserError(`public key ${flags.key} not found`, 'pass the cosign.pub that belongs to the signing key');
    });
    const publicKey = readPublicKey(pem, flags.key);
    const connect = createClientPool({ allowHttp: Boolean(flags.allowHttp), retry: toRetryPolicy(flags) });
    const verified: string[] = [];
    if (references.length === 0) {
      verified.push(...(await verifyPushed(await readPushRecords(spec.outputDir, spec.image.ref), connect, publicKey)));
      if (flags.checksums) verified.push(...(await verifyChecksums(spec.outputDir, publicKey)).map((file) => `${file} (SHA256SUMS)`));
    }
    for (const text of references) {
      const ref = parseReference(text);
      const digest = await verifyImageSignature(await connect(ref), ref, publicKey);
      verified.push(`${text}${ref.digest ? '' : `@${digest}`}`);
    }
    for (const line of verified) process.stdout.write(`verified ${line}\n`);
  });
}
