import { describe, expect, it, vi } from 'vitest';
import { backoffDelays, DEFAULT_RETRY, TransientError, withRetries, type RetryPolicy } from '../../../src/publish/registry/retry.js';

const FAST: RetryPolicy = { attempts: 4, firstDelayMs: 1, maxDelayMs: 5 };

describe('backoffDelays', () => {
  it('doubles from the first delay, one wait fewer than the attempts', () => {
    expect(backoffDelays({ attempts: 5, firstDelayMs: 100, maxDelayMs: 100_000 })).toEqual([100, 200, 400, 800]);
  });

  it('caps every wait at the maximum', () => {
    expect(backoffDelays({ attempts: 6, firstDelayMs: 500, maxDelayMs: 3000 })).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  it('has no waits for a single attempt (or none)', () => {
    expect(backoffDelays({ attempts: 1, firstDelayMs: 500, maxDelayMs: 8000 })).toEqual([]);
    expect(backoffDelays({ attempts: 0, firstDelayMs: 500, maxDelayMs: 8000 })).toEqual([]);
  });

  it('the default policy tries 4 times, waiting 0.5 s, 1 s and 2 s', () => {
    expect(backoffDelays(DEFAULT_RETRY)).toEqual([500, 1000, 2000]);
  });
});

describe('withRetries', () => {
  it('returns the first success without calling giveUp', async () => {
    const attempt = vi.fn(async () => 'ok');
    const giveUp = vi.fn(() => new Error('gave up'));
    await expect(withRetries(FAST, attempt, giveUp)).resolves.toBe('ok');
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(giveUp).not.toHaveBeenCalled();
  });

  it('retries TransientErrors until an attempt succeeds, reporting each wait', async () => {
    let calls = 0;
    const waits: number[] = [];
    const retried: string[] = [];
    const result = await withRetries(
      FAST,
      async () => {
        calls++;
        if (calls < 3) throw new TransientError(`busy ${calls}`);
        return calls;
      },
      () => new Error('gave up'),
      (error, delay) => {
        retried.push(error.message);
        waits.push(delay);
      },
    );
    expect(result).toBe(3);
    expect(calls).toBe(3);
    expect(waits).toEqual([1, 2]);
    expect(retried).toEqual(['busy 1', 'busy 2']);
  });

  it('gives up after `attempts` calls, handing giveUp the last error and the number of attempts', async () => {
    let calls = 0;
    const giveUp = vi.fn((last: TransientError, attempts: number) => new Error(`gave up after ${attempts}: ${last.message}`));
    await expect(
      withRetries(
        FAST,
        async () => {
          calls++;
          throw new TransientError(`failure ${calls}`);
        },
        giveUp,
      ),
    ).rejects.toThrow('gave up after 4: failure 4');
    expect(calls).toBe(4);
    expect(giveUp).toHaveBeenCalledTimes(1);
    expect(giveUp.mock.calls[0]![0]).toBeInstanceOf(TransientError);
    expect(giveUp.mock.calls[0]![1]).toBe(4);
  });

  it('makes exactly one call with attempts: 1', async () => {
    let calls = 0;
    await expect(
      withRetries(
        { attempts: 1, firstDelayMs: 1, maxDelayMs: 1 },
        async () => {
          calls++;
          throw new TransientError('down');
        },
        (_last, attempts) => new Error(`attempts=${attempts}`),
      ),
    ).rejects.toThrow('attempts=1');
    expect(calls).toBe(1);
  });

  it('does not retry other errors: they propagate at once, unchanged', async () => {
    const original = new Error('401 unauthorized');
    let calls = 0;
    const giveUp = vi.fn(() => new Error('gave up'));
    const onRetry = vi.fn();
    await expect(
      withRetries(
        FAST,
        async () => {
          calls++;
          throw original;
        },
        giveUp,
        onRetry,
      ),
    ).rejects.toBe(original);
    expect(calls).toBe(1);
    expect(giveUp).not.toHaveBeenCalled();
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('stops retrying when a later attempt fails with a non-transient error', async () => {
    let calls = 0;
    await expect(
      withRetries(
        FAST,
        async () => {
          calls++;
          if (calls === 1) throw new TransientError('busy');
          throw new RangeError('bad answer');
        },
        () => new Error('gave up'),
      ),
    ).rejects.toThrow(RangeError);
    expect(calls).toBe(2);
  });

  it('waits between attempts', async () => {
    const started = Date.now();
    await expect(
      withRetries(
        { attempts: 3, firstDelayMs: 20, maxDelayMs: 1000 },
        async () => {
          throw new TransientError('down');
        },
        () => new Error('gave up'),
      ),
    ).rejects.toThrow('gave up');
    // 20 ms + 40 ms of backoff (timers may fire a millisecond early)
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('TransientError keeps its cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new TransientError('network', cause);
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('TransientError');
  });
});
