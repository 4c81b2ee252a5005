/**
 * "Probed in order, the first that answers wins", without making a machine
 * that has no cloud wait once per listed source: every probe starts at
 * once, each with the same budget, and the results are then taken in list
 * order. An earlier source that is still thinking is waited for (it may
 * yet answer and it has priority); a later one that already answered waits
 * its turn. The total wait is therefore bounded by one budget.
 */

export interface ProbeTask<N extends string, T> {
  name: N;
  run: (signal: AbortSignal) => Promise<T>;
}

type Outcome<T> = { answered: true; value: T } | { answered: false; reason: string };

/**
 * Run every task concurrently; return the first in order that answered, and
 * abort the rest. Each task that did not answer, up to the winner, is
 * reported once through `onMiss`. Never rejects.
 */
export async function probeInOrder<N extends string, T>(tasks: readonly ProbeTask<N, T>[], timeoutMs: number, onMiss: (name: N, reason: string) => void): Promise<{ name: N; value: T } | undefined> {
  const running = tasks.map((task) => startTask(task, timeoutMs));
  try {
    for (const { task, outcome } of running) {
      const result = await outcome;
      if (result.answered) return { name: task.name, value: result.value };
      onMiss(task.name, result.reason);
    }
    return undefined;
  } finally {
    for (const { controller } of running) controller.abort(new Error('another data source answered first'));
  }
}

function startTask<N extends string, T>(task: ProbeTask<N, T>, timeoutMs: number): { task: ProbeTask<N, T>; controller: AbortController; outcome: Promise<Outcome<T>> } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  // Started on the next tick so that a task that throws synchronously becomes a miss like any other.
  const work = Promise.resolve().then(() => task.run(controller.signal));
  const outcome = settleUnlessAborted(work, controller.signal).finally(() => clearTimeout(timer));
  return { task, controller, outcome };
}

/**
 * The task's result, or a miss as soon as the signal aborts, whether or not
 * the task notices: a probe stuck somewhere that ignores the signal (a
 * mount, say) must not hold up the walk.
 */
function settleUnlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const onAbort = () => resolve({ answered: false, reason: describeReason(signal.reason) });
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ answered: true, value });
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ answered: false, reason: describeReason(error) });
      },
    );
  });
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
