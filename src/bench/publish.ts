/**
 * Benchmark of publishing against a real registry on loopback: pushing the OS
 * image and an ISO to an empty registry (cold) and again (warm: every blob is
 * there), signing with the built-in signer, and verifying.
 *
 *   make bench-publish    (node dist/bench/publish.js [--image REF] [--iso FILE])
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connectEngine } from '../docker/engine.js';
import { sha256File } from '../outputs/record.js';
import { createPlainReporter } from '../progress/reporter.js';
import { pushArtifact } from '../publish/artifact.js';
import { decryptPrivateKey, generateKeyPair, readPublicKey } from '../publish/cosign/key-file.js';
import { pushImage } from '../publish/push-image.js';
import { RegistryClient } from '../publish/registry/client.js';
import { parseReference, withDigest } from '../publish/registry/reference.js';
import { createBuiltinSigner } from '../publish/signer.js';
import { verifyImageSignature } from '../publish/verify.js';
import { startRegistry } from './registry.js';
import { installSignalHandlers } from '../cleanup.js';

const { values } = parseArgs({ options: { image: { type: 'string', default: 'rancher/os2:dev' }, iso: { type: 'string', default: 'build/rancheros-dev.iso' } } });
const report = createPlainReporter(process.stderr);
const rows: Array<[string, string]> = [];

async function time<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  rows.push([label, `${((performance.now() - started) / 1000).toFixed(1)} s`]);
  report({ kind: 'info', text: `${label}: ${rows.at(-1)![1]}` });
  return result;
}

async function main(): Promise<void> {
  const docker = await connectEngine();
  const registry = await startRegistry();
  const target = parseReference(`${registry.host}/rancher/os2:bench`);
  const localImage = `${registry.host}/rancher/os2:bench`;
  try {
    await docker.getImage(values.image).tag({ repo: `${registry.host}/rancher/os2`, tag: 'bench' });
    const client = await RegistryClient.connect(target);
    const imageId = (await docker.getImage(localImage).inspect()).Id;
    const push = () => pushImage({ localImage, imageId, target, client, allowHttp: false, retryTimes: 0 });
    const { digest } = await time(`push image ${values.image}, empty registry`, push);
    await time('push image again, nothing new', push);
    if (existsSync(values.iso)) {
      const iso = { path: values.iso, format: 'iso', size: statSync(values.iso).size, sha256: await sha256File(values.iso) };
      const labels = { created: '2026-01-01T00:00:00Z', version: 'bench' };
      // Streaming means memory does not grow with the file: sample the peak while the ISO goes up.
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const before = process.memoryUsage().rss;
      await time(`push ISO (${(iso.size / 2 ** 20).toFixed(0)} MiB), empty registry`, () => pushArtifact(client, 'bench-iso', iso, labels));
      clearInterval(sampler);
      rows.push(['  process memory (RSS) before → peak during', `${(before / 2 ** 20).toFixed(0)} → ${(peak / 2 ** 20).toFixed(0)} MiB`]);
      await time('push ISO again', () => pushArtifact(client, 'bench-iso', iso, labels));
    } else {
      rows.push([`push ISO`, `skipped: ${values.iso} not found (make iso)`]);
    }
    const pair = await generateKeyPair('bench');
    const signer = createBuiltinSigner(await decryptPrivateKey(pair.privateKeyPem, 'bench', 'bench key'));
    await time('sign image (built-in signer)', () => signer.signImage(client, { ...withDigest(target, digest), digest }));
    await time('verify image signature', () => verifyImageSignature(client, withDigest(target, digest), readPublicKey(pair.publicKeyPem, 'bench key')));
  } finally {
    await docker.getImage(localImage).remove().catch(() => {});
    await registry.stop();
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`\n${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
}

installSignalHandlers();
await main();
