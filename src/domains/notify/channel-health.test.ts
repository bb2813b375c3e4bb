import { describe, expect, it } from 'vitest';
import { attemptsBeforeGivingUp, DEFAULT_BACKOFF, retryDelayMs } from './backoff.js';
import { DEFAULT_DISABLE, disableReason, shouldDisable } from './channel-health.js';

const HOUR = 3_600_000;
const now = new Date('2026-01-02T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('channel health', () => {
  it('disables after 20 failures in a row spanning 12 hours, not before', () => {
    expect(shouldDisable({ failures: 20, since: ago(12 * HOUR) }, now, DEFAULT_DISABLE)).toBe(true);
    expect(shouldDisable({ failures: 500, since: ago(12 * HOUR) }, now, DEFAULT_DISABLE)).toBe(true);
    // A burst during a short outage: many failures, no hours.
    expect(shouldDisable({ failures: 500, since: ago(HOUR) }, now, DEFAULT_DISABLE)).toBe(false);
    // Few failures far apart.
    expect(shouldDisable({ failures: 19, since: ago(48 * HOUR) }, now, DEFAULT_DISABLE)).toBe(false);
  });

  it('a dead receiver with a single waiting notification is disabled at its 22nd attempt (12.4 h), before the retries give up', () => {
    const policy = { ...DEFAULT_BACKOFF, jitter: 0 };
    let at = 0;
    let attempt = 1;
    while (!shouldDisable({ failures: attempt, since: new Date(0) }, new Date(at), DEFAULT_DISABLE)) {
      at += retryDelayMs(attempt, policy);
      attempt += 1;
    }
    expect(attempt).toBe(22);
    expect(attempt).toBeLessThan(attemptsBeforeGivingUp(policy));
    expect(at).toBeGreaterThanOrEqual(12 * HOUR);
    expect(at).toBeLessThan(13 * HOUR);
  });

  it('says how many attempts failed since when, and the last error', () => {
    expect(disableReason({ failures: 20, since: new Date('2026-01-01T00:00:00Z') }, 'HTTP 503')).toBe(
      '20 delivery attempts in a row failed since 2026-01-01T00:00:00.000Z; last error: HTTP 503',
    );
    expect(disableReason({ failures: 3, since: new Date('2026-01-01T00:00:00Z') }, null)).toBe('3 delivery attempts in a row failed since 2026-01-01T00:00:00.000Z');
  });
});
