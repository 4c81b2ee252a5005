import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileDigests } from '../../store/file-digests.js';
import { buildLayer } from '../../docker/build.js';
import { hashContext } from '../../docker/context.js';
import { findImage } from '../../docker/engine.js';
import type { ResolvedLayer } from '../../spec/types.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { computeKey, shortKey } from '../keys.js';
import { packageProxyFor } from '../package-proxy.js';
import { keyOf, outputOf, type Step } from '../step.js';
import type { ImageOutput } from './base.js';

/** Build arguments ros-build offers every layer; a layer receives those its Dockerfile declares. */
export function standardBuildArgs(env: BuildEnv, parentRef: string): Record<string, string> {
  return {
    PARENT_IMAGE: parentRef,
    OS_NAME: env.spec.os.name,
    OS_VERSION: env.spec.os.version,
    IMAGE_REPO: env.spec.image.repository,
    IMAGE_TAG: env.spec.image.tag,
    PERSISTENT_PATHS: env.spec.persistentPaths.join(' '),
  };
}

export function declaredArgs(dockerfile: string): Set<string> {
  return new Set([...dockerfile.matchAll(/^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)/gim)].map((m) => m[1]!));
}

/** Only declared arguments go into the build and the key, so a new tag does not rebuild layers that ignore it. */
export function selectBuildArgs(dockerfile: string, offered: Record<string, string>, layerArgs: Record<string, string>): Record<string, string> {
  const declared = declaredArgs(dockerfile);
  const picked = Object.fromEntries(Object.entries(offered).filter(([name]) => declared.has(name)));
  return { ...picked, ...layerArgs };
}

export function cacheRef(kind: string, key: string): string {
  return `ros-build/${kind}:${shortKey(key)}`;
}

/**
 * One Dockerfile layer, built FROM the previous step's image. Cached by a key
 * over the parent's key, the context tree and the build arguments; a cached
 * layer is an image tagged with its key.
 */
export function createLayerStep(env: BuildEnv, layer: ResolvedLayer, parent: string, kind = `layer-${layer.name}`): Step {
  const name = `layer ${layer.name}`;
  const inspectInputs = async (parentKey: string | undefined, parentRef: string) => {
    const digests = await openFileDigests(join(env.cacheDir, 'file-digests.json'));
    const tree = await hashContext(layer.contextDir, digests);
    await digests.save();
    const dockerfile = await readFile(join(layer.contextDir, layer.dockerfile), 'utf8');
    const args = selectBuildArgs(dockerfile, standardBuildArgs(env, parentRef), layer.args);
    // The parent reference changes with its key, so it is left out; the key stands for it.
    const { PARENT_IMAGE: _parent, ...keyedArgs } = args;
    const key = parentKey ? computeKey('layer', { parent: parentKey, context: tree.hash, dockerfile: layer.dockerfile, args: keyedArgs }) : undefined;
    return { tree, args, key };
  };
  return {
    name,
    needs: [parent],
    async probe(state) {
      const { key } = await inspectInputs(keyOf(state, parent), '');
      const summary = `${layer.contextDir} (${layer.dockerfile})`;
      if (!key) return { cached: false, summary };
      return { key, cached: Boolean(await findImage(env.docker, cacheRef(kind, key))), summary: `${summary} -> ${cacheRef(kind, key)}` };
    },
    async run(state, probe, report) {
      const parentImage = outputOf<ImageOutput>(state, parent);
      const { tree, args, key } = await inspectInputs(keyOf(state, parent), parentImage.ref);
      if (!key) throw new Error(`no key for ${name}: parent ${parent} has none`);
      const ref = cacheRef(kind, key);
      if (probe.cached && probe.key === key) {
        const id = await findImage(env.docker, ref);
        if (id) return { output: { ref, id } satisfies ImageOutput, detail: ref };
      }
      // Docker's predefined http_proxy argument: not part of the image, its history or our key.
      const proxy = await packageProxyFor(env);
      const id = await buildLayer(
        env.docker,
        {
          step: name,
          contextDir: layer.contextDir,
          files: tree.files,
          dockerfile: layer.dockerfile,
          buildArgs: proxy ? { ...args, http_proxy: proxy.url } : args,
          labels: { 'io.ros-build.key': key, 'io.ros-build.layer': layer.name },
          tag: ref,
          logPath: logPathFor(env, name),
        },
        report,
      );
      return { output: { ref, id } satisfies ImageOutput, key, detail: ref };
    },
  };
}
