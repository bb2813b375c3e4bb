import { z } from 'zod';
import { EventClock, bucketOf, stepEndOf } from './clock.js';
import { ThresholdAlert, type ThresholdTransition } from './threshold.js';
import { TrafficAggregate, type TrafficEvent, type TrafficSummary } from './traffic-stats.js';

/**
 * The event-time traffic monitor: statistics every `statsInterval` seconds and the high-traffic
 * alert over a sliding `window`, both in event time. Pure: it takes events (in arrival order) and
 * returns decisions; no clock, no I/O. Its state is JSON (`snapshot()` / `TrafficMonitor.restore()`),
 * so it can be checkpointed and resumed. (The server's processor shares the clock rules, `arrivalOf`
 * and `bucketOf`, but keeps its own state as stored rows: traffic-aggregate.ts.)
 *
 * Semantics (written out with examples in README "Window semantics"):
 * - An event of time x lands in bucket `ceil(x)`; the window at time t holds buckets
 *   `t-window+1 … t` (events in `(t-window, t]`), the stats at time t (a multiple of
 *   `statsInterval`) hold buckets `t-statsInterval+1 … t`.
 * - Watermark `W = max event time - outOfOrder`. Bucket s is final once `s < W`. The check at t
 *   (and the stats at t when t is a multiple of the interval) run once bucket t is final, for every
 *   second in order from the first bucket seen; each check compares `hits / window` with the
 *   threshold (see ThresholdAlert).
 * - A late event (bucket already final, `s + lateness >= W`) revises its bucket: it counts in every
 *   check still to run whose window holds it, and the stats of its interval are emitted again
 *   (`revision: true`) at the next advance if they were already emitted. Checks already run are not
 *   re-run: an alert or recovery once printed stands. Older events are counted as too late only.
 * - `end()` declares the input over: every bucket becomes final, checks run up to the last event's
 *   second, and the unfinished stats interval is emitted up to that second.
 * - Quiet stretches (no hits in the interval nor in the window) emit no stats.
 */

export const trafficMonitorConfigSchema = z.object({
  /** Sliding window of the traffic alert, seconds. */
  window: z.number().int().min(1).max(86_400).default(120),
  /** Length of the stats intervals, seconds. */
  statsInterval: z.number().int().min(1).max(86_400).default(10),
  /** Alert when the average over the window exceeds this many requests per second. */
  threshold: z.number().min(0).max(1e12).default(10),
  /** Allowed out-of-orderness, seconds. */
  outOfOrder: z.number().int().min(0).max(86_400).default(5),
  /** Allowed lateness after a bucket is final, seconds. */
  lateness: z.number().int().min(0).max(30 * 86_400).default(300),
  /** How many sections the stats list. */
  top: z.number().int().min(1).max(1000).default(5),
});
export type TrafficMonitorConfig = z.output<typeof trafficMonitorConfigSchema>;
export type TrafficMonitorOptions = z.input<typeof trafficMonitorConfigSchema>;

export interface StatsDecision extends TrafficSummary {
  type: 'stats';
  /** End of the interval: the stats cover `(time - interval, time]`. */
  time: number;
  /** Hits in the alert window `(time - window, time]`. */
  hits: number;
  /** `hits / window`: requests per second over the alert window. */
  average: number;
  /** Seconds covered: `statsInterval`, or fewer for the last interval at the end of the input. */
  interval: number;
  /** Present when these stats replace ones emitted before (late events arrived). */
  revision?: true;
}

/** The traffic monitor's alert: the threshold alert fired or resolved (not the jobs domain's check alert). */
export type TrafficAlertDecision = ThresholdTransition;
export type MonitorDecision = StatsDecision | TrafficAlertDecision;

export interface MonitorCounters {
  /** Events accepted (on time or late). */
  events: number;
  /** Accepted events that arrived after their bucket was final. */
  late: number;
  /** Events older than the allowed lateness: counted here only. */
  tooLate: number;
}

