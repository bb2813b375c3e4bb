/**
 * One alert instance's life, as a pure function: given the instance's stored state and what its
 * condition showed at one instant, it returns the new state and the transition to record, if any.
 * The manager applies it in the same transaction as the notifications it causes; nothing here
 * reads a clock or a database, so a replay of the same observations gives the same states.
 *
 * Invariants:
 * - An instance is one fingerprint (source + rule or check + labels); it goes
 *   inactive → pending → firing → resolved, and from resolved (or inactive) again on a new occurrence.
 * - `for`: a condition must hold for `forMs` before the instance fires; one that clears while
 *   pending goes back to inactive and is never notified.
 * - keep-firing-for: a firing instance whose condition clears stays firing until the condition has
 *   been clear for `keepFiringForMs` (a flapping metric does not page twice).
 * - Every transition carries its reason and the value that caused it, for the instance's history.
 * - Time is the caller's: event time for log rules (the watermark), wall clock for jobs.
 * - An acknowledgement holds until the instance resolves; a new occurrence starts unacknowledged.
 */

export type InstanceState = 'inactive' | 'pending' | 'firing' | 'resolved';

export interface InstanceTiming {
  /** How long the condition must hold before firing (Prometheus' `for`); 0 fires at once. */
  forMs: number;
  /** How long a firing instance stays firing after its condition clears; 0 resolves at once. */
  keepFiringForMs: number;
}

export interface Instance {
  state: InstanceState;
  /** Since when the condition holds without interruption (pending or firing), else null. */
  activeSince: number | null;
  /** When the instance last started firing; null unless firing. */
  firingSince: number | null;
  /** Firing with its condition clear: since when (keep-firing-for), else null. */
  clearSince: number | null;
  /** The last value observed (e.g. the error rate), null for conditions without one (absence). */
  value: number | null;
  /** When someone acknowledged the current occurrence, else null. */
  acknowledgedAt: number | null;
}

export interface Observation {
  at: number;
  /** Whether the condition holds at `at` (threshold crossed, no data, check down…). */
  active: boolean;
  value: number | null;
  /** Why, in words a user reads in the history ("error rate 3.1 % > 2 %"). */
  reason: string;
}

export interface Transition {
  from: InstanceState;
  to: InstanceState;
  at: number;
  reason: string;
  value: number | null;
}

export interface Decision {
  instance: Instance;
  transition?: Transition;
}

export const NEW_INSTANCE: Instance = { state: 'inactive', activeSince: null, firingSince: null, clearSince: null, value: null, acknowledgedAt: null };

const move = (prev: Instance, next: Instance, o: Observation, reason = o.reason): Decision => ({
  instance: next,
  transition: { from: prev.state, to: next.state, at: o.at, reason, value: o.value },
});

/** Applies one observation of the instance's condition. Observations must come in time order. */
export function observe(prev: Instance, o: Observation, timing: InstanceTiming): Decision {
  const value = o.value;
  switch (prev.state) {
    case 'inactive':
    case 'resolved': {
      if (!o.active) return { instance: { ...prev, value } };
      const started: Instance = { ...NEW_INSTANCE, activeSince: o.at, value };
      if (timing.forMs <= 0) return move(prev, { ...started, state: 'firing', firingSince: o.at }, o);
      return move(prev, { ...started, state: 'pending' }, o);
    }
    case 'pending': {
      if (!o.active) return move(prev, { ...NEW_INSTANCE, value }, o, `cleared before it held for ${timing.forMs / 1000} s: ${o.reason}`);
      const since = prev.activeSince ?? o.at;
      if (o.at - since >= timing.forMs) return move(prev, { ...prev, state: 'firing', firingSince: o.at, value }, o);
      return { instance: { ...prev, value } };
    }
    case 'firing': {
      if (o.active) return { instance: { ...prev, clearSince: null, value } };
      const clearSince = prev.clearSince ?? o.at;
      if (o.at - clearSince >= timing.keepFiringForMs) {
        return move(prev, { ...NEW_INSTANCE, state: 'resolved', value }, o);
      }
      return { instance: { ...prev, clearSince, value } };
    }
  }
}

/** Acknowledges the current occurrence; only a firing instance can be acknowledged. */
export function acknowledge(prev: Instance, at: number): Instance {
  return prev.state === 'firing' && prev.acknowledgedAt === null ? { ...prev, acknowledgedAt: at } : prev;
}
