import type { Command } from 'commander';
import { createBuildPlan, createIsoPlan } from '../plan/create.js';
import { resolveIsoOptions } from '../plan/steps/iso.js';
import { shortKey } from '../plan/keys.js';
import { probePlan } from '../plan/runner.js';
import { addSpecOptions, prepareEnv, type SpecFlags } from './common.js';

export function registerPlanCommand(program: Command): void {
  addSpecOptions(
    program
      .command('plan')
      .description('print the resolved spec and the steps `iso` (or `build`) would run, with cache keys, without running them')
      .argument('[target]', 'iso or build', 'iso')
      .option('--json', 'print JSON'),
  ).action(async (target: string, flags: SpecFlags & { json?: boolean }) => {
    const env = await prepareEnv(flags);
    const plan = target === 'build' ? createBuildPlan(env) : createIsoPlan(env, resolveIsoOptions(env));
    const rows = await probePlan(plan);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ spec: env.spec, steps: rows }, null, 2)}\n`);
      return;
    }
    const { spec } = env;
    process.stdout.write(
      `spec:    ${spec.specPath}\nimage:   ${spec.image.ref}\nprofile: ${spec.profile}\nsquashfs: ${spec.squashfs.compression}${spec.squashfs.level ? ` level ${spec.squashfs.level}` : ''}\n\n`,
    );
    for (const { step, needs, probe } of rows) {
      const status = probe.cached ? 'cached' : probe.key ? 'build' : 'pending';
      const key = probe.key ? shortKey(probe.key.replace(/^sha256:/, '')) : '-'.repeat(16);
      process.stdout.write(`${status.padEnd(8)} ${key}  ${step.padEnd(16)} ${probe.summary}${needs.length ? `  (after ${needs.join(', ')})` : ''}\n`);
    }
  });
}