interface Slot {
  end: number;
  agg: TrafficAggregate;
  emitted: boolean;
  /** Changed by a late event after its stats time passed: to be emitted again. */
  dirty: boolean;
}

const NONE: readonly MonitorDecision[] = Object.freeze([]);

const snapshotSchema = z.object({
  version: z.literal(1),
  config: trafficMonitorConfigSchema,
  maxTime: z.number().nullable(),
  firstSecond: z.number().int().nullable(),
  checkedThrough: z.number().int().nullable(),
  windowHits: z.number().int().min(0),
  alert: z.object({ active: z.boolean() }),
  counts: z.array(z.tuple([z.number().int(), z.number().int().min(0)])),
  intervals: z.array(
    z.object({
      end: z.number().int(),
      emitted: z.boolean(),
      dirty: z.boolean(),
      requests: z.number().int().min(0),
      status: z.array(z.number().int().min(0)).length(5),
      bytes: z.number().min(0),
      hosts: z.array(z.string()),
      sections: z.array(z.tuple([z.string(), z.number().int().min(0)])),
      late: z.number().int().min(0),
    }),
  ),
  counters: z.object({ events: z.number().int().min(0), late: z.number().int().min(0), tooLate: z.number().int().min(0) }),
  ended: z.boolean(),
});
export type TrafficMonitorSnapshot = z.infer<typeof snapshotSchema>;

export class TrafficMonitor {
  readonly config: TrafficMonitorConfig;
  // Not readonly: restore() replaces them.
  private clock: EventClock;
  private alert: ThresholdAlert;
  /** Hits per bucket, kept while a check or a revision may still read them. */
  private readonly counts = new Map<number, number>();
  /** Stats intervals by end time, kept while late events may still revise them. */
  private readonly slots = new Map<number, Slot>();
  /** Earliest bucket seen before the checks started: where they start. */
  private firstSecond: number | null = null;
  /** Last second checked; checks run for every second after it once it is final. */
  private checkedThrough: number | null = null;
  /** Hits in `(checkedThrough - window, checkedThrough]`, kept as a running sum. */
  private windowHits = 0;
  private ended = false;
  private readonly tally: MonitorCounters = { events: 0, late: 0, tooLate: 0 };
  private lastCleanup = -Infinity;
  // The hot path's last slot: consecutive events nearly always share it.
  private cachedSlot: Slot | undefined;

  constructor(options: TrafficMonitorOptions = {}) {
    this.config = trafficMonitorConfigSchema.parse(options);
    this.clock = new EventClock(this.config.outOfOrder, this.config.lateness);
    this.alert = new ThresholdAlert(this.config.threshold, this.config.window);
  }

  get watermark(): number {
    return this.clock.watermark;
  }

  /** The last second whose check has run, or null before the first. */
  get checked(): number | null {
    return this.checkedThrough;
  }

  get alertActive(): boolean {
    return this.alert.isActive;
  }

  get counters(): Readonly<MonitorCounters> {
    return { ...this.tally };
  }

  /**
   * One event, in arrival order. Returns the decisions it caused (often none): the checks and stats
   * of every second that became final, in time order, then revisions.
   */
  push(event: TrafficEvent): readonly MonitorDecision[] {
    if (this.ended) throw new Error('TrafficMonitor: push() after end()');
    const time = event.time;
    if (!Number.isFinite(time)) throw new RangeError(`TrafficMonitor: event time must be a finite number, got ${time}`);
    const arrival = this.clock.classify(time);
    if (arrival === 'too-late') {
      this.tally.tooLate++;
      return NONE;
    }
    const s = bucketOf(time);
    this.tally.events++;
    this.counts.set(s, (this.counts.get(s) ?? 0) + 1);
    const slot = this.slotFor(stepEndOf(s, this.config.statsInterval));
    slot.agg.add(event);
    const checked = this.checkedThrough;
    if (checked === null) {
      if (this.firstSecond === null || s < this.firstSecond) this.firstSecond = s;
    }
    if (arrival === 'late') {
      this.tally.late++;
      slot.agg.late++;
      if (checked !== null) {
        // Final buckets are always checked once checks run, so s <= checked here.
        if (s > checked - this.config.window) this.windowHits++;
        if (slot.end <= checked) slot.dirty = true;
      }
      return NONE;
    }
    if (!this.clock.observe(time)) return NONE;
    const lastFinal = this.clock.lastFinal;
    if (checked !== null && lastFinal <= checked) return NONE;
    return this.advanceTo(lastFinal);
  }

