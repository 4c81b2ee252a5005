/**
 * Publishing against real registries (Debian's docker-registry on 127.0.0.1):
 * push the OS image and the ISO, pull them back with skopeo into a second,
 * empty engine and run the image, sign with the built-in cosign-layout signer,
 * and check every signature with openssl over the bytes the registry serves,
 * not only with our own verifier. Then the ways it must fail.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/publish/registry/client.js';
import { parseReference } from '../../src/publish/registry/reference.js';
import { pushArtifact } from '../../src/publish/artifact.js';
import { runCli, repoRoot, testImage } from '../helpers/cli.js';
import { startFreshEngine } from '../helpers/engine.js';
import { nonLoopbackAddress, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { scratchDirs } from '../helpers/scratch.js';

// Fixed ports: the image name contains the registry, and a stable name keeps the build cache warm across runs.
const OPEN_PORT = 5123;
const LOGIN_PORT = 5124;
const SPARE_PORT = 5125;
const CLOSED_PORT = 5126;
const REMOTE_PORT = 5127;

const outputDir = join(repoRoot, 'build', 'test-publish');
/** Scratch directories, removed after the tests; build/test-publish stays to keep the next run's build warm. */
const tempDir = scratchDirs();
const keyDir = tempDir('ros-build-keys-');
const PASSPHRASE = 'correct horse battery staple';
const LOGIN = { username: 'builder', password: 'Pa55-never-printed' };

let registry: TestRegistry;
let repo: string;
let pushedImage: string;
let pushedIso: string;

function specFlags(repository = repo): string[] {
  return ['--repo', repository, '--tag', testImage.tag, '--output-dir', outputDir];
}

