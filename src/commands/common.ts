import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { connectEngine } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { createBuildEnv, type BuildEnv } from '../plan/env.js';
import { loadSpec } from '../spec/load.js';
import type { Compression, SpecOverrides } from '../spec/types.js';

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
    .option('-f, --spec <path>', 'build spec', 'os.yaml')
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

export async function prepareEnv(flags: SpecFlags): Promise<BuildEnv> {
  const spec = loadSpec(flags.spec, toOverrides(flags));
  const docker = await connectEngine();
  return createBuildEnv(docker, spec);
}
