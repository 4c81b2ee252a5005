import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { findImage } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { readManifest, writeManifest, type Manifest } from '../outputs/manifest.js';
import { sha256File } from '../outputs/record.js';
import type { Reporter } from '../progress/reporter.js';
import { runTimed } from '../progress/timed.js';
import type { ResolvedSpec } from '../spec/types.js';
import { pushArtifact } from './artifact.js';
import { describeArtifact } from './labels.js';
import { pushImage } from './push-image.js';
import { RegistryClient } from './registry/client.js';
import { formatReference, parseReference, repositoryName, withDigest, withTag } from './registry/reference.js';
import type { RetryPolicy } from './registry/retry.js';

export interface PushOptions {
  allowHttp: boolean;
  retry: RetryPolicy;
  /** Push the runnable image only, not the media. */
  imageOnly?: boolean;
}

/** The tag an artifact is pushed under, beside the image: "v1.2-iso". */
export function artifactTag(imageTag: string, format: string): string {
  return `${imageTag}-${format}`;
}

/**
 * Push the OS image built from the spec and the media listed in
 * build/manifest.json, and record every pushed digest there. Refuses media
 * that were not built from the image being pushed, or that changed on disk.
 */
export async function pushBuild(docker: Docker, spec: ResolvedSpec, options: PushOptions, report: Reporter): Promise<Manifest> {
  const target = parseReference(spec.image.ref);
  const imageId = await findImage(docker, spec.image.ref);
  if (!imageId) throw new UserError(`image ${spec.image.ref} is not in the engine`, 'build it first: make build (or make iso for the media too)');
  const manifest = await readManifest(spec.outputDir);
  const artifacts = options.imageOnly ? [] : manifest.artifacts;
  const stale = artifacts.filter((a) => a.image !== imageId);
  if (stale.length) {
    throw new UserError(
      `${stale.map((a) => a.path).join(', ')} in ${spec.outputDir} were built from image ${stale[0]!.image.slice(7, 19)}, but ${spec.image.ref} is now ${imageId.slice(7, 19)}`,
      'rebuild the media (make iso) so that what is pushed belongs together, or push the image alone with --image-only',
    );
  }
  // Tags are checked before anything is pushed, not after the image went up.
  const artifactTags = artifacts.map((a) => withTag(target, artifactTag(target.tag!, a.format)));
  const client = await RegistryClient.connect(target, {
    allowHttp: options.allowHttp,
    retry: options.retry,
    onRetry: (text) => report({ kind: 'info', text: `registry: ${text}` }),
  });
  const logDir = join(spec.outputDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const { digest: imageDigest } = await runTimed(report, `push image ${formatReference(target)}`, 'pushed', () =>
    pushImage({
      localImage: spec.image.ref,
      imageId,
      target,
      client,
      allowHttp: options.allowHttp,
      retryTimes: options.retry.attempts - 1,
      logPath: join(logDir, 'push-image.log'),
    }),
    ({ digest, uploaded }) => (uploaded ? digest : `${digest}, already there`),
  );
  // Recorded after each push, so a failure halfway keeps what did reach the registry.
  const updated: Manifest = {
    image: { ref: spec.image.ref, id: imageId, revision: manifest.image?.revision, pushed: { reference: formatReference(target), digest: imageDigest } },
    artifacts: manifest.artifacts.filter((a) => a.image === imageId),
  };
  await writeManifest(spec.outputDir, updated);
  const imageAt = formatReference(withDigest(target, imageDigest));
  for (const [i, artifact] of artifacts.entries()) {
    const file = join(spec.outputDir, artifact.path);
    const tagged = artifactTags[i]!;
    const digest = await runTimed(report, `push ${artifact.format} ${formatReference(tagged)}`, 'pushed', async () => {
      const sha256 = await sha256File(file).catch(() => undefined);
      if (sha256 !== artifact.sha256) {
        throw new UserError(`${file} is missing or changed since it was built (manifest.json has sha256 ${artifact.sha256.slice(0, 12)}…)`, 'rebuild it with make iso');
      }
      const labels = await describeArtifact(file, target.tag!, imageAt, manifest.image?.revision);
      return pushArtifact(client, tagged.tag!, { ...artifact, path: file }, labels);
    }, (d) => d);
    artifact.pushed = { reference: formatReference(tagged), digest };
    await writeManifest(spec.outputDir, updated);
  }
  report({ kind: 'info', text: `pushed ${repositoryName(target)}@${imageDigest}` });
  return updated;
}
