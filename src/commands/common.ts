import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectEngine } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { createBuildEnv, type BuildEnv } from '../plan/env.js';
import { loadSpec } from '../spec/load.js';
import type { Compression, ResolvedSpec, SpecOverrides } from '../spec/types.js';

const DEFAULT_SPEC = 'os.yaml';

export interface SpecFlags {
  spec: string;
  repo?: string;
  tag?: string;
  profile?: string;
  outputDir?: string;
  release?: boolean;
  compression?: Compression;
  compressionLevel?: string;
}

/** Flags every spec-driven command takes; they override os.yaml. */
export function addSpecOptions(command: Command): Command {
  return command
    .option('-f, --spec <path>', `build spec (without one here: ros-build's own, outputs in ./build)`, DEFAULT_SPEC)
    .option('--repo <repository>', 'image repository (overrides image.repository; make: REPO)')
    .option('--tag <tag>', 'image tag (overrides image.tag; make: TAG)')
    .option('--profile <name>', 'distro profile from os.yaml (make: PROFILE)')
    .option('-o, --output-dir <dir>', 'where artifacts, logs and the cache go (default: build/ beside os.yaml)')
    .option('--release', 'use the release squashfs compression (strong, slow) instead of the development one')
    .addOption(new Option('--compression <name>', 'squashfs compressor').choices(['zstd', 'xz', 'gzip', 'lz4']))
    .option('--compression-level <n>', 'squashfs compression level');
}

export function toOverrides(flags: SpecFlags): SpecOverrides {
  let compressionLevel: number | undefined;
  if (flags.compressionLevel !== undefined) {
    compressionLevel = Number(flags.compressionLevel);
    if (!Number.isInteger(compressionLevel)) {
      throw new UserError(`--compression-level must be an integer, got "${flags.compressionLevel}"`, 'for example --compression-level 3');
    }
  }
  return {
    repository: flags.repo,
    tag: flags.tag,
    profile: flags.profile,
    outputDir: flags.outputDir ? resolve(flags.outputDir) : undefined,
    release: flags.release,
    compression: flags.compression,
    compressionLevel,
  };
}

/** ros-build's own os.yaml, its layer contexts beside it: the spec when the directory has none (see loadSpecFlags). */
export const PACKAGED_SPEC_PATH = fileURLToPath(new URL('../../os.yaml', import.meta.url));

/**
 * The spec the flags name. Without --spec and without an os.yaml here,
 * ros-build's own spec, with the outputs in ./build: a directory holding only
 * a Dockerfile FROM rancher/os2 builds media with `iso --image mine` (the
 * builder image's usual case). Said once on stderr.
 */
export function loadSpecFlags(flags: SpecFlags): ResolvedSpec {
  const overrides = toOverrides(flags);
  if (flags.spec !== DEFAULT_SPEC || existsSync(resolve(DEFAULT_SPEC)) || resolve(DEFAULT_SPEC) === PACKAGED_SPEC_PATH) return loadSpec(flags.spec, overrides);
  overrides.outputDir ??= resolve('build');
  process.stderr.write(`ros-build: no ${DEFAULT_SPEC} in ${process.cwd()}: using ros-build's own spec (${PACKAGED_SPEC_PATH}); outputs go to ${overrides.outputDir}\n`);
  return loadSpec(PACKAGED_SPEC_PATH, overrides);
}

export async function prepareEnv(flags: SpecFlags): Promise<BuildEnv> {
  const spec = loadSpecFlags(flags);
  const docker = await connectEngine();
  return createBuildEnv(docker, spec);
}
