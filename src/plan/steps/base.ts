import { ensureBaseImage } from '../../docker/bootstrap.js';
import { findImage } from '../../docker/engine.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { packageProxyFor } from '../package-proxy.js';
import type { Step } from '../step.js';

export interface ImageOutput {
  /** A reference the engine resolves locally (tag), usable in FROM. */
  ref: string;
  id: string;
}

/** The distro image everything starts FROM; its key is its image ID. */
export function createBaseStep(env: BuildEnv): Step {
  const base = env.spec.base;
  return {
    name: 'base',
    needs: [],
    async probe() {
      const id = await findImage(env.docker, base.image);
      if (id) return { key: id, cached: true, summary: `${base.image} (present, ${id.slice(7, 19)})` };
      const fallback = base.bootstrap ? `else bootstrap with ${base.bootstrap.tool} ${base.bootstrap.suite}` : 'no bootstrap recipe';
      return { cached: false, summary: `${base.image}: not present; pull, ${fallback}` };
    },
    async run() {
      const { id, origin } = await ensureBaseImage(env.docker, base, logPathFor(env, 'base'), async () => (await packageProxyFor(env))?.url);
      return { output: { ref: base.image, id } satisfies ImageOutput, key: id, detail: `${base.image} ${origin}` };
    },
  };
}
