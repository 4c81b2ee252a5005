import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from '../cleanup.js';
import { CommandError, runCommand } from '../exec/run.js';
import { UserError } from '../errors.js';
import { skopeoCopyArgs } from '../tools/skopeo.js';
import type { RegistryClient } from './registry/client.js';
import { writeDockerConfig } from './registry/credentials.js';
import { formatReference, isLoopbackRegistry, type ImageReference } from './registry/reference.js';

export interface ImagePush {
  /** The image in the local engine (its ID or tag). */
  localImage: string;
  /** Its image ID, when known: lets an unchanged image skip the push. */
  imageId?: string;
  target: ImageReference;
  /** Logged in already; skopeo gets the same credentials. */
  client: RegistryClient;
  allowHttp: boolean;
  retryTimes: number;
  logPath?: string;
}

/**
 * Push the runnable OS image from the engine with skopeo, which streams and
 * compresses the layers and skips blobs the registry already has; a rerun
 * after an interruption therefore completes with the same digest.
 */
export async function pushImage(push: ImagePush): Promise<{ digest: string; uploaded: boolean }> {
  const already = push.imageId ? await findPushedImage(push.client, push.target.tag!, push.imageId) : undefined;
  if (already) return { digest: already, uploaded: false };
  const workDir = await mkdtemp(join(tmpdir(), 'ros-build-push-'));
  // On Ctrl-C, stop skopeo too: an orphaned push would race the rerun.
  const cancel = new AbortController();
  const unregister = registerCleanup(() => {
    cancel.abort();
    return rm(workDir, { recursive: true, force: true });
  });
  try {
    const digestFile = join(workDir, 'digest');
    const credentials = push.client.loginCredentials;
    const authFile = credentials ? join(workDir, 'auth.json') : undefined;
    if (credentials && authFile) await writeDockerConfig(authFile, push.target.registry, credentials);
    const args = skopeoCopyArgs({
      source: `docker-daemon:${push.localImage}`,
      destination: `docker://${formatReference(push.target)}`,
      digestFile,
      destAuthFile: authFile,
      destTlsVerify: !(push.allowHttp || isLoopbackRegistry(push.target.registry)),
      retryTimes: push.retryTimes,
    });
    try {
      await runCommand('skopeo', args, { logPath: push.logPath, cancelSignal: cancel.signal });
    } catch (error) {
      throw explainSkopeoFailure(error, push.target, Boolean(credentials));
    }
    const digest = (await readFile(digestFile, 'utf8')).trim();
    const remote = await push.client.resolveDigest(push.target.tag!);
    if (remote !== digest) throw new Error(`after the push, ${formatReference(push.target)} resolves to ${remote ?? 'nothing'}, not the pushed ${digest}`);
    return { digest, uploaded: true };
  } finally {
    unregister();
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The digest under `tag` if it already holds this image: a pushed image's
 * config blob is the engine's image config, so its digest is the image ID.
 * Saves skopeo reading the whole image back from the engine to learn that.
 */
async function findPushedImage(client: RegistryClient, tag: string, imageId: string): Promise<string | undefined> {
  const remote = await client.getManifest(tag);
  if (!remote) return undefined;
  const config = (JSON.parse(remote.bytes.toString('utf8')) as { config?: { digest?: string } }).config;
  return config?.digest === imageId ? remote.digest : undefined;
}

function explainSkopeoFailure(error: unknown, target: ImageReference, loggedIn: boolean): unknown {
  if (!(error instanceof CommandError)) return error;
  if (error.exitCode === undefined && /not found on PATH/.test(error.outputTail)) {
    return new UserError('skopeo is needed to push the OS image but is not installed', 'run make setup (Debian/Ubuntu: apt-get install skopeo)');
  }
  if (/unauthorized|authentication required|denied/i.test(error.outputTail)) {
    // Registries such as Docker Hub and ghcr.io hand anonymous clients a pull-only token: the refusal comes only now.
    if (!loggedIn) return new UserError(`registry ${target.registry} refused an anonymous push to ${target.repository}`, `set REGISTRY_USERNAME and REGISTRY_PASSWORD, or run: docker login ${target.registry}`);
    return new UserError(`registry ${target.registry} refused the image push to ${target.repository}`, 'check that the account may push to this repository');
  }
  return error;
}
