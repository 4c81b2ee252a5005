import Docker from 'dockerode';
import { UserError } from '../errors.js';

/** Connect to the engine named by DOCKER_HOST (or the default socket) and check it answers. */
export async function connectEngine(timeoutMs = 10_000): Promise<Docker> {
  const docker = new Docker();
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref()),
    ]);
  } catch (error) {
    throw new UserError(
      `no Docker engine answers at ${where} (${(error as Error).message})`,
      'run `make setup` (tools/setup-host.sh installs and starts dockerd on Debian), or point DOCKER_HOST at a running engine',
    );
  }
  return docker;
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
