import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildNetboot, NETBOOT_FILES, netbootPaths, parseBaseUrl, type NetbootRole } from '../../artifacts/netboot.js';
import type { RootfsArtifacts } from '../../artifacts/squashfs.js';
import { ensureFreeSpace } from '../../fsutil/space.js';
import { mediaName } from '../../outputs/media-name.js';
import { findCurrentOutputs, recordOutput } from '../../outputs/record.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { computeKey } from '../keys.js';
import type { Bundle } from '../../artifacts/bundle.js';
import { keyOf, outputOf, type Step } from '../step.js';
import { renderInstallGrubConfig, specCmdline } from './cmdline.js';
import type { ArtifactOutput } from './iso.js';

/** Bump when the directory's layout, the script or the medium archive changes. */
const NETBOOT_FORMAT_VERSION = 3;

export interface NetbootOptions {
  outDir: string;
  /** Checked and normalized (parseBaseUrl). */
  baseUrl: string;
  /** The user's kernel arguments, after the spec's. */
  extraCmdline?: string;
  cloudConfigPath?: string;
  /** An air-gap bundle for medium.cpio, prepared before the plan runs. */
  bundle?: Bundle;
}

/** The netboot options of `ros-build netboot` (and prune): the directory defaults to build/netboot, or build/<image>-netboot for --image. */
export function resolveNetbootOptions(env: BuildEnv, flags: { image?: string; output?: string; url: string; cmdline?: string; cloudConfigPath?: string }): NetbootOptions & { image?: string } {
  const outDir = flags.output ? resolve(flags.output) : join(env.outputDir, flags.image ? `${mediaName(flags.image)}-netboot` : 'netboot');
  return { outDir, baseUrl: parseBaseUrl(flags.url), extraCmdline: flags.cmdline?.trim() || undefined, cloudConfigPath: flags.cloudConfigPath, image: flags.image };
}

/** Kernel, initramfs, root squashfs, medium archive and iPXE script from the rootfs step: the same boot files as the ISO. */
export function createNetbootStep(env: BuildEnv, options: NetbootOptions): Step {
  const cmdline = [specCmdline(env), options.extraCmdline].filter(Boolean).join(' ');
  const installGrubConfig = renderInstallGrubConfig(env);
  const paths = netbootPaths(options.outDir);
  const keyFor = async (rootfsKey: string | undefined) => {
    if (!rootfsKey) return undefined;
    const cloudConfig = options.cloudConfigPath ? await readFile(options.cloudConfigPath, 'utf8') : undefined;
    return computeKey('netboot', {
      rootfs: rootfsKey,
      baseUrl: options.baseUrl,
      cmdline,
      installGrubCfg: installGrubConfig,
      cloudConfig,
      bundle: options.bundle?.key,
      format: NETBOOT_FORMAT_VERSION,
      epoch: env.epochFromEnv ? env.epoch : undefined,
    });
  };
  const files = (Object.entries(paths) as Array<[NetbootRole, string]>).map(([role, path]) => ({ path, format: NETBOOT_FILES[role].format }));
  /** Every file still exactly as built from `key`, or nothing. */
  const findCurrent = (key: string): Promise<ArtifactOutput[] | undefined> => findCurrentOutputs(env.cacheDir, files, key);
  return {
    name: 'netboot',
    needs: ['rootfs'],
    async probe(state) {
      const key = await keyFor(keyOf(state, 'rootfs'));
      const cached = Boolean(key && (await findCurrent(key)));
      return { key, cached, summary: `${options.outDir}/ (served from ${options.baseUrl}/)` };
    },
    async run(state) {
      const key = await keyFor(keyOf(state, 'rootfs'));
      if (!key) throw new Error('internal: netboot step has no rootfs key');
      const current = await findCurrent(key);
      if (current) return { output: current };
      const rootfs = outputOf<RootfsArtifacts>(state, 'rootfs');
      const payload = await Promise.all([rootfs.squashfsPath, rootfs.kernelPath, rootfs.initrdPath].map(async (path) => (await stat(path)).size));
      await ensureFreeSpace(resolve(options.outDir, '..'), payload.reduce((a, b) => a + b, 16 * 2 ** 20 + (options.bundle?.bytes ?? 0)), 'the netboot files');
      await buildNetboot(
        {
          squashfsPath: rootfs.squashfsPath,
          kernelPath: rootfs.kernelPath,
          initrdPath: rootfs.initrdPath,
          efiChain: rootfs.efiChain,
          baseUrl: options.baseUrl,
          cmdline,
          installGrubConfig,
          cloudConfigPath: options.cloudConfigPath,
          bundleDir: options.bundle?.dir,
          sourceDateEpoch: env.epoch,
          workDir: join(env.cacheDir, 'netboot-work'),
          logPath: logPathFor(env, 'netboot'),
        },
        options.outDir,
      );
      const outputs: ArtifactOutput[] = [];
      for (const file of files) outputs.push({ ...file, record: await recordOutput(env.cacheDir, file.path, key) });
      const total = outputs.reduce((sum, o) => sum + o.record.size, 0);
      return { output: outputs, detail: `${(total / 2 ** 20).toFixed(0)} MiB in ${Object.keys(paths).length} files` };
    },
  };
}
