import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, nextRetry, retryDelayMs, type BackoffPolicy } from './backoff.js';

const noJitter: BackoffPolicy = { ...DEFAULT_BACKOFF, jitter: 0 };

describe('retry backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    const delays = [1, 2, 3, 4, 5, 10, 11, 12, 50].map((n) => retryDelayMs(n, noJitter));
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('gives up after maxAttempts failed attempts', () => {
    const policy = { ...DEFAULT_BACKOFF, maxAttempts: 3 };
    expect(nextRetry(1, policy).giveUp).toBe(false);
    expect(nextRetry(2, policy).giveUp).toBe(false);
    expect(nextRetry(3, policy)).toEqual({ giveUp: true });
  });

  it('keeps jittered delays within ±jitter of the nominal delay and under the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, r) => {
          const policy = { ...DEFAULT_BACKOFF, baseMs };
          const nominal = Math.min(policy.capMs, baseMs * 2 ** (attempt - 1));
          const delay = retryDelayMs(attempt, policy, () => r);
          expect(delay).toBeLessThanOrEqual(policy.capMs);
          expect(delay).toBeGreaterThanOrEqual(Math.max(1, Math.floor(nominal * (1 - policy.jitter))));
          expect(delay).toBeLessThanOrEqual(Math.ceil(nominal * (1 + policy.jitter)));
        },
      ),
    );
  });

  it('spreads retries of notifications that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, DEFAULT_BACKOFF)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
