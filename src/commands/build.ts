import type { Command } from 'commander';
import { createReporter } from '../progress/reporter.js';
import { createBuildPlan, createDiskPlan, createIsoPlan } from '../plan/create.js';
import { resolveDiskOptions } from '../plan/steps/disk.js';
import { resolveIsoOptions } from '../plan/steps/iso.js';
import { checkFormatTools, DISK_FORMAT_NAMES } from '../artifacts/formats/index.js';
import { DISK_BUILDER } from '../artifacts/disk.js';
import { runPlan } from '../plan/runner.js';
import { outputOf } from '../plan/step.js';
import type { ImageOutput } from '../plan/steps/base.js';
import type { ArtifactOutput } from '../plan/steps/iso.js';
import { updateManifest } from '../outputs/manifest.js';
import { addSpecOptions, prepareEnv, type SpecFlags } from './common.js';
import { dirname } from 'node:path';
import { findSourceRevision } from '../outputs/revision.js';
import { validateCloudConfig } from '../artifacts/iso.js';
import { KEY_PASSWORD_ENV, resolveSigningKeys } from '../artifacts/sign-boot.js';

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

export function registerBuildCommands(program: Command): void {
  addSpecOptions(
    program
      .command('build')
      .description('build the layered OS image (base → layers → overlays) and tag it REPO:TAG'),
  ).action(async (flags: SpecFlags) => {
    const env = await prepareEnv(flags);
    const { state } = await runPlan(createBuildPlan(env), createReporter());
    const image = outputOf<ImageOutput>(state, 'image');
    await updateManifest(env.outputDir, { ...image, revision: await findSourceRevision(dirname(env.spec.specPath)) }, []);
    process.stdout.write(`${image.ref} ${image.id}\n`);
  });

  addSpecOptions(
    addSigningOptions(program
      .command('iso')
      .description('build the OS image (or use --image) and a hybrid BIOS/UEFI live ISO from it')
      .option('--image <name>', 'make the ISO from this image (built FROM the OS image) instead of building the spec')
      .option('--cloud-config <file>', 'embed this cloud-config on the medium (/ros/cloud-config.yaml)')
      .option('--output <file>', 'ISO path (default: build/<artifacts.iso.name>)')),
  ).action(async (flags: SpecFlags & SigningFlags & { image?: string; cloudConfig?: string; output?: string }) => {
    // Checked before anything is built, as for disks.
    const cloudConfigPath = flags.cloudConfig ? await validateCloudConfig(flags.cloudConfig) : undefined;
    const signing = await resolveSigningKeys(flags.secureBootKey, flags.secureBootCert);
    const env = await prepareEnv(flags);
    const { state } = await runPlan(createIsoPlan(env, resolveIsoOptions(env, { ...flags, cloudConfigPath, signing })), createReporter());
    const image = outputOf<ImageOutput>(state, 'image');
    const iso = outputOf<ArtifactOutput>(state, 'iso');
    const revision = await findSourceRevision(dirname(env.spec.specPath));
    const manifest = await updateManifest(env.outputDir, { ...image, revision }, [{ path: iso.path, format: iso.format, size: iso.record.size, sha256: iso.record.sha256 }]);
    process.stdout.write(`${iso.path}\n`);
    process.stderr.write(`manifest: ${manifest}\n`);
  });

  addSpecOptions(
    addSigningOptions(program
      .command('disk')
      .description('build the OS image (or use --image) and installed-system disk images: A/B squashfs, recovery, GRUB for BIOS and UEFI')
      .option('--image <name>', 'make the disks from this image (built FROM the OS image) instead of building the spec')
      .option('--cloud-config <file>', 'put this cloud-config on COS_OEM (/oem/cloud-config.yaml, mode 0600)')
      .option('--format <names>', `comma-separated formats: ${DISK_FORMAT_NAMES.join(', ')} (default: artifacts.disk.formats)`)
      .option('--size <size>', 'total disk size, e.g. 8GiB (default: artifacts.disk.size, else the smallest that fits)')
      .option('--output <path>', 'output path without extension (default: build/<artifacts.disk.name>)')),
  ).action(async (flags: SpecFlags & SigningFlags & { image?: string; cloudConfig?: string; format?: string; size?: string; output?: string }) => {
    const cloudConfigPath = flags.cloudConfig ? await validateCloudConfig(flags.cloudConfig) : undefined;
    const signing = await resolveSigningKeys(flags.secureBootKey, flags.secureBootCert);
    const env = await prepareEnv(flags);
    const options = resolveDiskOptions(env, { ...flags, cloudConfigPath, signing });
    // Every tool the disk and its formats need, before anything is built.
    await checkFormatTools([DISK_BUILDER, ...options.formats]);
    const { state } = await runPlan(createDiskPlan(env, options), createReporter());
    const image = outputOf<ImageOutput>(state, 'image');
    const disks = outputOf<ArtifactOutput[]>(state, 'disk');
    const revision = await findSourceRevision(dirname(env.spec.specPath));
    const manifest = await updateManifest(env.outputDir, { ...image, revision }, disks.map((d) => ({ path: d.path, format: d.format, size: d.record.size, sha256: d.record.sha256 })));
    for (const disk of disks) process.stdout.write(`${disk.path}\n`);
    process.stderr.write(`manifest: ${manifest}\n`);
  });
}
