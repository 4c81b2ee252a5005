import type { Reporter } from '../progress/reporter.js';

/** What a step knows about itself before running: its key and whether its output already exists. */
export interface StepProbe {
  /** Undefined when an input is not known yet (for example a base image still to bootstrap). */
  key?: string;
  cached: boolean;
  /** One line for `ros-build plan`: what it builds and from what. */
  summary: string;
}

/** Keys and outputs of the steps run so far, by step name. */
export interface PlanState {
  keys: Map<string, string>;
  outputs: Map<string, unknown>;
}

export interface Step {
  name: string;
  needs: string[];
  probe(state: PlanState): Promise<StepProbe>;
  /** Produce the output (or load the cached one) and return it. */
  run(state: PlanState, probe: StepProbe, report: Reporter): Promise<StepResult>;
}

export interface StepResult {
  output: unknown;
  detail?: string;
  /** Set when the key could only be known by running (a base image that had to be bootstrapped). */
  key?: string;
}

export interface Plan {
  steps: Step[];
}

export function outputOf<T>(state: PlanState, step: string): T {
  if (!state.outputs.has(step)) throw new Error(`internal: step "${step}" has no output yet`);
  return state.outputs.get(step) as T;
}

export function keyOf(state: PlanState, step: string): string | undefined {
  return state.keys.get(step);
}