function keyEnv(passphrase = PASSPHRASE): Record<string, string> {
  return { COSIGN_PASSWORD: passphrase };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Fetch from the registry with plain HTTP, independently of our client. */
async function registryGet(path: string, accept = 'application/vnd.oci.image.manifest.v1+json'): Promise<Buffer> {
  const res = await fetch(`http://${registry.host}/v2/ros-build-test/os/${path}`, { headers: { accept } });
  expect(res.status, `GET ${path}`).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Check a cosign signature with openssl from what the registry serves: the .sig manifest, its payload blob, the annotation. */
async function verifyWithOpenssl(digest: string, publicKeyPath: string): Promise<{ stdout: string; payload: { critical: { image: { 'docker-manifest-digest': string } } } }> {
  const manifest = JSON.parse((await registryGet(`manifests/${digest.replace(':', '-')}.sig`)).toString()) as {
    layers: Array<{ mediaType: string; digest: string; annotations: Record<string, string> }>;
  };
  const layer = manifest.layers.at(-1)!;
  expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
  const payload = await registryGet(`blobs/${layer.digest}`);
  expect(`sha256:${sha256(payload)}`).toBe(layer.digest);
  const dir = tempDir('ros-build-openssl-');
  writeFileSync(join(dir, 'payload'), payload);
  writeFileSync(join(dir, 'sig.der'), Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64'));
  const result = await execa('openssl', ['dgst', '-sha256', '-verify', publicKeyPath, '-signature', join(dir, 'sig.der'), join(dir, 'payload')], { reject: false });
  return { stdout: String(result.stdout), payload: JSON.parse(payload.toString()) };
}

beforeAll(async () => {
  registry = await startRegistry({ port: OPEN_PORT });
  repo = `${registry.host}/ros-build-test/os`;
  const iso = await runCli(['iso', ...specFlags()]);
  expect(iso.exitCode, iso.stderr).toBe(0);
  for (const [prefix, passphrase] of [['cosign', PASSPHRASE], ['other', 'another passphrase']] as const) {
    const keygen = await runCli(['keygen', '--output-prefix', join(keyDir, prefix)], { env: keyEnv(passphrase) });
    expect(keygen.exitCode, keygen.stderr).toBe(0);
  }
});

afterAll(async () => {
  await registry?.stop();
});

// Pushes and pulls of an 800 MB image: far over the 30 s default on a loaded two-core machine.
describe('push', { timeout: 300_000 }, () => {
  it('pushes the OS image and the ISO, and records the digests the registry holds', async () => {
    const push = await runCli(['push', ...specFlags()]);
    expect(push.exitCode, push.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outputDir, 'manifest.json'), 'utf8'));
    pushedImage = manifest.image.pushed.digest;
    pushedIso = manifest.artifacts.find((a: { format: string }) => a.format === 'iso').pushed.digest;
    expect(push.stdout).toContain(`${repo}:it@${pushedImage}`);
    expect(push.stdout).toContain(`${repo}:it-iso@${pushedIso}`);
    const served = await registryGet('manifests/it', 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json');
    expect(`sha256:${sha256(served)}`).toBe(pushedImage);
    // Again with nothing changed: the registry already has both, the digests stay.
    const again = await runCli(['push', ...specFlags()]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe(push.stdout);
    expect(again.stderr).toContain(`${pushedImage}, already there`);
  }, 180_000); // two pushes of an 800 MB image and the ISO, compressed on two cores

  it('the image pulled back with skopeo into an empty engine runs', async () => {
    const engine = await startFreshEngine();
    try {
      await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${repo}:it`, 'docker-daemon:pulled/os:it', '--dest-daemon-host', engine.host]);
      const run = await engine.docker(['run', '--rm', '--network', 'none', 'pulled/os:it', 'cat', '/usr/lib/ros-release']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain(`IMAGE=${repo}:it`);
    } finally {
      await engine.stop();
    }
  });

  it('the ISO pulled as an OCI artifact is byte for byte the local file', async () => {
    const dir = tempDir('ros-build-pull-');
    await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${repo}:it-iso`, `oci:${dir}:iso`]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    expect(manifest.artifactType).toBe('application/vnd.rancher.os2.iso.v1');
    const [layer] = manifest.layers;
    expect(layer.mediaType).toBe('application/vnd.efi.iso');
    expect(layer.annotations['org.opencontainers.image.title']).toBe('rancheros-it.iso');
    expect(manifest.annotations['org.opencontainers.image.base.name']).toBe(`${repo}@${pushedImage}`);
    const pulled = await execa('sha256sum', [join(dir, 'blobs', 'sha256', layer.digest.slice(7))]);
    const local = await execa('sha256sum', [join(outputDir, 'rancheros-it.iso')]);
    expect(String(pulled.stdout).split(' ')[0]).toBe(String(local.stdout).split(' ')[0]);
  });

  it('a push interrupted halfway completes on the rerun with the same digest', async () => {
    const spare = await startRegistry({ port: SPARE_PORT });
    try {
      const spareRepo = `${spare.host}/ros-build-test/os`;
      // Same image content under the spare registry's name: the digest must match the first push.
      await execa('docker', ['tag', `${repo}:it`, `${spareRepo}:it`]);
      const child = execa('node', [join(repoRoot, 'dist', 'cli.js'), 'push', '--image-only', ...specFlags(spareRepo), '--output-dir', tempDir('ros-build-out-')], { reject: false, env: { CI: '1' } });
      await new Promise((r) => setTimeout(r, 6000));
      child.kill('SIGINT');
      const interrupted = await child;
      expect(interrupted.exitCode).toBe(130);
      const orphans = await execa('pgrep', ['-f', `skopeo copy .*${spare.host}`], { reject: false });
      expect(orphans.stdout, 'skopeo still running after the interrupt').toBe('');
      const rerun = await runCli(['push', '--image-only', ...specFlags(spareRepo), '--output-dir', tempDir('ros-build-out-')]);
      expect(rerun.exitCode, rerun.stderr).toBe(0);
      expect(rerun.stdout.trim()).toBe(`${spareRepo}:it@${pushedImage}`);
    } finally {
      await execa('docker', ['rmi', `${spare.host}/ros-build-test/os:it`], { reject: false });
      await spare.stop();
    }
  });

  it('a registry that refuses the login says so without printing the password', async () => {
    const guarded = await startRegistry({ port: LOGIN_PORT, login: LOGIN });
    const guardedRepo = `${guarded.host}/ros-build-test/os`;
    try {
      await execa('docker', ['tag', `${repo}:it`, `${guardedRepo}:it`]);
      const flags = ['push', '--image-only', ...specFlags(guardedRepo), '--output-dir', tempDir('ros-build-out-')];
      const anonymous = await runCli(flags);
      expect(anonymous.exitCode).toBe(2);
      expect(anonymous.stderr).toContain(`registry ${guarded.host} requires a login and no credentials were found`);
      const wrong = await runCli(flags, { env: { REGISTRY_USERNAME: LOGIN.username, REGISTRY_PASSWORD: 'wrong-secret-123' } });
      expect(wrong.exitCode).toBe(2);
      expect(wrong.stderr).toContain(`refused the login of user "builder"`);
      expect(wrong.stderr + wrong.stdout).not.toContain('wrong-secret-123');
      const right = await runCli(flags, { env: { REGISTRY_USERNAME: LOGIN.username, REGISTRY_PASSWORD: LOGIN.password } });
      expect(right.exitCode, right.stderr).toBe(0);
      expect(right.stdout.trim()).toBe(`${guardedRepo}:it@${pushedImage}`);
      expect(right.stderr + right.stdout).not.toContain(LOGIN.password);
    } finally {
      await execa('docker', ['rmi', `${guardedRepo}:it`], { reject: false });
      await guarded.stop();
    }
  });

  it('speaks plain HTTP to a registry off loopback only when --allow-http says so', async () => {
    const address = nonLoopbackAddress();
    expect(address, 'this machine has no non-loopback IPv4 address').toBeDefined();
    const remote = await startRegistry({ port: REMOTE_PORT, address });
    const remoteRepo = `${remote.host}/ros-build-test/os`;
    try {
      await execa('docker', ['tag', `${repo}:it`, `${remoteRepo}:it`]);
      const flags = ['push', '--image-only', '--retries', '1', ...specFlags(remoteRepo), '--output-dir', tempDir('ros-build-out-')];
      const refused = await runCli(flags);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain(`cannot reach registry ${remote.host}`);
      expect(refused.stderr).toContain('plain HTTP is used only for loopback registries or with --allow-http');
      const allowed = await runCli([...flags, '--allow-http']);
      expect(allowed.exitCode, allowed.stderr).toBe(0);
      expect(allowed.stdout.trim()).toBe(`${remoteRepo}:it@${pushedImage}`);
    } finally {
      await execa('docker', ['rmi', `${remoteRepo}:it`], { reject: false });
      await remote.stop();
    }
  });

  it('an unreachable registry fails after bounded retries with a clear error', async () => {
    const closedRepo = `127.0.0.1:${CLOSED_PORT}/ros-build-test/os`;
    await execa('docker', ['tag', `${repo}:it`, `${closedRepo}:it`]);
    try {
      const started = Date.now();
      const push = await runCli(['push', '--image-only', '--retries', '3', ...specFlags(closedRepo), '--output-dir', tempDir('ros-build-out-')]);
      expect(push.exitCode).toBe(2);
      expect(push.stderr).toContain(`cannot reach registry 127.0.0.1:${CLOSED_PORT} (3 attempts with backoff)`);
      expect(push.stderr).toContain('ECONNREFUSED');
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await execa('docker', ['rmi', `${closedRepo}:it`], { reject: false });
    }
  });
});

describe('sign and verify', { timeout: 120_000 }, () => {
  const key = () => join(keyDir, 'cosign.key');
  const pub = () => join(keyDir, 'cosign.pub');

  it('signs the pushed image, the ISO and SHA256SUMS; openssl verifies each from the registry bytes', async () => {
    const sign = await runCli(['sign', ...specFlags(), '--key', key(), '--signer', 'builtin'], { env: keyEnv() });
    expect(sign.exitCode, sign.stderr).toBe(0);
    for (const digest of [pushedImage, pushedIso]) {
      const checked = await verifyWithOpenssl(digest, pub());
      expect(checked.stdout).toContain('Verified OK');
      expect(checked.payload.critical.image['docker-manifest-digest']).toBe(digest);
    }
    const sig = join(outputDir, 'SHA256SUMS.sig');
    const der = join(keyDir, 'sums.der');
    writeFileSync(der, Buffer.from(readFileSync(sig, 'utf8'), 'base64'));
    const openssl = await execa('openssl', ['dgst', '-sha256', '-verify', pub(), '-signature', der, join(outputDir, 'SHA256SUMS')]);
    expect(String(openssl.stdout)).toContain('Verified OK');
    // The shipped script does the same with skopeo, jq and openssl alone, as a user without ros-build would.
    for (const ref of [`${repo}:it`, `${repo}:it-iso`]) {
      const script = await execa(join(repoRoot, 'tools', 'verify-with-openssl.sh'), [ref, pub(), '--tls-verify=false'], { reject: false });
      expect(script.exitCode, script.stderr).toBe(0);
      expect(script.stdout).toContain('Verified OK');
    }
    const sums = await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outputDir });
    expect(String(sums.stdout)).toContain('rancheros-it.iso: OK');
  });

  it('verify accepts the right key and fails for another key', async () => {
    const ok = await runCli(['verify', ...specFlags(), '--key', pub()]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`verified ${repo}@${pushedImage}`);
    expect(ok.stdout).toContain(`verified ${repo}@${pushedIso}`);
    expect(ok.stdout).toContain('verified rancheros-it.iso (SHA256SUMS)');
    const other = await runCli(['verify', `${repo}:it`, ...specFlags(), '--key', join(keyDir, 'other.pub')]);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain('does not match the public key');
    const openssl = await verifyWithOpenssl(pushedImage, join(keyDir, 'other.pub'));
    expect(openssl.stdout).not.toContain('Verified OK');
    const script = await execa(join(repoRoot, 'tools', 'verify-with-openssl.sh'), [`${repo}:it`, join(keyDir, 'other.pub'), '--tls-verify=false'], { reject: false });
    expect(script.exitCode).toBe(1);
    expect(script.stderr).toContain('holds for');
  });

  it('a wrong passphrase is a clear error that does not echo it', async () => {
    const sign = await runCli(['sign', ...specFlags(), '--key', key()], { env: keyEnv('not-the-passphrase') });
    expect(sign.exitCode).toBe(2);
    expect(sign.stderr).toContain(`wrong passphrase for ${key()}`);
    expect(sign.stderr).not.toContain('not-the-passphrase');
  });

  it('refuses to sign a tag that was not pushed from this build', async () => {
    const sign = await runCli(['sign', `${repo}:something-else`, ...specFlags(), '--key', key()], { env: keyEnv() });
    expect(sign.exitCode).toBe(2);
    expect(sign.stderr).toContain(`refusing to sign the tag ${repo}:something-else`);
  });

  it('a tampered payload, a missing signature and a moved tag all fail verification', async () => {
    const client = await RegistryClient.connect(parseReference(repo));
    // Missing: a small artifact nobody signed.
    const dir = tempDir('ros-build-unsigned-');
    const file = join(dir, 'note.txt');
    writeFileSync(file, 'unsigned\n');
    const bytes = readFileSync(file);
    const unsigned = await pushArtifact(client, 'unsigned', { path: file, format: 'note', size: bytes.length, sha256: sha256(bytes) }, { created: '2026-01-01T00:00:00Z', version: 'it' });
    const missing = await runCli(['verify', `${repo}:unsigned`, ...specFlags(), '--key', join(keyDir, 'cosign.pub')]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`is not signed`);

    // Moved: the tag the build pushed now names another manifest; verify and sign both refuse.
    const original = (await client.getManifest('it'))!;
    const moved = (await client.getManifest(unsigned))!;
    await client.putManifest('it', moved.bytes, moved.mediaType);
    try {
      const verify = await runCli(['verify', ...specFlags(), '--key', join(keyDir, 'cosign.pub')]);
      expect(verify.exitCode).toBe(1);
      expect(verify.stderr).toContain(`${repo}:it moved: it names ${unsigned} now, but ${pushedImage} was pushed`);
      const sign = await runCli(['sign', ...specFlags(), '--key', join(keyDir, 'cosign.key')], { env: keyEnv() });
      expect(sign.exitCode).toBe(2);
      expect(sign.stderr).toContain(`refusing to sign ${repo}:it: it now names ${unsigned}`);
    } finally {
      await client.putManifest('it', original.bytes, original.mediaType);
    }

    // Tampered: the ISO's signature manifest now carries an altered payload under the old signature.
    const tag = `${pushedIso.replace(':', '-')}.sig`;
    const signed = JSON.parse((await client.getManifest(tag))!.bytes.toString());
    const layer = signed.layers[0];
    const payload = Buffer.from((await client.getBlob(layer.digest)).toString().replace('"optional":null', '"optional":{"evil":"yes"}'));
    const { Readable } = await import('node:stream');
    const payloadDigest = `sha256:${sha256(payload)}`;
    await client.pushBlob({ digest: payloadDigest, size: payload.length, open: () => Readable.from([payload]) });
    signed.layers = [{ ...layer, digest: payloadDigest, size: payload.length }];
    await client.putManifest(tag, Buffer.from(JSON.stringify(signed)), signed.mediaType);
    const tampered = await runCli(['verify', `${repo}@${pushedIso}`, ...specFlags(), '--key', join(keyDir, 'cosign.pub')]);
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stderr).toContain('payload was altered');
    expect((await verifyWithOpenssl(pushedIso, join(keyDir, 'cosign.pub'))).stdout).not.toContain('Verified OK');
  });
});
