/**
 * The rule engine, pure: per rule, per group (its group-by values), a sliding window over
 * per-second contributions, advanced one event-time second at a time, and the observations the
 * alert manager needs. No clock, no I/O: the evaluator (live) and the preview feed it the same way.
 *
 * Invariants:
 * - Windows are incremental: each step adds the new second's contribution and subtracts the
 *   seconds leaving the window (kept as a queue of the non-empty seconds), so a step costs the
 *   data of one second plus one comparison per group, whatever the window's length.
 * - The window at second t holds the seconds t-window+1 … t (the console monitor's convention,
 *   stream/clock.ts), so the default rule decides at the same seconds as `vigil monitor`.
 * - A group once seen stays while its window holds data or its instance is active or firing: a
 *   group whose window emptied is a 0 (an absence rule fires), a ratio with nothing to divide is
 *   "no data" (`no_data` decides). A rule without group-by has one group that always exists.
 * - Observations reported (in event-time order): every change of a condition, the second where
 *   `for` elapses for an active instance and where `keep_firing_for` elapses for a cleared firing
 *   one (the manager's instance.ts needs an observation then), and, on `flush()`, the latest
 *   observation of every active or firing instance. The mirror of the instance's state kept here
 *   follows instance.ts#observe exactly, and is part of the snapshot.
 * - Late events: `revise(second)` replaces what a second already in the window contributed with
 *   its revised data (the counts include the late events), so every check still to run counts
 *   them; checks already run, and what they reported, stand (the `vigil monitor` rule). Replacing,
 *   not adding, makes a revision idempotent: applying the same second twice changes nothing.
 * - At most MAX_INSTANCES groups per rule; beyond it the rule fails with a RuleError (the
 *   evaluator marks it in error and the other rules go on).
 */
import type { RuleEventRow } from '../logs/index.js';
import type { SecondCounts } from '../stream/index.js';
import type { RuleSpec } from '../../contracts/alerting.js';
import { durationMs, formatValue, needsRawEvents, renderSummary } from './spec.js';

/** Instances (groups) one rule may have; documented in README "Alert rules". */
export const MAX_INSTANCES = 1000;

/** One traffic_counts row of resolution 1 (its bucket is `second`), as the stream domain reads it. */
export type CountRow = SecondCounts;

/** One raw event of a second (log_events), for what the counts cannot answer, as the logs domain reads it. */
export type RawEvent = RuleEventRow;

/** What one event-time second holds for an organisation. `events` only when a rule needs them. */
export interface SecondData {
  second: number;
  counts: readonly CountRow[];
  events?: readonly RawEvent[];
}

/** One observation for the alert manager (a ConditionReport without the rule's static parts). */
export interface RuleObservation {
  ruleId: string;
  labels: Record<string, string>;
  /** Event time, ms. */
  at: number;
  active: boolean;
  value: number | null;
  reason: string;
  summary: string;
}

export class RuleError extends Error {}

/** The mirror of one instance's state in the manager (instance.ts), kept to know when to report. */
export interface Mirror {
  active: boolean;
  activeSince: number | null;
  firing: boolean;
  clearSince: number | null;
}
/** What the evaluator saves per rule: the groups that are active or firing, by group key. */
export type RuleSnapshot = Record<string, Mirror & { labels: Record<string, string> }>;

const IDLE: Mirror = { active: false, activeSince: null, firing: false, clearSince: null };

/**
 * What one second adds to a group: the (at most two) numbers its metric needs — hits; bytes;
 * 5xx and hits with a status; durations' sum and count — and, for percentiles, the durations.
 * Windows keep only these per second, in packed arrays, so thousands of rules with long windows
 * stay small in memory.
 */
interface Contribution {
  a: number;
  b: number;
  durations: number[] | null;
  /** The group's dimension values, read only when the group is new. */
  value: (dim: string) => string;
}

