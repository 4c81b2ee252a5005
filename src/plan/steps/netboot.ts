import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNetboot, NETBOOT_FILES, netbootPaths, parseBaseUrl, type NetbootRole } from '../../artifacts/netboot.js';
import type { RootfsArtifacts } from '../../artifacts/squashfs.js';
import { ensureFreeSpace } from '../../fsutil/space.js';
import { mediaName } from '../../outputs/media-name.js';
import { findCurrentOutputs, recordOutput } from '../../outputs/record.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { computeKey } from '../keys.js';
import { keyOf, outputOf, type Step } from '../step.js';
import { readImageFiles } from '../../docker/read-files.js';
import { UserError } from '../../errors.js';
import type { ResolvedLayer } from '../../spec/types.js';
import type { ImageOutput } from './base.js';
import { renderInstallGrubConfig, specCmdline } from './cmdline.js';
import type { ArtifactOutput } from './iso.js';
import { createLayerStep } from './layer.js';

/** Bump when the directory's layout, the script or the medium archive changes (4: the initramfs with the network is its own). */
const NETBOOT_FORMAT_VERSION = 4;

/**
 * The network boot's initramfs: a layer FROM the finished image that runs
 * dracut once more with livenet and the network (images/netboot/Dockerfile),
 * cached like any layer. The image itself stays without them.
 */
const NETBOOT_INITRD_LAYER: ResolvedLayer = {
  name: 'netboot-initrd',
  contextDir: fileURLToPath(new URL('../../../images/netboot', import.meta.url)),
  dockerfile: 'Dockerfile',
  args: {},
};
const NETBOOT_INITRD_STEP = `layer ${NETBOOT_INITRD_LAYER.name}`;
/** Where that layer's dracut writes initrd-<kernel version>. */
const NETBOOT_INITRD_DIR = '/usr/lib/ros/netboot';

export function createNetbootInitrdStep(env: BuildEnv, imageStep: string): Step {
  return createLayerStep(env, NETBOOT_INITRD_LAYER, imageStep, 'netboot-initrd');
}

export interface NetbootOptions {
  outDir: string;
  /** Checked and normalized (parseBaseUrl). */
  baseUrl: string;
  /** The user's kernel arguments, after the spec's. */
  extraCmdline?: string;
  cloudConfigPath?: string;
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
  const keyFor = async (rootfsKey: string | undefined, initrdKey: string | undefined) => {
    if (!rootfsKey || !initrdKey) return undefined;
    const cloudConfig = options.cloudConfigPath ? await readFile(options.cloudConfigPath, 'utf8') : undefined;
    return computeKey('netboot', {
      rootfs: rootfsKey,
      initrd: initrdKey,
      baseUrl: options.baseUrl,
      cmdline,
      installGrubCfg: installGrubConfig,
      cloudConfig,
      format: NETBOOT_FORMAT_VERSION,
      epoch: env.epochFromEnv ? env.epoch : undefined,
    });
  };
  const files = (Object.entries(paths) as Array<[NetbootRole, string]>).map(([role, path]) => ({ path, format: NETBOOT_FILES[role].format }));
  /** Every file still exactly as built from `key`, or nothing. */
  const findCurrent = (key: string): Promise<ArtifactOutput[] | undefined> => findCurrentOutputs(env.cacheDir, files, key);
  return {
    name: 'netboot',
    needs: ['rootfs', NETBOOT_INITRD_STEP],
    async probe(state) {
      const key = await keyFor(keyOf(state, 'rootfs'), keyOf(state, NETBOOT_INITRD_STEP));
      const cached = Boolean(key && (await findCurrent(key)));
      return { key, cached, summary: `${options.outDir}/ (served from ${options.baseUrl}/)` };
    },
    async run(state) {
      const key = await keyFor(keyOf(state, 'rootfs'), keyOf(state, NETBOOT_INITRD_STEP));
      if (!key) throw new Error('internal: netboot step has no rootfs or initramfs key');
      const current = await findCurrent(key);
      if (current) return { output: current };
      const rootfs = outputOf<RootfsArtifacts>(state, 'rootfs');
      const workDir = join(env.cacheDir, 'netboot-work');
      const initrdPath = await extractNetbootInitrd(env, outputOf<ImageOutput>(state, NETBOOT_INITRD_STEP), workDir);
      const payload = await Promise.all([rootfs.squashfsPath, rootfs.kernelPath, initrdPath].map(async (path) => (await stat(path)).size));
      await ensureFreeSpace(resolve(options.outDir, '..'), payload.reduce((a, b) => a + b, 16 * 2 ** 20), 'the netboot files');
      await buildNetboot(
        {
          squashfsPath: rootfs.squashfsPath,
          kernelPath: rootfs.kernelPath,
          initrdPath,
          efiChain: rootfs.efiChain,
          baseUrl: options.baseUrl,
          cmdline,
          installGrubConfig,
          cloudConfigPath: options.cloudConfigPath,
          sourceDateEpoch: env.epoch,
          workDir,
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

/** The layer's initramfs for the newest kernel (the one the rootfs step took), copied out to `workDir`. */
async function extractNetbootInitrd(env: BuildEnv, image: ImageOutput, workDir: string): Promise<string> {
  const files = await readImageFiles(env.docker, image.id, NETBOOT_INITRD_DIR);
  const newest = [...files.keys()].filter((name) => name.startsWith('initrd-')).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))[0];
  if (!newest) {
    throw new UserError(
      `the network boot's initramfs layer made nothing in ${NETBOOT_INITRD_DIR} (see ${logPathFor(env, NETBOOT_INITRD_STEP)})`,
      'network boot needs an image FROM the OS image, with dracut and its livenet and network modules (dracut-live, dracut-network)',
    );
  }
  await mkdir(workDir, { recursive: true });
  const path = join(workDir, 'netboot-initrd');
  await rm(path, { force: true });
  await writeFile(path, files.get(newest)!);
  return path;
}
