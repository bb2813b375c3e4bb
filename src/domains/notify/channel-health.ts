/**
 * When a channel whose deliveries keep failing is disabled. Pure; the notifier keeps the streak
 * (`channels.failure_streak`, `channels.failing_since`) in the transaction that records each
 * attempt, and asks this after every failed one.
 *
 * The rule: at least `minFailures` failed delivery attempts in a row (default 20), the first of them
 * at least `minSpanMs` ago (default 12 h); any successful attempt resets the streak. Both are needed:
 * a burst of failures during a short outage (many alerts at once, each retried) reaches 20 in
 * minutes but spans no hours, and two failures a day apart span hours but say little. With the
 * retry schedule (backoff.ts) a dead receiver is disabled about 12.4 h after its first failure even
 * if only one notification is waiting (its 22nd attempt), well before that notification is given up.
 * A disabled channel gets no attempt: its notifications are kept as `skipped` with the reason, to be
 * re-sent once someone re-enables it.
 */
export interface DisablePolicy {
  minFailures: number;
  minSpanMs: number;
}

export const DEFAULT_DISABLE: DisablePolicy = { minFailures: 20, minSpanMs: 12 * 3_600_000 };

export interface FailureStreak {
  /** Failed attempts in a row, the latest included. */
  failures: number;
  /** When the first of them was made. */
  since: Date;
}

export function shouldDisable(streak: FailureStreak, now: Date, policy: DisablePolicy): boolean {
  return streak.failures >= policy.minFailures && now.getTime() - streak.since.getTime() >= policy.minSpanMs;
}

/** The reason stored and shown with a disabled channel. */
export function disableReason(streak: FailureStreak, lastError: string | null): string {
  const base = `${streak.failures} delivery attempts in a row failed since ${streak.since.toISOString()}`;
  return lastError ? `${base}; last error: ${lastError}` : base;
}