interface Group {
  labels: Record<string, string>;
  /** Window sums of the metric's two numbers. */
  sumA: number;
  sumB: number;
  /** Sorted durations in the window (duration_percentile only). */
  sorted: number[] | null;
  /** The non-empty seconds in the window, oldest first, with their numbers (and durations). */
  qSecond: number[];
  qA: number[];
  qB: number[];
  qDurations: number[][] | null;
  /** Index of the oldest entry still in the window (shifting arrays is O(n)). */
  head: number;
  mirror: Mirror;
  /** The last evaluation (second, ms; value; condition), and whether it was reported. */
  lastAt: number;
  lastValue: number | null;
  lastActive: boolean;
  lastReported: boolean;
}

const asList = (v: string | string[] | undefined): Set<string> | null => (v === undefined ? null : new Set(Array.isArray(v) ? v : [v]));

const statusClassOf = (status: number | null): string => (status === null ? '' : `${Math.floor(status / 100)}xx`);

function insertSorted(a: number[], v: number): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  a.splice(lo, 0, v);
}
function removeSorted(a: number[], v: number): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  if (a[lo] === v) a.splice(lo, 1);
}

const compare = (op: RuleSpec['op'], v: number, t: number): boolean => {
  switch (op) {
    case '>':
      return v > t;
    case '>=':
      return v >= t;
    case '<':
      return v < t;
    case '<=':
      return v <= t;
    case '==':
      return v === t;
    case '!=':
      return v !== t;
  }
};

/** One rule's windows and instance mirrors. */
export class RuleEngine {
  readonly windowS: number;
  readonly forMs: number;
  readonly keepMs: number;
  readonly rawEvents: boolean;
  private readonly groups = new Map<string, Group>();
  private readonly dims: readonly string[];
  private readonly serviceF: Set<string> | null;
  private readonly sectionF: Set<string> | null;
  private readonly methodF: Set<string> | null;
  private readonly hostF: Set<string> | null;
  private readonly classF: Set<string> | null;
  private readonly statusF: Set<number> | null;
  private readonly withDurations: boolean;
  /** The last second the windows were advanced to (warm or step); -1 before any. */
  private at = -1;

  constructor(
    readonly id: string,
    readonly spec: RuleSpec,
    snapshot: RuleSnapshot = {},
    private readonly maxInstances = MAX_INSTANCES,
  ) {
    this.windowS = Math.max(1, Math.round(durationMs(spec.window) / 1000));
    this.forMs = durationMs(spec.for);
    this.keepMs = durationMs(spec.keep_firing_for);
    this.rawEvents = needsRawEvents(spec);
    this.dims = spec.group_by;
    const f = spec.filters;
    this.serviceF = asList(f.service);
    this.sectionF = asList(f.section);
    this.methodF = asList(f.method);
    this.hostF = asList(f.host);
    const statuses = f.status === undefined ? null : Array.isArray(f.status) ? f.status : [f.status];
    // A status filter is a set of classes ("5xx") and exact statuses (404); exact ones need raw
    // events (needsRawEvents), so on counts only the classes apply.
    this.classF = statuses === null ? null : new Set(statuses.filter((s): s is string => typeof s === 'string'));
    this.statusF = statuses === null ? null : new Set(statuses.filter((s): s is number => typeof s === 'number'));
    this.withDurations = spec.metric === 'duration_percentile';
    for (const [key, m] of Object.entries(snapshot)) {
      const { labels, ...mirror } = m;
      this.groups.set(key, this.newGroup(labels, mirror));
    }
    if (this.dims.length === 0 && !this.groups.has('[]')) this.groups.set('[]', this.newGroup({}, IDLE));
  }

  private newGroup(groupLabels: Record<string, string>, mirror: Mirror): Group {
    const d = this.withDurations;
    return { labels: groupLabels, sumA: 0, sumB: 0, sorted: d ? [] : null, qSecond: [], qA: [], qB: [], qDurations: d ? [] : null, head: 0, mirror: { ...mirror }, lastAt: -1, lastValue: null, lastActive: false, lastReported: true };
  }

  get instances(): number {
    return this.groups.size;
  }

  /** The labels of an instance: the group-by values and the rule's static labels. */
  labelsOf(group: Record<string, string>): Record<string, string> {
    return { ...this.spec.labels, ...group };
  }

