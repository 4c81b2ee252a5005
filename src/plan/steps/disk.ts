import { mkdir, readFile, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { measureImage, writeDiskBase, writeEsp } from '../../artifacts/disk.js';
import { renderDiskGrubConfig } from '../../artifacts/disk-grub-config.js';
import { resolveDiskFormats, type DiskFormat } from '../../artifacts/formats/index.js';
import { parseSize } from '../../spec/load.js';
import { mediaName } from '../../outputs/media-name.js';
import type { RootfsArtifacts } from '../../artifacts/squashfs.js';
import type { Bundle } from '../../artifacts/bundle.js';
import { secureBootNote, signBootFiles, type SigningKeys } from '../../artifacts/sign-boot.js';
import { planDiskLayout, type PartitionSizes } from '../../disk/layout.js';
import { copyRawDisk } from '../../artifacts/formats/sparse-copy.js';
import { ensureFreeSpace } from '../../fsutil/space.js';
import { findCurrentOutputs, recordOutput } from '../../outputs/record.js';
import { registerCleanup } from '../../cleanup.js';
import { logPathFor, type BuildEnv } from '../env.js';
import { computeKey } from '../keys.js';
import { keyOf, outputOf, type Step } from '../step.js';
import type { ArtifactOutput } from './iso.js';
import { diskCmdline } from './cmdline.js';

/** Bump when the disk layout, its GRUB or the way partitions are written changes. */
const DISK_FORMAT_VERSION = 2;

export interface DiskOptions {
  /** Output path without extension; each format appends its own. */
  basePath: string;
  formats: DiskFormat[];
  cloudConfigPath?: string;
  /** Add the user's signature to the boot chain (Secure Boot with one's own keys). */
  signing?: SigningKeys;
  totalBytes?: number;
  sizes: PartitionSizes;
  /** An air-gap bundle for COS_OEM, prepared before the plan runs. */
  bundle?: Bundle;
}

/** The disks made from one rootfs, grouped by the kernel arguments their platforms add: one raw disk per group. */
interface Variant {
  cmdline: string;
  grubConfig: string;
  formats: DiskFormat[];
}

function planVariants(env: BuildEnv, formats: DiskFormat[]): Variant[] {
  const variants = new Map<string, Variant>();
  for (const format of formats) {
    const cmdline = diskCmdline(env, format);
    const variant = variants.get(cmdline) ?? { cmdline, grubConfig: renderDiskGrubConfig({ title: env.spec.boot.title, cmdline, timeoutSeconds: env.spec.boot.timeout }), formats: [] };
    variant.formats.push(format);
    variants.set(cmdline, variant);
  }
  return [...variants.values()];
}

/** The disk options a spec asks for, with the command line's overrides: shared by `ros-build disk` and prune. */
export function resolveDiskOptions(
  env: BuildEnv,
  flags: { image?: string; cloudConfigPath?: string; signing?: SigningKeys; format?: string; size?: string; output?: string } = {},
): DiskOptions & { image?: string } {
  const name = flags.image ? mediaName(flags.image) : env.spec.disk.name;
  return {
    basePath: flags.output ? resolve(flags.output) : join(env.outputDir, name),
    formats: resolveDiskFormats(flags.format ? [flags.format] : env.spec.disk.formats),
    cloudConfigPath: flags.cloudConfigPath,
    signing: flags.signing,
    totalBytes: flags.size ? parseSize(flags.size, '--size') : env.spec.disk.sizeBytes,
    sizes: env.spec.disk.partitions,
    image: flags.image,
  };
}

export function diskPath(options: DiskOptions, format: DiskFormat): string {
  return `${options.basePath}${format.extension}`;
}

/** The installed-system disk in every requested format, from the rootfs step's images. */
export function createDiskStep(env: BuildEnv, options: DiskOptions): Step {
  const variants = planVariants(env, options.formats);
  const keyFor = async (rootfsKey: string | undefined) => {
    if (!rootfsKey) return undefined;
    return computeKey('disk', {
      rootfs: rootfsKey,
      grub: variants.map((v) => v.grubConfig),
      formats: options.formats.map((f) => f.name),
      cloudConfig: options.cloudConfigPath ? await readFile(options.cloudConfigPath, 'utf8') : undefined,
      signedWith: options.signing?.certDigest,
      totalBytes: options.totalBytes,
      sizes: options.sizes,
      bundle: options.bundle?.key,
      version: DISK_FORMAT_VERSION,
      epoch: env.epochFromEnv ? env.epoch : undefined,
    });
  };
  const current = (key: string): Promise<ArtifactOutput[] | undefined> =>
    findCurrentOutputs(env.cacheDir, options.formats.map((format) => ({ path: diskPath(options, format), format: format.name })), key);
  return {
    name: 'disk',
    needs: ['rootfs'],
    async probe(state) {
      const key = await keyFor(keyOf(state, 'rootfs'));
      const cached = Boolean(key && (await current(key)));
      return { key, cached, summary: `${options.formats.map((f) => diskPath(options, f)).join(', ')}` };
    },
    async run(state, _probe, report) {
      const key = await keyFor(keyOf(state, 'rootfs'));
      if (!key) throw new Error('internal: disk step has no rootfs key');
      const cached = await current(key);
      if (cached) return { output: cached };
      const workDir = join(env.cacheDir, 'disk-work');
      await mkdir(workDir, { recursive: true });
      const logPath = logPathFor(env, 'disk');
      const base = join(workDir, `base-${process.pid}.raw`);
      const variantRaw = join(workDir, `variant-${process.pid}.raw`);
      const signedDir = join(workDir, `signed-${process.pid}`);
      const removeWork = () => Promise.all([rm(base, { force: true }), rm(variantRaw, { force: true }), rm(signedDir, { recursive: true, force: true })]);
      const unregister = registerCleanup(removeWork);
      const outputs: ArtifactOutput[] = [];
      try {
        let rootfs = outputOf<RootfsArtifacts>(state, 'rootfs');
        if (options.signing) {
          await mkdir(signedDir);
          rootfs = await signBootFiles(rootfs, options.signing, signedDir, logPath);
        }
        const imageBytes = await measureImage(rootfs);
        const layout = planDiskLayout({
          imageBytes,
          sizes: options.sizes,
          totalBytes: options.totalBytes,
          oemContentBytes: options.bundle?.bytes,
          seed: `${options.basePath.replace(/^.*\//, '')}:${env.epoch}`,
        });
        await mkdir(dirname(options.basePath), { recursive: true });
        // A raw disk is sparse: the images written into it, not its size, is what it takes (times two while formats convert).
        await ensureFreeSpace(workDir, 2 * (3 * imageBytes + 256 * 2 ** 20), 'the disk images');
        const input = { rootfs, layout, cloudConfigPath: options.cloudConfigPath, bundleDir: options.bundle?.dir, epoch: env.epoch, workDir, logPath };
        await writeDiskBase(base, input);
        // Variants differ only in their ESP (each platform's command line): one raw disk per core, each taking the
        // variants in turn with its ESP rewritten, instead of a copy of the whole disk per variant.
        const raws = variants.length > 1 && cpus().length > 1 ? [base, variantRaw] : [base];
        if (raws.length > 1) await copyRawDisk({ rawPath: base, outPath: variantRaw, epoch: env.epoch, logPath });
        const queue = [...variants];
        await runOnEach(raws, async (raw) => {
          for (let variant = queue.shift(); variant !== undefined; variant = queue.shift()) {
            await writeEsp(raw, input, variant.grubConfig);
            for (const format of variant.formats) {
              const path = diskPath(options, format);
              const started = Date.now();
              await format.convert({ rawPath: raw, outPath: path, epoch: env.epoch, logPath });
              outputs.push({ path, format: format.name, record: await recordOutput(env.cacheDir, path, key) });
              report({ kind: 'step-status', step: 'disk', text: `${format.name}: ${path} (${((Date.now() - started) / 1000).toFixed(1)} s)`, milestone: true });
            }
          }
        }, () => (queue.length = 0));
        outputs.sort((a, b) => options.formats.findIndex((f) => f.name === a.format) - options.formats.findIndex((f) => f.name === b.format));
        return { output: outputs, detail: `${layout.sizeBytes / 2 ** 30} GiB, ${outputs.map((o) => o.format).join(', ')}${secureBootNote(rootfs, options.signing)}` };
      } finally {
        unregister();
        await removeWork();
      }
    },
  };
}

/** Run `task` once for each item, all at once; after the first failure `stop` is called and, once all have ended, it is thrown. */
async function runOnEach<T>(items: readonly T[], task: (item: T) => Promise<void>, stop: () => void): Promise<void> {
  const results = await Promise.allSettled(
    items.map(async (item) => {
      try {
        await task(item);
      } catch (error) {
        stop(); // start nothing new after a failure
        throw error;
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
