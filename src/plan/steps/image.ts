import type Docker from 'dockerode';
import { UserError } from '../../errors.js';
import { findImage, tagImage } from '../../docker/engine.js';
import type { BuildEnv } from '../env.js';
import { keyOf, outputOf, type Step } from '../step.js';
import type { ImageOutput } from './base.js';

async function readLabel(docker: Docker, ref: string, label: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Config?.Labels?.[label];
  } catch {
    return undefined;
  }
}

/** Give the last layer the spec's name (REPO:TAG): the runnable OS image. */
export function createTagStep(env: BuildEnv, parent: string): Step {
  const ref = env.spec.image.ref;
  return {
    name: 'image',
    needs: [parent],
    async probe(state) {
      const key = keyOf(state, parent);
      const cached = Boolean(key) && (await readLabel(env.docker, ref, 'io.ros-build.key')) === key;
      return { key, cached, summary: ref };
    },
    async run(state) {
      const image = outputOf<ImageOutput>(state, parent);
      await tagImage(env.docker, image.id, ref);
      return { output: { ref, id: image.id } satisfies ImageOutput, detail: `${ref} ${image.id.slice(7, 19)}` };
    },
  };
}

/** An image the user built FROM the OS image (`iso --image NAME`); its key is its ID. */
export function createExistingImageStep(env: BuildEnv, ref: string): Step {
  const missing = () =>
    new UserError(`image ${ref} is not in the engine`, `build it first (docker build -t ${ref} .) or load it (docker load / docker pull)`);
  return {
    name: 'image',
    needs: [],
    async probe() {
      const id = await findImage(env.docker, ref);
      if (!id) throw missing();
      return { key: id, cached: true, summary: `${ref} (${id.slice(7, 19)})` };
    },
    async run(state) {
      const id = keyOf(state, 'image');
      if (!id) throw missing();
      return { output: { ref, id } satisfies ImageOutput, detail: `${ref} ${id.slice(7, 19)}` };
    },
  };
}