  /** The contributions of one second, per group key. */
  private contributions(data: SecondData): Map<string, Contribution> {
    const out = new Map<string, Contribution>();
    const spec = this.spec;
    const metric = spec.metric;
    const dims = this.dims;
    // Group key: the dimensions' values joined (one string per row, no object built per row).
    const at = (value: (dim: string) => string): Contribution => {
      const key = dims.length === 0 ? '[]' : dims.length === 1 ? value(dims[0]!) : dims.map(value).join('\u0000');
      let c = out.get(key);
      if (c === undefined) out.set(key, (c = { a: 0, b: 0, durations: this.withDurations ? [] : null, value }));
      return c;
    };
    if (!this.rawEvents) {
      for (const r of data.counts) {
        if (this.serviceF !== null && !this.serviceF.has(r.service)) continue;
        if (this.sectionF !== null && !this.sectionF.has(r.section)) continue;
        if (this.methodF !== null && !this.methodF.has(r.method)) continue;
        if (this.classF !== null && !this.classF.has(r.statusClass)) continue;
        const c = at((d) => (d === 'section' ? r.section : d === 'service' ? r.service : d === 'status_class' ? r.statusClass : d === 'method' ? r.method : ''));
        switch (metric) {
          case 'error_rate':
            if (r.statusClass === '5xx') c.a += r.hits;
            if (r.statusClass !== '') c.b += r.hits;
            break;
          case 'status_class_count':
            if (r.statusClass === spec.status_class) c.a += r.hits;
            break;
          case 'bytes':
          case 'bytes_per_second':
            c.a += r.bytes;
            break;
          case 'duration_avg':
            c.a += r.durationSumMs;
            c.b += r.durationCount;
            break;
          default:
            c.a += r.hits;
        }
      }
      return out;
    }
    if (data.events === undefined) throw new RuleError('the raw events of the second were not read');
    const f = spec.filters;
    for (const e of data.events) {
      if (metric !== 'matching_events' && !e.request) continue;
      const cls = statusClassOf(e.status);
      if (this.serviceF !== null && !this.serviceF.has(e.service ?? '')) continue;
      if (this.sectionF !== null && !this.sectionF.has(e.section ?? '')) continue;
      if (this.methodF !== null && !this.methodF.has(e.method ?? '')) continue;
      if (this.hostF !== null && !this.hostF.has(e.host ?? '')) continue;
      if (this.classF !== null && !(this.classF.has(cls) || (e.status !== null && this.statusF !== null && this.statusF.has(e.status)))) continue;
      if (f.message !== undefined && !e.message.includes(f.message)) continue;
      if (f.attributes !== undefined && !Object.entries(f.attributes).every(([k, v]) => String(e.attributes[k] ?? '') === v)) continue;
      const c = at((d) => (d === 'section' ? e.section : d === 'service' ? e.service : d === 'status_class' ? cls : d === 'method' ? e.method : d === 'host' ? e.host : null) ?? '');
      switch (metric) {
        case 'error_rate':
          if (cls === '5xx') c.a += 1;
          if (cls !== '') c.b += 1;
          break;
        case 'status_class_count':
          if (cls === spec.status_class) c.a += 1;
          break;
        case 'bytes':
        case 'bytes_per_second':
          c.a += e.bytes ?? 0;
          break;
        case 'duration_avg':
          if (e.durationMs !== null) {
            c.a += e.durationMs;
            c.b += 1;
          }
          break;
        case 'duration_percentile':
          if (e.durationMs !== null) c.durations!.push(e.durationMs);
          break;
        default:
          c.a += 1;
      }
    }
    return out;
  }

  /** The group of a key, created (within MAX_INSTANCES) when new. */
  private groupOf(key: string, c: Contribution): Group {
    let g = this.groups.get(key);
    if (g === undefined) {
      if (this.groups.size >= this.maxInstances) {
        throw new RuleError(`more than ${this.maxInstances} instances (one per ${this.dims.join(', ')} value): narrow the filters or the group_by`);
      }
      const labels: Record<string, string> = {};
      for (const d of this.dims) labels[d] = c.value(d);
      g = this.newGroup(labels, IDLE);
      this.groups.set(key, g);
    }
    return g;
  }

