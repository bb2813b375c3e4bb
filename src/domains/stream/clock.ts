/**
 * Event time: 1-second buckets and a watermark. Pure: no clock, no I/O.
 *
 * Conventions (shared by every window in this domain, see README "Window semantics"):
 * - Bucket `s` (an integer, unix seconds) holds the events whose time lies in `(s - 1, s]`, so an
 *   event stamped with a whole second `s` (as access logs are) lands in bucket `s`.
 *   `bucketOf(time) = Math.ceil(time)`.
 * - A window "at time t" of length L holds the buckets `t-L+1 … t`, i.e. the events in `(t-L, t]`.
 * - The watermark is `W = max event time seen - outOfOrder`. Bucket `s` is *final* once `s < W`:
 *   for whole-second logs, an event is on time while it is at most `outOfOrder` seconds older than
 *   the newest event seen.
 * - A final bucket still accepts late events while `s + lateness >= W`; older ones are too late.
 */

export type Arrival = 'on-time' | 'late' | 'too-late';

export function bucketOf(time: number): number {
  return Math.ceil(time);
}

/** Largest `t` with `(t - L, t]` ending on a multiple of `step`: the end of the step holding `second`. */
export function stepEndOf(second: number, step: number): number {
  return Math.ceil(second / step) * step;
}

/**
 * How an event of this time arrives against watermark `w` (seconds), with `lateness` seconds of
 * allowed lateness. Shared by the console monitor (one clock) and the server's processor (the
 * watermark of an organisation's sources).
 */
export function arrivalOf(time: number, w: number, lateness: number): Arrival {
  const s = bucketOf(time);
  if (s >= w) return 'on-time';
  return s + lateness >= w ? 'late' : 'too-late';
}

export interface ClockState {
  outOfOrder: number;
  lateness: number;
  /** Max event time seen, or null before the first event. */
  maxTime: number | null;
}

export class EventClock {
  private maxTime: number | null;

  constructor(
    /** Allowed out-of-orderness in seconds (how far behind the newest event one may still be on time). */
    readonly outOfOrder: number,
    /** Allowed lateness in seconds after a bucket became final. */
    readonly lateness: number,
    maxTime: number | null = null,
  ) {
    this.maxTime = maxTime;
  }

  /** `max event time - outOfOrder`; `-Infinity` before the first event. */
  get watermark(): number {
    return this.maxTime === null ? -Infinity : this.maxTime - this.outOfOrder;
  }

  get max(): number | null {
    return this.maxTime;
  }

  /** The last final bucket (`s < W`), or -Infinity when none is. */
  get lastFinal(): number {
    return Math.ceil(this.watermark) - 1;
  }

  /** How an event of this time arrives, against the watermark before it is observed. */
  classify(time: number): Arrival {
    return arrivalOf(time, this.watermark, this.lateness);
  }

  /** Advances the max event time; returns true when the watermark moved. */
  observe(time: number): boolean {
    if (this.maxTime !== null && time <= this.maxTime) return false;
    this.maxTime = time;
    return true;
  }

  snapshot(): ClockState {
    return { outOfOrder: this.outOfOrder, lateness: this.lateness, maxTime: this.maxTime };
  }

  static restore(state: ClockState): EventClock {
    return new EventClock(state.outOfOrder, state.lateness, state.maxTime);
  }
}
