import Docker from 'dockerode';
import { checkWorkMount, IN_BUILDER } from '../builder/work-mount.js';
import { UserError } from '../errors.js';

/** The oldest engine API this was tested with (Docker 20.10, Debian 12's docker.io); older ones are refused. */
export const MIN_ENGINE_API = '1.41';

/** Connect to the engine named by DOCKER_HOST (or the default socket), check it answers and is recent enough; in the builder image, check the work directory's mount too. */
export async function connectEngine(timeoutMs = 10_000): Promise<Docker> {
  const docker = new Docker();
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  let version: { Version?: string; ApiVersion?: string };
  try {
    version = await Promise.race([
      docker.version(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref()),
    ]);
  } catch (error) {
    throw new UserError(
      `no Docker engine answers at ${where} (${(error as Error).message})`,
      IN_BUILDER
        ? "the builder talks to your engine through its socket: add -v /var/run/docker.sock:/var/run/docker.sock to docker run (or set DOCKER_HOST to an engine it can reach)"
        : 'run `make setup` (tools/setup-host.sh installs and starts dockerd on Debian), or point DOCKER_HOST at a running engine',
    );
  }
  if (compareApiVersions(version.ApiVersion ?? '0', MIN_ENGINE_API) < 0) {
    throw new UserError(`the Docker engine at ${where} is version ${version.Version ?? 'unknown'} (API ${version.ApiVersion ?? 'unknown'}); ros-build needs API ${MIN_ENGINE_API} (Docker 20.10) or newer`, 'upgrade the engine');
  }
  if (IN_BUILDER) await checkWorkMount(docker);
  return docker;
}

/** "1.41" against "1.9": numerically, part by part. */
export function compareApiVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(pa!.length, pb!.length); i++) {
    const diff = (pa![i] ?? 0) - (pb![i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** The image's ID, or undefined when the engine does not have it. */
export async function findImage(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    return info.Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

export async function tagImage(docker: Docker, imageId: string, ref: string): Promise<void> {
  const { repo, tag } = splitRef(ref);
  await docker.getImage(imageId).tag({ repo, tag });
}

export function splitRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}
