import type { Command } from 'commander';
import { createReporter } from '../progress/reporter.js';
import { createBuildPlan, createDiskPlan, createIsoPlan, createNetbootPlan } from '../plan/create.js';
import { resolveDiskOptions } from '../plan/steps/disk.js';
import { resolveIsoOptions } from '../plan/steps/iso.js';
import { resolveNetbootOptions } from '../plan/steps/netboot.js';
import { UserError } from '../errors.js';
import { checkFormatTools, DISK_FORMAT_NAMES } from '../artifacts/formats/index.js';
import { DISK_BUILDER } from '../artifacts/disk.js';
import { runPlan } from '../plan/runner.js';
import { outputOf } from '../plan/step.js';
import type { ImageOutput } from '../plan/steps/base.js';
import type { ArtifactOutput } from '../plan/steps/iso.js';
import { updateManifest } from '../outputs/manifest.js';
import { addSpecOptions, prepareEnv, type SpecFlags } from './common.js';
import type { BuildEnv } from '../plan/env.js';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { prepareBundle, type Bundle } from '../artifacts/bundle.js';
import { registerCleanup } from '../cleanup.js';
import { findSourceRevision } from '../outputs/revision.js';
import { validateCloudConfig } from '../artifacts/iso.js';
import { KEY_PASSWORD_ENV, resolveSigningKeys } from '../artifacts/sign-boot.js';

