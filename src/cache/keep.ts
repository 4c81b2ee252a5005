/** The keys `ros-build prune` keeps: every key the current spec's plans would use, found by probing them. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { createDiskPlan, createIsoPlan } from '../plan/create.js';
import { resolveDiskOptions } from '../plan/steps/disk.js';
import { resolveIsoOptions } from '../plan/steps/iso.js';
import type { BuildEnv } from '../plan/env.js';
import { probePlan } from '../plan/runner.js';
import type { Plan } from '../plan/step.js';

/** What the spec builds, as plans: add a plan here and prune keeps what it uses. */
export function plansToKeep(env: BuildEnv): Plan[] {
  return [createIsoPlan(env, resolveIsoOptions(env)), createDiskPlan(env, resolveDiskOptions(env))];
}

/**
 * Probe the plans without running them. They see a private scratch cache
 * directory: creating a plan rewrites the generated overlay context under the
 * cache directory, which a build running in the same output directory may be
 * reading at that moment. Keys do not depend on where the cache is.
 */
export async function collectKeepKeys(env: BuildEnv): Promise<Set<string>> {
  const scratch = await mkdtemp(join(tmpdir(), 'ros-build-prune-'));
  try {
    const keys = new Set<string>();
    for (const plan of plansToKeep({ ...env, cacheDir: scratch })) {
      for (const { step, probe } of await probePlan(plan)) {
        if (!probe.key) {
          throw new UserError(
            `cannot tell which caches this spec uses: step "${step}" has no cache key yet (${probe.summary})`,
            'build once with the same flags (ros-build build) so the base image is present, or remove everything ros-build made with ros-build prune --all',
          );
        }
        keys.add(probe.key);
      }
    }
    return keys;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
