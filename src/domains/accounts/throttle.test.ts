import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_POLICY, AddressThrottle, addressKey, beginAttempt, lockoutMs, retryAfterSeconds, type ThrottlePolicy, type ThrottleState } from './throttle.js';

const policy: ThrottlePolicy = { freeFailures: 3, baseLockMs: 1000, maxLockMs: 60_000, forgetAfterMs: 3600_000 };

/** Runs failed attempts one after another, each as soon as it is allowed; returns the waits imposed. */
function waitsFor(attempts: number, p: ThrottlePolicy): number[] {
  let state: ThrottleState | undefined;
  let now = 0;
  const waits: number[] = [];
  for (let i = 0; i < attempts; i++) {
    const decision = beginAttempt(state, now, p);
    if (!decision.allowed) {
      waits.push(decision.retryAfterMs);
      now += decision.retryAfterMs;
      i--;
      continue;
    }
    state = decision.next;
  }
  return waits;
}

describe('login throttle policy', () => {
  it('allows the free failures, then locks for a time that doubles up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 12].map((n) => lockoutMs(n, policy))).toEqual([0, 0, 0, 0, 1000, 2000, 4000, 8000, 60_000]);
    expect(waitsFor(10, policy)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
    expect(lockoutMs(10_000, ACCOUNT_POLICY)).toBe(ACCOUNT_POLICY.maxLockMs);
  });

  it('never locks longer than the cap, whatever the history (a back-off, not a permanent lock)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e12 }), (failures, now) => {
        const d = beginAttempt({ failures, lockedUntil: null, lastAttemptAt: now }, now, ACCOUNT_POLICY);
        return d.allowed && (d.next.lockedUntil ?? now) - now <= ACCOUNT_POLICY.maxLockMs;
      }),
    );
  });

  it('refuses while locked, with the time left, and counts nothing then', () => {
    const state = { failures: 5, lockedUntil: 10_000, lastAttemptAt: 8_000 };
    expect(beginAttempt(state, 9_000, policy)).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(beginAttempt(state, 10_000, policy)).toMatchObject({ allowed: true, next: { failures: 6, lockedUntil: 10_000 + 4000 } });
  });

  it('forgets a key that stayed quiet', () => {
    const state = { failures: 50, lockedUntil: 1000, lastAttemptAt: 0 };
    expect(beginAttempt(state, policy.forgetAfterMs + 1, policy)).toMatchObject({ allowed: true, next: { failures: 1, lockedUntil: null } });
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    expect([1, 999, 1000, 1001, 0].map(retryAfterSeconds)).toEqual([1, 1, 1, 2, 1]);
  });
});

describe('AddressThrottle', () => {
  it('locks an address after its free failures; a success forgives only itself', () => {
    const t = new AddressThrottle(policy);
    for (let i = 0; i < 3; i++) expect(t.begin('a', 0).allowed).toBe(true);
    t.succeeded('a'); // 2 failures left
    expect(t.begin('a', 0).allowed).toBe(true); // 3
    expect(t.begin('a', 0).allowed).toBe(true); // 4: locks for 1 s
    expect(t.begin('a', 500)).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(t.begin('b', 500).allowed).toBe(true);
  });

  it('stays bounded, dropping the least recently attempted addresses first', () => {
    const t = new AddressThrottle(policy, 100);
    for (let i = 0; i < 1000; i++) t.begin(`10.0.${i >> 8}.${i & 255}`, i);
    expect(t.size).toBe(100);
  });

  it('forgets quiet addresses as new ones arrive', () => {
    const t = new AddressThrottle(policy);
    t.begin('a', 0);
    t.begin('b', policy.forgetAfterMs + 1);
    expect(t.size).toBe(1);
  });
});

describe('addressKey', () => {
  it('keeps IPv4 addresses and groups IPv6 ones by /64', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::2'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
  });
});
