import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedLayer } from '../../spec/types.js';
import type { BuildEnv } from '../env.js';

const overlayDockerfile = `ARG PARENT_IMAGE
FROM \${PARENT_IMAGE}
COPY overlay/ /
`;

/**
 * Overlays are plain directories; they become one generated layer on top of
 * the profile's layers, so editing an overlay file rebuilds only this cheap
 * COPY and nothing below it.
 */
export function prepareOverlayLayer(env: BuildEnv): ResolvedLayer | undefined {
  if (env.spec.overlays.length === 0) return undefined;
  const contextDir = join(env.cacheDir, 'overlay-context');
  rmSync(contextDir, { recursive: true, force: true });
  mkdirSync(join(contextDir, 'overlay'), { recursive: true });
  for (const overlay of env.spec.overlays) {
    cpSync(overlay, join(contextDir, 'overlay'), { recursive: true, force: true, verbatimSymlinks: true });
  }
  writeFileSync(join(contextDir, 'Dockerfile'), overlayDockerfile);
  return { name: 'overlays', contextDir, dockerfile: 'Dockerfile', args: {} };
}
