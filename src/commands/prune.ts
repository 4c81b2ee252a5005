import type { Command } from 'commander';
import { collectKeepKeys } from '../cache/keep.js';
import { formatSweepReport } from '../cache/format.js';
import type { PruneScope } from '../cache/prune.js';
import { sweepCache } from '../cache/sweep.js';
import { addSpecOptions, prepareEnv, type SpecFlags } from './common.js';

export function registerPruneCommand(program: Command): void {
  addSpecOptions(
    program
      .command('prune')
      .description(
        'remove the layer images, cache directories and output records no plan of the current spec uses; what running builds use is always kept',
      )
      .option('--all', 'remove everything ros-build made: every ros-build/* layer image and the whole cache directory (never REPO:TAG, base or other images)')
      .option('--dry-run', 'list what would be removed and the space it would free; remove nothing'),
  ).action(async (flags: SpecFlags & { all?: boolean; dryRun?: boolean }) => {
    const env = await prepareEnv(flags);
    // --all needs no keys: it works even when the base image is gone and the spec's keys cannot be computed.
    const scope: PruneScope = flags.all ? { kind: 'all' } : { kind: 'obsolete', keep: await collectKeepKeys(env) };
    const report = await sweepCache(env.docker, {
      cacheDir: env.cacheDir,
      scope,
      protectedRefs: [env.spec.image.ref, env.spec.base.image],
      dryRun: Boolean(flags.dryRun),
    });
    process.stdout.write(formatSweepReport(report));
  });
}