  /** Convenience for a batch: the decisions of every event, concatenated. */
  pushAll(events: Iterable<TrafficEvent>): MonitorDecision[] {
    const out: MonitorDecision[] = [];
    for (const e of events) for (const d of this.push(e)) out.push(d);
    return out;
  }

  /**
   * The input is over (end of file): every bucket becomes final, checks run through the last
   * event's second and the unfinished stats interval is emitted up to it. Idempotent.
   */
  end(): readonly MonitorDecision[] {
    if (this.ended) return NONE;
    this.ended = true;
    const max = this.clock.max;
    if (max === null) return NONE;
    const last = bucketOf(max);
    const out = [...this.advanceTo(last)];
    const { statsInterval } = this.config;
    const end = stepEndOf(last, statsInterval);
    if (end !== last && this.checkedThrough === last) {
      const from = end - statsInterval;
      this.emitStats(this.slots.get(end), last, last - from, this.windowHits, out, false);
    }
    return out;
  }

  private slotFor(end: number): Slot {
    const cached = this.cachedSlot;
    if (cached !== undefined && cached.end === end) return cached;
    let slot = this.slots.get(end);
    if (slot === undefined) {
      slot = { end, agg: new TrafficAggregate(), emitted: false, dirty: false };
      this.slots.set(end, slot);
    }
    this.cachedSlot = slot;
    return slot;
  }

  /** Runs the checks (and stats) of every second up to `lastFinal`, then pending revisions. */
  private advanceTo(lastFinal: number): readonly MonitorDecision[] {
    if (this.checkedThrough === null) {
      if (this.firstSecond === null || this.firstSecond > lastFinal) return NONE;
      // Every bucket seen is >= firstSecond, so the window before it is empty.
      this.checkedThrough = this.firstSecond - 1;
      this.windowHits = 0;
    }
    const out: MonitorDecision[] = [];
    const { window, statsInterval } = this.config;
    const counts = this.counts;
    let t = this.checkedThrough;
    let hits = this.windowHits;
    while (t < lastFinal) {
      t++;
      hits += (counts.get(t) ?? 0) - (counts.get(t - window) ?? 0);
      if (t % statsInterval === 0) this.emitStats(this.slots.get(t), t, statsInterval, hits, out, false);
      const transition = this.alert.evaluate(t, hits);
      if (transition !== null) out.push(transition);
      if (hits === 0 && t < lastFinal) {
        // Nothing in the window (so no active alert): skip the quiet seconds before the next
        // bucket holding events, but not past the end of an interval that still has stats to emit.
        let jumpTo = Math.min(this.nextBucketAfter(t), lastFinal + 1) - 1;
        const pending = this.slots.get(stepEndOf(t + 1, statsInterval));
        if (pending !== undefined && !pending.emitted) jumpTo = Math.min(jumpTo, pending.end - 1);
        if (jumpTo > t) t = jumpTo;
      }
    }
    this.checkedThrough = t;
    this.windowHits = hits;
    this.emitRevisions(out);
    if (t - this.lastCleanup >= statsInterval) this.cleanup();
    return out.length === 0 ? NONE : out;
  }

