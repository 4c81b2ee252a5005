import type Docker from 'dockerode';
import { registerCleanup } from '../cleanup.js';

/**
 * A container of `image` that is never started, for reading its files. It is
 * removed when `use` ends, fails, or the process is interrupted, so no stray
 * container survives.
 */
export async function withThrowawayContainer<T>(docker: Docker, image: string, purpose: string, use: (container: Docker.Container) => Promise<T>): Promise<T> {
  const container = await docker.createContainer({ Image: image, Cmd: ['/bin/true'], Labels: { 'io.ros-build.temporary': purpose } });
  const remove = () => container.remove({ force: true }).catch(() => undefined);
  const unregister = registerCleanup(remove);
  try {
    return await use(container);
  } finally {
    unregister();
    await remove();
  }
}

/** Stream an image's root filesystem (docker export) through a throwaway container. */
export function withImageExport<T>(docker: Docker, image: string, consume: (tar: NodeJS.ReadableStream) => Promise<T>): Promise<T> {
  return withThrowawayContainer(docker, image, 'export', async (container) => consume(await container.export()));
}