interface BundleFlags {
  bundle: string[];
  bundleImages: string[];
  allowHttp?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The air-gap bundle's options (iso and disk alike); `where` says where the medium carries it. */
function addBundleOptions(command: Command, where: string): Command {
  return command
    .option('--bundle <ref>', `copy this image and its cosign signature from its registry onto ${where}, for nodes without a network (repeatable)`, collect, [])
    .option('--bundle-images <file>', 'add this image tarball for the cluster\'s agent (rke2-images…tar.zst; repeatable)', collect, [])
    .option('--allow-http', 'talk plain HTTP to a --bundle registry that is not on loopback');
}

/** Prepare the --bundle directory (when asked for) for `build`, and remove it afterwards: the medium holds its copy. */
async function withBundle<T>(env: BuildEnv, flags: BundleFlags, build: (bundle: Bundle | undefined) => Promise<T>): Promise<T> {
  if (flags.bundle.length === 0) {
    if (flags.bundleImages.length > 0) throw new UserError('--bundle-images needs a --bundle: the tarballs are for the cluster an installer image brings', 'add --bundle <installer image>');
    return build(undefined);
  }
  const dir = join(env.cacheDir, `bundle-${process.pid}`);
  const remove = () => rm(dir, { recursive: true, force: true });
  const unregister = registerCleanup(remove);
  try {
    await remove();
    const bundle = await prepareBundle({ images: flags.bundle, imageTarballs: flags.bundleImages, allowHttp: flags.allowHttp ?? false }, dir, (line) => process.stderr.write(`${line}\n`));
    return await build(bundle);
  } finally {
    unregister();
    await remove();
  }
}

interface SigningFlags {
  secureBootKey?: string;
  secureBootCert?: string;
}

/** The options that sign a medium's boot chain with the user's own key (iso and disk alike). */
function addSigningOptions(command: Command): Command {
  return command
    .option('--secure-boot-key <file>', `add your signature to shim, GRUB and the kernel with this PEM key (an encrypted one opens with $${KEY_PASSWORD_ENV})`)
    .option('--secure-boot-cert <file>', 'the PEM certificate of --secure-boot-key, as enrolled in the machines\' db (or MOK)');
}

/** build/manifest.json gets the image (with the source revision it was built from) and the media just written. */
async function recordMedia(env: BuildEnv, image: ImageOutput, media: ArtifactOutput[]): Promise<string> {
  const revision = await findSourceRevision(dirname(env.spec.specPath));
  return updateManifest(env.outputDir, { ...image, revision }, media.map((m) => ({ path: m.path, format: m.format, size: m.record.size, sha256: m.record.sha256 })));
}

export function registerBuildCommands(program: Command): void {
  addSpecOptions(
    program
      .command('build')
      .description('build the layered OS image (base → layers → overlays) and tag it REPO:TAG'),
  ).action(async (flags: SpecFlags) => {
    const env = await prepareEnv(flags);
    const { state } = await runPlan(createBuildPlan(env), createReporter());
    const image = outputOf<ImageOutput>(state, 'image');
    await recordMedia(env, image, []);
    process.stdout.write(`${image.ref} ${image.id}\n`);
  });

  addSpecOptions(
    addBundleOptions(addSigningOptions(program
      .command('iso')
      .description('build the OS image (or use --image) and a hybrid BIOS/UEFI live ISO from it')
      .option('--image <name>', 'make the ISO from this image (built FROM the OS image) instead of building the spec')
      .option('--cloud-config <file>', 'embed this cloud-config on the medium (/ros/cloud-config.yaml)')
      .option('--output <file>', 'ISO path (default: build/<artifacts.iso.name>)')), 'the medium (/ros/bundle; ros install takes it to COS_OEM)'),
  ).action(async (flags: SpecFlags & SigningFlags & BundleFlags & { image?: string; cloudConfig?: string; output?: string }) => {
    // Checked before anything is built, as for disks.
    const cloudConfigPath = flags.cloudConfig ? await validateCloudConfig(flags.cloudConfig) : undefined;
    const signing = await resolveSigningKeys(flags.secureBootKey, flags.secureBootCert);
    const env = await prepareEnv(flags);
    const options = resolveIsoOptions(env, { ...flags, cloudConfigPath, signing });
    const { state } = await withBundle(env, flags, (bundle) => runPlan(createIsoPlan(env, { ...options, bundle }), createReporter()));
    const image = outputOf<ImageOutput>(state, 'image');
    const iso = outputOf<ArtifactOutput>(state, 'iso');
    const manifest = await recordMedia(env, image, [iso]);
    process.stdout.write(`${iso.path}\n`);
    process.stderr.write(`manifest: ${manifest}\n`);
  });

  addSpecOptions(
    addBundleOptions(program
      .command('netboot')
      .description('build the OS image (or use --image) and the files a PXE/iPXE network boot serves: kernel, initramfs, root squashfs, iPXE script')
      .option('--url <base-url>', 'where the machine will fetch the files: the URL of the output directory (ros-build serve prints it)')
      .option('--image <name>', 'make the files from this image (built FROM the OS image) instead of building the spec')
      .option('--cmdline <args>', 'kernel arguments to add, e.g. "ros.install.automatic ros.install.device=/dev/sda"')
      .option('--cloud-config <file>', 'give the live system this cloud-config (in medium.cpio, as /ros/cloud-config.yaml on the ISO)')
      .option('--output <dir>', 'output directory (default: build/netboot)'), 'medium.cpio (/ros/bundle, held in the machine\'s RAM)'),
  ).action(async (flags: SpecFlags & BundleFlags & { url?: string; image?: string; cmdline?: string; cloudConfig?: string; output?: string }) => {
    if (!flags.url) throw new UserError('ros-build netboot needs --url: the address the machines will fetch the files from', 'for example --url http://192.168.1.10:8080 (run `ros-build serve build/netboot` there; it prints the address)');
    const cloudConfigPath = flags.cloudConfig ? await validateCloudConfig(flags.cloudConfig) : undefined;
    const env = await prepareEnv(flags);
    const options = resolveNetbootOptions(env, { ...flags, url: flags.url, cloudConfigPath });
    const { state } = await withBundle(env, flags, (bundle) => runPlan(createNetbootPlan(env, { ...options, bundle }), createReporter()));
    const image = outputOf<ImageOutput>(state, 'image');
    const files = outputOf<ArtifactOutput[]>(state, 'netboot');
    const manifest = await recordMedia(env, image, files);
    process.stdout.write(`${options.outDir}\n`);
    process.stderr.write(`manifest: ${manifest}\nserve it with: ros-build serve ${options.outDir}\n`);
  });

  addSpecOptions(
    addBundleOptions(addSigningOptions(program
      .command('disk')
      .description('build the OS image (or use --image) and installed-system disk images: A/B squashfs, recovery, GRUB for BIOS and UEFI')
      .option('--image <name>', 'make the disks from this image (built FROM the OS image) instead of building the spec')
      .option('--cloud-config <file>', 'put this cloud-config on COS_OEM (/oem/cloud-config.yaml, mode 0600)')
      .option('--format <names>', `comma-separated formats: ${DISK_FORMAT_NAMES.join(', ')} (default: artifacts.disk.formats)`)
      .option('--size <size>', 'total disk size, e.g. 8GiB (default: artifacts.disk.size, else the smallest that fits)')
      .option('--output <path>', 'output path without extension (default: build/<artifacts.disk.name>)')), 'COS_OEM (/oem/bundle)'),
  ).action(async (flags: SpecFlags & SigningFlags & BundleFlags & { image?: string; cloudConfig?: string; format?: string; size?: string; output?: string }) => {
    const cloudConfigPath = flags.cloudConfig ? await validateCloudConfig(flags.cloudConfig) : undefined;
    const signing = await resolveSigningKeys(flags.secureBootKey, flags.secureBootCert);
    const env = await prepareEnv(flags);
    const options = resolveDiskOptions(env, { ...flags, cloudConfigPath, signing });
    // Every tool the disk and its formats need, before anything is built.
    await checkFormatTools([DISK_BUILDER, ...options.formats]);
    const { state } = await withBundle(env, flags, (bundle) => runPlan(createDiskPlan(env, { ...options, bundle }), createReporter()));
    const image = outputOf<ImageOutput>(state, 'image');
    const disks = outputOf<ArtifactOutput[]>(state, 'disk');
    const manifest = await recordMedia(env, image, disks);
    for (const disk of disks) process.stdout.write(`${disk.path}\n`);
    process.stderr.write(`manifest: ${manifest}\n`);
  });
}
