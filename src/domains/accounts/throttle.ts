import ipaddr from 'ipaddr.js';

/**
 * Login throttling, pure: given what is known about a key (an account or a client address) and the
 * time, decides whether an attempt may run and what is recorded. Following OWASP's guidance on
 * authentication: a few free failures, then a lockout that doubles with every further failure up
 * to a cap — a back-off, never a permanent lock, so an attacker guessing someone's password can
 * delay that user's log-in by at most the cap, not lock them out for good — and a counter that
 * starts afresh after a quiet period.
 *
 * An attempt is counted as a failure when it starts (`begin`) and forgiven if it succeeds, so that
 * concurrent guesses cannot all pass the check before the first of them is counted.
 */

export interface ThrottlePolicy {
  /** Failures allowed before the first lockout. */
  freeFailures: number;
  /** Lockout after the first failure beyond the free ones; each further failure doubles it. */
  baseLockMs: number;
  /** Longest lockout. */
  maxLockMs: number;
  /** A key with no attempt for this long starts again from zero failures. */
  forgetAfterMs: number;
}

/** Per account (e-mail): 5 failures, then 30 s, 1 min, 2 min … up to 15 min; forgotten after a quiet day. */
export const ACCOUNT_POLICY: ThrottlePolicy = { freeFailures: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000, forgetAfterMs: 24 * 3600_000 };

/**
 * Per client address: more free failures, since one office behind NAT shares an address and a
 * password manager mix-up costs several; this is what stops one address from guessing across many
 * accounts (which the per-account count cannot see).
 */
export const ADDRESS_POLICY: ThrottlePolicy = { freeFailures: 20, baseLockMs: 30_000, maxLockMs: 15 * 60_000, forgetAfterMs: 3600_000 };

export interface ThrottleState {
  failures: number;
  lockedUntil: number | null;
  lastAttemptAt: number;
}

export type ThrottleDecision =
  | { allowed: false; retryAfterMs: number }
  | { allowed: true; next: ThrottleState };

/** How long a key stays locked once it has `failures` failures counted. */
export function lockoutMs(failures: number, policy: ThrottlePolicy): number {
  const beyond = failures - policy.freeFailures;
  if (beyond <= 0) return 0;
  // 2 ** beyond grows past any cap long before it overflows; min() keeps it there.
  return Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** Math.min(beyond - 1, 40));
}

/** Whether an attempt may start at `now`; if so, the state with this attempt counted as a failure. */
export function beginAttempt(state: ThrottleState | undefined, now: number, policy: ThrottlePolicy): ThrottleDecision {
  if (state?.lockedUntil != null && state.lockedUntil > now) return { allowed: false, retryAfterMs: state.lockedUntil - now };
  const previous = state && now - state.lastAttemptAt < policy.forgetAfterMs ? state.failures : 0;
  const failures = previous + 1;
  const lock = lockoutMs(failures, policy);
  return { allowed: true, next: { failures, lockedUntil: lock > 0 ? now + lock : null, lastAttemptAt: now } };
}

/** `Retry-After` seconds for a refusal: whole seconds, at least 1. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * The key of a client address: IPv4 addresses as they are, IPv6 ones by their /64 network, since
 * one client (one home or one cloud instance) usually holds a whole /64 and could otherwise take a
 * fresh address for every guess.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/**
 * Per-address throttle in memory (addresses differ between instances behind a load balancer only
 * if the balancer spreads one client over several, which sticky or hashed balancing does not; the
 * per-account lock, which matters most, is in the database). Bounded: the oldest entries go first.
 */
export class AddressThrottle {
  private readonly states = new Map<string, ThrottleState>();

  constructor(
    private readonly policy: ThrottlePolicy = ADDRESS_POLICY,
    private readonly maxEntries = 100_000,
  ) {}

  begin(address: string, now = Date.now()): ThrottleDecision {
    const decision = beginAttempt(this.states.get(address), now, this.policy);
    if (decision.allowed) {
      // Re-inserting moves the key to the end: the Map's order is least recently attempted first.
      this.states.delete(address);
      this.states.set(address, decision.next);
      this.evict(now);
    }
    return decision;
  }

  /**
   * The attempt succeeded: it no longer counts against the address. Earlier failures do: an
   * attacker with one valid account must not be able to wipe its address's record by logging in.
   */
  succeeded(address: string): void {
    const state = this.states.get(address);
    if (!state) return;
    const failures = Math.max(0, state.failures - 1);
    const lock = lockoutMs(failures, this.policy);
    this.states.set(address, { ...state, failures, lockedUntil: lock > 0 ? state.lastAttemptAt + lock : null });
  }

  get size(): number {
    return this.states.size;
  }

  private evict(now: number): void {
    for (const [address, state] of this.states) {
      const stale = now - state.lastAttemptAt >= this.policy.forgetAfterMs && (state.lockedUntil ?? 0) <= now;
      if (!stale && this.states.size <= this.maxEntries) break;
      this.states.delete(address);
    }
  }
}
