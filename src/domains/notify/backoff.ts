/**
 * Retry schedule of the notification outbox. Pure: the worker persists the answer in
 * `outbox.next_attempt_at`, so retries survive restarts and no process sleeps between attempts.
 */
export interface BackoffPolicy {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** No delay is longer than this. */
  capMs: number;
  /** After this many failed attempts the notification is given up (status 'failed'). */
  maxAttempts: number;
  /** Relative jitter: each delay is spread uniformly over ±jitter of its nominal value. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 3_600_000, maxAttempts: 10, jitter: 0.2 };

export type RetryDecision = { giveUp: true } | { giveUp: false; delayMs: number };

/**
 * Delay before the attempt following failed attempt number `attempt` (1-based):
 * base, 2·base, 4·base, … capped at `capMs`, with jitter so receivers that failed together
 * are not all retried in the same instant. `random` returns a number in [0, 1).
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const nominal = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  const factor = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.max(1, Math.round(Math.min(policy.capMs, nominal * factor)));
}

/** What to do after failed attempt number `attempt` (1-based). */
export function nextRetry(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): RetryDecision {
  if (attempt >= policy.maxAttempts) return { giveUp: true };
  return { giveUp: false, delayMs: retryDelayMs(attempt, policy, random) };
}
