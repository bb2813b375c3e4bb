import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attemptsBeforeGivingUp, DEFAULT_BACKOFF, nextRetry, retryDelayMs, type BackoffPolicy } from './backoff.js';

const noJitter: BackoffPolicy = { ...DEFAULT_BACKOFF, jitter: 0 };
const HOUR = 3_600_000;

describe('retry backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    const delays = [1, 2, 3, 4, 5, 10, 11, 12, 50].map((n) => retryDelayMs(n, noJitter));
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 2_560_000, HOUR, HOUR, HOUR]);
  });

  it('keeps trying for about a day with the defaults, then gives up', () => {
    const limit = attemptsBeforeGivingUp(DEFAULT_BACKOFF);
    expect(limit).toBe(33);
    let elapsed = 0;
    for (let attempt = 1; attempt < limit; attempt++) {
      const decision = nextRetry(attempt, noJitter);
      expect(decision.giveUp).toBe(false);
      if (!decision.giveUp) elapsed += decision.delayMs;
    }
    expect(nextRetry(limit, noJitter)).toEqual({ giveUp: true });
    // The last attempt comes between 23 and 24 hours after the first one.
    expect(elapsed).toBeGreaterThan(23 * HOUR);
    expect(elapsed).toBeLessThanOrEqual(24 * HOUR);
  });

  it('gives up as soon as the nominal delays reach the limit, and always after at least one attempt', () => {
    const policy = { ...noJitter, baseMs: 100, capMs: 400, giveUpAfterMs: 1_000 }; // 100, 200, 400, 400 → 1100
    expect(attemptsBeforeGivingUp(policy)).toBe(4);
    expect(nextRetry(3, policy)).toEqual({ giveUp: false, delayMs: 400 });
    expect(nextRetry(4, policy)).toEqual({ giveUp: true });
    expect(attemptsBeforeGivingUp({ ...policy, giveUpAfterMs: 0 })).toBe(1);
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