  /** Adds a second's data and drops what leaves the window ending at it. */
  private advance(data: SecondData): void {
    this.at = data.second;
    for (const [key, c] of this.contributions(data)) {
      if (c.a === 0 && c.b === 0 && (c.durations === null || c.durations.length === 0) && this.groups.has(key)) continue;
      const g = this.groupOf(key, c);
      g.qSecond.push(data.second);
      g.qA.push(c.a);
      g.qB.push(c.b);
      g.sumA += c.a;
      g.sumB += c.b;
      if (g.sorted !== null && c.durations !== null) {
        g.qDurations!.push(c.durations);
        for (const d of c.durations) insertSorted(g.sorted, d);
      }
    }
    const floor = data.second - this.windowS;
    for (const g of this.groups.values()) {
      const q = g.qSecond;
      while (g.head < q.length && q[g.head]! <= floor) {
        const i = g.head++;
        g.sumA -= g.qA[i]!;
        g.sumB -= g.qB[i]!;
        if (g.sorted !== null) for (const d of g.qDurations![i]!) removeSorted(g.sorted, d);
      }
      if (g.head === q.length) {
        // Empty window: exact zeros (no float drift from adding and subtracting), arrays reset.
        g.sumA = 0;
        g.sumB = 0;
        if (g.head > 0) {
          g.qSecond = [];
          g.qA = [];
          g.qB = [];
          if (g.qDurations !== null) g.qDurations = [];
          g.head = 0;
        }
      } else if (g.head > 64 && g.head * 2 > q.length) {
        q.splice(0, g.head);
        g.qA.splice(0, g.head);
        g.qB.splice(0, g.head);
        g.qDurations?.splice(0, g.head);
        g.head = 0;
      }
    }
  }

  /**
   * A second already in the window was revised (late events): its contribution to every group is
   * replaced by what `data` (the second's data now, late events included) gives. Nothing is
   * evaluated: the checks still to run see it, those already run stand. A second that has left
   * the window (or is not reached yet) changes nothing. Costs a search per group; late events are rare.
   */
  revise(data: SecondData): void {
    const s = data.second;
    if (s > this.at || s <= this.at - this.windowS) return;
    const fresh = this.contributions(data);
    for (const [key, g] of this.groups) {
      if (!fresh.has(key)) this.replace(g, s, null);
    }
    for (const [key, c] of fresh) {
      if (c.a === 0 && c.b === 0 && (c.durations === null || c.durations.length === 0) && !this.groups.has(key)) continue;
      this.replace(this.groupOf(key, c), s, c);
    }
  }

