import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { mediaName } from '../../outputs/media-name.js';
import { ensureFreeSpace } from '../../fsutil/space.js';
import { buildIso } from '../../artifacts/iso.js';
import { secureBootNote, signBootFiles, type SigningKeys } from '../../artifacts/sign-boot.js';
import { withScratchDir } from '../../fsutil/scratch.js';
import { renderGrubConfig } from '../../artifacts/grub-config.js';
import type { Bundle } from '../../artifacts/bundle.js';
import type { RootfsArtifacts } from '../../artifacts/squashfs.js';
import { findCurrentOutput, recordOutput, type OutputRecord } from '../../outputs/record.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { computeKey } from '../keys.js';
import { keyOf, outputOf, type Step } from '../step.js';
import { renderInstallGrubConfig, specCmdline } from './cmdline.js';

/** Bump when the medium's layout or the xorriso/GRUB invocation changes. */
const ISO_FORMAT_VERSION = 3;

export interface IsoOptions {
  outPath: string;
  cloudConfigPath?: string;
  /** Add the user's signature to the boot chain (Secure Boot with one's own keys). */
  signing?: SigningKeys;
  /** An air-gap bundle for the medium, prepared before the plan runs. */
  bundle?: Bundle;
}

/** The ISO options a spec asks for, with the command line's overrides: shared by `ros-build iso`, `plan`, prune and the benchmark. */
export function resolveIsoOptions(env: BuildEnv, flags: { image?: string; output?: string; cloudConfigPath?: string; signing?: SigningKeys } = {}): IsoOptions & { image?: string } {
  const outPath = flags.output ? resolve(flags.output) : join(env.outputDir, flags.image ? `${mediaName(flags.image)}.iso` : env.spec.iso.name);
  return { outPath, cloudConfigPath: flags.cloudConfigPath, signing: flags.signing, image: flags.image };
}

export interface ArtifactOutput {
  path: string;
  format: string;
  record: OutputRecord;
}

export { specCmdline } from './cmdline.js';

/** A hybrid BIOS/UEFI live ISO from the rootfs step's squashfs, kernel and initramfs. */
export function createIsoStep(env: BuildEnv, options: IsoOptions): Step {
  const { volumeLabel } = env.spec.iso;
  const grub = { title: env.spec.boot.title, label: volumeLabel, cmdline: specCmdline(env), timeoutSeconds: env.spec.boot.timeout };
  // The installed disk's menu travels on the ISO (/ros/install/grub.cfg): part of the key, like the ISO's own.
  const installGrubConfig = renderInstallGrubConfig(env);
  const keyFor = async (rootfsKey: string | undefined) => {
    if (!rootfsKey) return undefined;
    const cloudConfig = options.cloudConfigPath ? await readFile(options.cloudConfigPath, 'utf8') : undefined;
    return computeKey('iso', {
      rootfs: rootfsKey,
      grubCfg: renderGrubConfig(grub),
      installGrubCfg: installGrubConfig,
      cloudConfig,
      signedWith: options.signing?.certDigest,
      bundle: options.bundle?.key,
      format: ISO_FORMAT_VERSION,
      epoch: env.epochFromEnv ? env.epoch : undefined,
    });
  };
  return {
    name: 'iso',
    needs: ['rootfs'],
    async probe(state) {
      const key = await keyFor(keyOf(state, 'rootfs'));
      const cached = Boolean(key && (await findCurrentOutput(env.cacheDir, options.outPath, key)));
      return { key, cached, summary: `${options.outPath} (label ${volumeLabel}${options.cloudConfigPath ? `, cloud-config ${options.cloudConfigPath}` : ''})` };
    },
    async run(state) {
      const key = await keyFor(keyOf(state, 'rootfs'));
      if (!key) throw new Error('internal: iso step has no rootfs key');
      const current = await findCurrentOutput(env.cacheDir, options.outPath, key);
      if (current) return { output: { path: options.outPath, format: 'iso', record: current } satisfies ArtifactOutput };
      const built = outputOf<RootfsArtifacts>(state, 'rootfs');
      const workDir = join(env.cacheDir, 'iso-work');
      await mkdir(workDir, { recursive: true });
      await withScratchDir(workDir, 'signed-', async (signedDir) => {
        const rootfs = options.signing ? await signBootFiles(built, options.signing, signedDir, logPathFor(env, 'iso')) : built;
        await writeIso(rootfs, workDir);
      });
      const record = await recordOutput(env.cacheDir, options.outPath, key);
      return { output: { path: options.outPath, format: 'iso', record } satisfies ArtifactOutput, detail: `${(record.size / 2 ** 20).toFixed(0)} MiB${secureBootNote(built, options.signing)}` };
    },
  };

  /** The ISO at options.outPath from `rootfs` (the image's, or its boot files signed). */
  async function writeIso(rootfs: RootfsArtifacts, workDir: string): Promise<void> {
    const payload = await Promise.all([rootfs.squashfsPath, rootfs.kernelPath, rootfs.initrdPath].map(async (path) => (await stat(path)).size));
    await mkdir(dirname(options.outPath), { recursive: true });
    await ensureFreeSpace(dirname(options.outPath), payload.reduce((a, b) => a + b, 32 * 2 ** 20 + (options.bundle?.bytes ?? 0)), 'the ISO');
    await buildIso(
      {
        squashfsPath: rootfs.squashfsPath,
        kernelPath: rootfs.kernelPath,
        initrdPath: rootfs.initrdPath,
        efiChain: rootfs.efiChain,
        volumeLabel,
        title: grub.title,
        cmdline: grub.cmdline,
        timeoutSeconds: grub.timeoutSeconds,
        cloudConfigPath: options.cloudConfigPath,
        bundleDir: options.bundle?.dir,
        installGrubConfig,
        sourceDateEpoch: env.epoch,
        workDir,
        logPath: logPathFor(env, 'iso'),
      },
      options.outPath,
    );
  }
}
