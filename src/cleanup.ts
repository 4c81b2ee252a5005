/**
 * Cleanups that must run when the process is interrupted (Ctrl-C, SIGTERM):
 * temporary containers and partial files. Normal paths clean up in `finally`
 * and unregister; this only covers the signal case. Only programs (the CLI,
 * the benchmarks) take over the signals; a library user such as a test runner
 * keeps its own handling.
 */
type Cleanup = () => Promise<unknown> | unknown;

const cleanups = new Set<Cleanup>();
let installed = false;

export function registerCleanup(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export async function runCleanups(): Promise<void> {
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of pending) {
    try {
      await cleanup();
    } catch {
      // Best effort: one failed cleanup must not keep the others from running.
    }
  }
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // `on`, not `once`: with no listener left, execa's signal-exit hook re-raises the signal and the process dies mid-cleanup.
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`\ninterrupted (${signal}): cleaning up\n`);
      void runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
