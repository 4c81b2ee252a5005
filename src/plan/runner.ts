import { openInUseRecord } from '../store/in-use.js';
import { registerCleanup } from '../cleanup.js';
import { StepError, UserError } from '../errors.js';
import type { Reporter } from '../progress/reporter.js';
import type { Plan, PlanState, StepProbe } from './step.js';

export interface StepTiming {
  step: string;
  outcome: 'cached' | 'built';
  seconds: number;
}

/**
 * Run the steps in order (they are listed topologically); each logs its time
 * and whether it came from cache. Every key is recorded as in use the moment
 * it is known, before the step looks at its cached output again in `run`, so
 * a concurrent `ros-build prune` keeps it (see src/store/in-use.ts).
 */
export async function runPlan(plan: Plan, report: Reporter): Promise<{ state: PlanState; timings: StepTiming[] }> {
  const state: PlanState = { keys: new Map(), outputs: new Map() };
  const timings: StepTiming[] = [];
  const inUse = openInUseRecord({ warn: (text) => report({ kind: 'info', text }) });
  const unregister = registerCleanup(() => inUse.release());
  try {
    await runSteps(plan, report, state, timings, (key) => inUse.add(key));
  } finally {
    unregister();
    inUse.release();
  }
  return { state, timings };
}

async function runSteps(plan: Plan, report: Reporter, state: PlanState, timings: StepTiming[], markInUse: (key: string) => void): Promise<void> {
  for (const step of plan.steps) {
    const started = Date.now();
    report({ kind: 'step-start', step: step.name });
    try {
      const probe = await step.probe(state);
      if (probe.key) {
        state.keys.set(step.name, probe.key);
        markInUse(probe.key);
      }
      const { output, detail, key } = await step.run(state, probe, report);
      state.outputs.set(step.name, output);
      // A step whose key needed its own output (a bootstrapped base) learns it now.
      if (key) {
        state.keys.set(step.name, key);
        markInUse(key);
      }
      const outcome = probe.cached ? 'cached' : 'built';
      const seconds = (Date.now() - started) / 1000;
      timings.push({ step: step.name, outcome, seconds });
      report({ kind: 'step-done', step: step.name, seconds, outcome, detail });
    } catch (error) {
      report({ kind: 'step-failed', step: step.name, seconds: (Date.now() - started) / 1000 });
      if (error instanceof StepError || error instanceof UserError) throw error;
      throw new StepError(step.name, (error as Error).message);
    }
  }
}

/** Probe every step without running any: the resolved plan for `ros-build plan`. */
export async function probePlan(plan: Plan): Promise<Array<{ step: string; needs: string[]; probe: StepProbe }>> {
  const state: PlanState = { keys: new Map(), outputs: new Map() };
  const rows = [];
  for (const step of plan.steps) {
    const probe = await step.probe(state);
    if (probe.key) state.keys.set(step.name, probe.key);
    rows.push({ step: step.name, needs: step.needs, probe });
  }
  return rows;
}