  private nextBucketAfter(t: number): number {
    let next = Infinity;
    for (const s of this.counts.keys()) if (s > t && s < next) next = s;
    return next;
  }

  private emitStats(slot: Slot | undefined, time: number, interval: number, hits: number, out: MonitorDecision[], revision: boolean): void {
    if ((slot === undefined || slot.agg.requests === 0) && hits === 0 && !revision) return;
    const summary = (slot?.agg ?? new TrafficAggregate()).summary(this.config.top);
    const stats: StatsDecision = { type: 'stats', time, hits, average: hits / this.config.window, interval, ...summary };
    if (revision) stats.revision = true;
    out.push(stats);
    if (slot !== undefined) {
      slot.emitted = true;
      slot.dirty = false;
    }
  }

  private emitRevisions(out: MonitorDecision[]): void {
    let dirty: Slot[] | undefined;
    for (const slot of this.slots.values()) if (slot.dirty) (dirty ??= []).push(slot);
    if (dirty === undefined) return;
    dirty.sort((a, b) => a.end - b.end);
    const { window, statsInterval } = this.config;
    for (const slot of dirty) {
      let hits = 0;
      for (let s = slot.end - window + 1; s <= slot.end; s++) hits += this.counts.get(s) ?? 0;
      this.emitStats(slot, slot.end, statsInterval, hits, out, true);
    }
  }

  /** Drops buckets and intervals that no check, revision or late event can reach any more. */
  private cleanup(): void {
    const checked = this.checkedThrough;
    if (checked === null) return;
    this.lastCleanup = checked;
    const { window, lateness } = this.config;
    const w = this.clock.watermark;
    // Checks still subtract buckets > checked - window; revisions of intervals a late event may
    // still reach (end >= W - lateness) read buckets > end - window.
    const floor = Math.min(checked - window, Math.floor(w) - lateness - window - 1);
    for (const s of this.counts.keys()) if (s <= floor) this.counts.delete(s);
    for (const slot of this.slots.values()) {
      // A late event reaching this slot has s <= end and s + lateness >= W.
      if (slot.emitted && !slot.dirty && slot.end + lateness < w) {
        this.slots.delete(slot.end);
        if (this.cachedSlot === slot) this.cachedSlot = undefined;
      }
    }
  }

  /** The whole state as JSON-ready data. */
  snapshot(): TrafficMonitorSnapshot {
    return {
      version: 1,
      config: { ...this.config },
      maxTime: this.clock.max,
      firstSecond: this.firstSecond,
      checkedThrough: this.checkedThrough,
      windowHits: this.windowHits,
      alert: this.alert.snapshot(),
      counts: [...this.counts].sort((a, b) => a[0] - b[0]),
      intervals: [...this.slots.values()]
        .sort((a, b) => a.end - b.end)
        .map((slot) => ({ end: slot.end, emitted: slot.emitted, dirty: slot.dirty, ...slot.agg.snapshot() })),
      counters: { ...this.tally },
      ended: this.ended,
    };
  }

  /** A monitor in the state a snapshot recorded (validated: a snapshot is read from storage). */
  static restore(snapshot: unknown): TrafficMonitor {
    const state = snapshotSchema.parse(snapshot);
    const monitor = new TrafficMonitor(state.config);
    monitor.clock = new EventClock(state.config.outOfOrder, state.config.lateness, state.maxTime);
    monitor.alert = new ThresholdAlert(state.config.threshold, state.config.window, state.alert);
    for (const [s, n] of state.counts) monitor.counts.set(s, n);
    for (const { end, emitted, dirty, ...agg } of state.intervals) monitor.slots.set(end, { end, emitted, dirty, agg: TrafficAggregate.restore(agg) });
    monitor.firstSecond = state.firstSecond;
    monitor.checkedThrough = state.checkedThrough;
    monitor.windowHits = state.windowHits;
    monitor.ended = state.ended;
    Object.assign(monitor.tally, state.counters);
    return monitor;
  }
}

