import type Docker from 'dockerode';
import { registerCleanup } from '../cleanup.js';

/**
 * Stream an image's root filesystem through a throwaway container that is
 * never started. The container is removed when `consume` ends, fails, or the
 * process is interrupted, so no stray container survives.
 */
export async function withImageExport<T>(
  docker: Docker,
  image: string,
  consume: (tar: NodeJS.ReadableStream) => Promise<T>,
): Promise<T> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['/bin/true'],
    Labels: { 'io.ros-build.temporary': 'export' },
  });
  const remove = () => container.remove({ force: true }).catch(() => undefined);
  const unregister = registerCleanup(remove);
  try {
    const tar = await container.export();
    return await consume(tar);
  } finally {
    unregister();
    await remove();
  }
}
