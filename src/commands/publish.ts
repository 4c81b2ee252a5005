import type { Command } from 'commander';
import { connectEngine } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { createReporter } from '../progress/reporter.js';
import { pushBuild } from '../publish/push.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../publish/registry/retry.js';
import { loadSpec } from '../spec/load.js';
import { addSpecOptions, toOverrides, type SpecFlags } from './common.js';

export interface RegistryFlags {
  allowHttp?: boolean;
  retries?: string;
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option('--allow-http', 'talk plain HTTP to a registry that is not on loopback (loopback registries may always use it)')
    .option('--retries <n>', 'attempts for each registry request before giving up (backoff doubles from 0.5 s)', String(DEFAULT_RETRY.attempts));
}

export function toRetryPolicy(flags: RegistryFlags): RetryPolicy {
  const attempts = Number(flags.retries ?? DEFAULT_RETRY.attempts);
  if (!Number.isInteger(attempts) || attempts < 1) throw new UserError(`--retries must be a whole number of at least 1, got "${flags.retries}"`, 'for example --retries 4');
  return { ...DEFAULT_RETRY, attempts };
}

export function registerPublishCommands(program: Command): void {
  addRegistryOptions(
    addSpecOptions(
      program
        .command('push')
        .description('push the OS image (REPO:TAG) and its media (as OCI artifacts, REPO:TAG-<format>) to the registry; digests go to build/manifest.json')
        .option('--image-only', 'push the runnable image but not the media'),
    ),
  ).action(async (flags: SpecFlags & RegistryFlags & { imageOnly?: boolean }) => {
    const spec = loadSpec(flags.spec, toOverrides(flags));
    const docker = await connectEngine();
    const manifest = await pushBuild(docker, spec, { allowHttp: Boolean(flags.allowHttp), retry: toRetryPolicy(flags), imageOnly: flags.imageOnly }, createReporter());
    for (const pushed of [manifest.image?.pushed, ...manifest.artifacts.map((a) => a.pushed)]) {
      if (pushed) process.stdout.write(`${pushed.reference}@${pushed.digest}\n`);
    }
  });
}
