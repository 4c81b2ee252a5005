export interface RetryPolicy {
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, firstDelayMs: 500, maxDelayMs: 8000 };

/** The waits between attempts: doubling from the first delay, capped, one fewer than the attempts. */
export function backoffDelays(policy: RetryPolicy): number[] {
  return Array.from({ length: Math.max(0, policy.attempts - 1) }, (_, i) => Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** i));
}

/** A failure worth another try: the network or a registry that is busy or briefly broken. */
export class TransientError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'TransientError';
  }
}

/**
 * Run `attempt` until it succeeds, retrying only TransientErrors with
 * exponential backoff; the last TransientError is handed to `giveUp`, which
 * turns it into the error the user sees.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  giveUp: (last: TransientError, attempts: number) => Error,
  onRetry?: (error: TransientError, delayMs: number) => void,
): Promise<T> {
  const delays = backoffDelays(policy);
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      const delay = delays[i];
      if (delay === undefined) throw giveUp(error, i + 1);
      onRetry?.(error, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