  /** Sets a group's entry for second `s` (in its window) to `c` (null: nothing), keeping the sums. */
  private replace(g: Group, s: number, c: Contribution | null): void {
    const q = g.qSecond;
    let lo = g.head;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (q[mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    const a = c?.a ?? 0;
    const b = c?.b ?? 0;
    const durations = c?.durations ?? (g.sorted !== null ? [] : null);
    if (lo < q.length && q[lo] === s) {
      g.sumA += a - g.qA[lo]!;
      g.sumB += b - g.qB[lo]!;
      g.qA[lo] = a;
      g.qB[lo] = b;
      if (g.sorted !== null) {
        for (const d of g.qDurations![lo]!) removeSorted(g.sorted, d);
        for (const d of durations ?? []) insertSorted(g.sorted, d);
        g.qDurations![lo] = durations ?? [];
      }
      return;
    }
    if (c === null) return;
    // The group had nothing in that second: a new entry, in order (a splice: rare).
    q.splice(lo, 0, s);
    g.qA.splice(lo, 0, a);
    g.qB.splice(lo, 0, b);
    g.sumA += a;
    g.sumB += b;
    if (g.sorted !== null) {
      g.qDurations!.splice(lo, 0, durations ?? []);
      for (const d of durations ?? []) insertSorted(g.sorted, d);
    }
  }

  /** Rebuilds windows (after a restart or an edit): adds a past second without evaluating it. */
  warm(data: SecondData): void {
    this.advance(data);
  }

  /** The metric over the group's window; null is "no data". */
  valueOf(g: Group): number | null {
    switch (this.spec.metric) {
      case 'requests':
      case 'matching_events':
      case 'status_class_count':
      case 'bytes':
        return g.sumA;
      case 'requests_per_second':
      case 'bytes_per_second':
        return g.sumA / this.windowS;
      case 'error_rate':
      case 'duration_avg':
        return g.sumB > 0 ? g.sumA / g.sumB : null;
      case 'duration_percentile': {
        const a = g.sorted ?? [];
        if (a.length === 0) return null;
        // Nearest rank, as Prometheus' summaries and most log tools compute it.
        const rank = Math.ceil(((this.spec.percentile ?? 50) / 100) * a.length);
        return a[Math.min(a.length, Math.max(1, rank)) - 1]!;
      }
    }
  }

  /**
   * Advances to `data.second` and evaluates every group there; pushes the observations to report
   * (see the invariants above) to `out`. `onValue`, when given, sees every group's value (preview).
   */
  step(data: SecondData, out: RuleObservation[], onValue?: (labels: Record<string, string>, value: number | null, firing: boolean) => void): void {
    this.advance(data);
    const t = data.second * 1000;
    const spec = this.spec;
    for (const [key, g] of this.groups) {
      const value = this.valueOf(g);
      const m = g.mirror;
      const active = value === null ? (spec.no_data === 'alerting' ? true : spec.no_data === 'keep' ? m.active : false) : compare(spec.op, value, spec.threshold);
      let report = false;
      if (active !== m.active) {
        report = true;
        m.active = active;
        if (active) {
          if (m.firing) m.clearSince = null;
          else {
            m.activeSince = t;
            if (this.forMs <= 0) m.firing = true;
          }
        } else if (m.firing) {
          m.clearSince = t;
          if (this.keepMs <= 0) {
            m.firing = false;
            m.clearSince = null;
          }
          m.activeSince = m.firing ? m.activeSince : null;
        } else m.activeSince = null;
      } else if (active && !m.firing && m.activeSince !== null && t - m.activeSince >= this.forMs) {
        report = true;
        m.firing = true;
      } else if (!active && m.firing && m.clearSince !== null && t - m.clearSince >= this.keepMs) {
        report = true;
        m.firing = false;
        m.clearSince = null;
        m.activeSince = null;
      }
      g.lastAt = t;
      g.lastValue = value;
      g.lastActive = active;
      g.lastReported = report;
      if (report) out.push(this.observation(g));
      onValue?.(g.labels, value, m.firing);
      if (this.dims.length > 0 && g.head === g.qSecond.length && !m.active && !m.firing) this.groups.delete(key);
    }
  }

  /** The group's last evaluation in words (built only when reported: the strings cost more than the step). */
  private observation(g: Group): RuleObservation {
    const spec = this.spec;
    const { lastValue: value, lastActive: active } = g;
    const verdict =
      value === null
        ? `no data over ${spec.window} (no_data: ${spec.no_data})`
        : `${formatValue(spec.metric, value)} ${active ? spec.op : `not ${spec.op}`} ${formatValue(spec.metric, spec.threshold)} over ${spec.window}`;
    return { ruleId: this.id, labels: this.labelsOf(g.labels), at: g.lastAt, active, value, reason: `${spec.metric} ${verdict}`, summary: renderSummary(spec, g.labels, value) };
  }

  /** The latest observation of every active or firing instance not reported yet (once per transaction). */
  flush(out: RuleObservation[]): void {
    for (const g of this.groups.values()) {
      if ((g.mirror.active || g.mirror.firing) && g.lastAt >= 0 && !g.lastReported) {
        out.push(this.observation(g));
        g.lastReported = true;
      }
    }
  }

  /** The groups whose instance is active or firing, with their mirror: saved with the position. */
  snapshot(): RuleSnapshot {
    const snap: RuleSnapshot = {};
    for (const [key, g] of this.groups) if (g.mirror.active || g.mirror.firing) snap[key] = { labels: g.labels, ...g.mirror };
    return snap;
  }

  /** Counts of instances by mirrored state (pending = active, not yet firing). */
  counts(): { firing: number; pending: number } {
    let firing = 0;
    let pending = 0;
    for (const g of this.groups.values()) {
      if (g.mirror.firing) firing++;
      else if (g.mirror.active) pending++;
    }
    return { firing, pending };
  }
}
