/**
 * Retry schedule of the notification outbox, stated here once. Pure: the worker persists the
 * answer in `outbox.next_attempt_at`, so retries survive restarts and no process sleeps between
 * attempts.
 *
 * The schedule: 5 s after the first failure, doubling (10 s, 20 s, … 42 min 40 s), then every hour,
 * each delay spread by ±20 % so receivers that failed together are not all retried in one instant.
 * A notification is given up once the nominal delays so far add up to a day: with the defaults
 * that is after 33 failed attempts, 10 of them in the first ~1.4 h and then one an hour (an
 * outage of a receiver shorter than a day loses nothing). Counting nominal delays (not the wall
 * clock since queueing) keeps the decision a function of the attempt number alone, so a re-sent
 * notification (attempts back to 0) gets a fresh day.
 */
export interface BackoffPolicy {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** No delay is longer than this. */
  capMs: number;
  /** Give up once the nominal delays after the failed attempts so far add up to this. */
  giveUpAfterMs: number;
  /** Relative jitter: each delay is spread uniformly over ±jitter of its nominal value. */
  jitter: number;
}

const HOUR_MS = 3_600_000;

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: HOUR_MS, giveUpAfterMs: 24 * HOUR_MS, jitter: 0.2 };

export type RetryDecision = { giveUp: true } | { giveUp: false; delayMs: number };

/** Nominal (unjittered) delay after failed attempt number `attempt` (1-based): base, 2·base, 4·base, … capped. */
function nominalDelayMs(attempt: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2 ** exponent overflows to Infinity for huge attempts; min() still answers the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/**
 * Delay before the attempt following failed attempt number `attempt` (1-based), with jitter.
 * `random` returns a number in [0, 1).
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const nominal = nominalDelayMs(attempt, policy);
  const factor = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.max(1, Math.round(Math.min(policy.capMs, nominal * factor)));
}

/** Failed attempts after which a notification is given up: the first n whose nominal delays reach `giveUpAfterMs`. */
export function attemptsBeforeGivingUp(policy: BackoffPolicy): number {
  let total = 0;
  let attempt = 0;
  while (total < policy.giveUpAfterMs) {
    attempt += 1;
    total += nominalDelayMs(attempt, policy);
  }
  return Math.max(1, attempt);
}

/** What to do after failed attempt number `attempt` (1-based). */
export function nextRetry(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): RetryDecision {
  if (attempt >= attemptsBeforeGivingUp(policy)) return { giveUp: true };
  return { giveUp: false, delayMs: retryDelayMs(attempt, policy, random) };
}
