import type { ProgressEvent, Reporter } from './reporter.js';

type Outcome = Extract<ProgressEvent, { kind: 'step-done' }>['outcome'];

/** Run one unit of work outside a plan (a push, a signature) and report it like a plan step. */
export async function runTimed<T>(report: Reporter, step: string, outcome: Outcome, work: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
  const started = Date.now();
  report({ kind: 'step-start', step });
  try {
    const result = await work();
    report({ kind: 'step-done', step, seconds: (Date.now() - started) / 1000, outcome, detail: detail?.(result) });
    return result;
  } catch (error) {
    report({ kind: 'step-failed', step, seconds: (Date.now() - started) / 1000 });
    throw error;
  }
}
