/**
 * Planning and shaping of statistics reads (`GET /api/v1/stats`). Pure: no clock, no I/O.
 *
 * The processor keeps additive counters at four resolutions (1 s, 10 s, 1 min, 1 h) and per-bucket
 * sketches at three (10 s, 1 min, 1 h), each pruned after its own retention. A read picks the
 * coarsest resolution that still draws the requested step exactly, so 30 days read ~720 hourly rows
 * per group instead of 2.6 million seconds, and then sums rows into step-wide buckets.
 */
import { DEFAULT_TOP, MAX_TOP, type StatsDimension, type StatsResolution as ContractResolution } from '../../contracts/stream.js';
import { RESOLUTIONS, SKETCH_RESOLUTIONS } from './traffic-aggregate.js';
import { estimateHosts, emptyHosts, emptyLatency, latencyQuantile, mergeHosts, mergeLatency } from './sketch.js';

/** The resolutions the processor writes (counters at all; sketches — distinct hosts, latency — from 10 s up). */
export const STATS_RESOLUTIONS = RESOLUTIONS;
export type StatsResolution = (typeof STATS_RESOLUTIONS)[number];
// The answer's contract names the same resolutions: a change to one list fails to compile until the other follows.
const sameResolutions: [StatsResolution, ContractResolution] extends [ContractResolution, StatsResolution] ? true : false = true;
void sameResolutions;
export { SKETCH_RESOLUTIONS };

const DAY = 86_400;
/**
 * How long each resolution is kept (seconds): fine buckets serve short chart ranges only, so they
 * go first; hourly ones are kept (a year is 8,760 rows per dimension). Reads choose a resolution
 * by it and the retention job prunes by it (`statsCutoffs`).
 */
export const STATS_RETENTION_SECONDS: Record<StatsResolution, number> = { 1: 2 * DAY, 10: 14 * DAY, 60: 90 * DAY, 3600: Infinity };

/** Per pruned resolution, the bucket start before which statistics rows are deleted. */
export function statsCutoffs(nowMs: number): { resolution: StatsResolution; before: Date }[] {
  return STATS_RESOLUTIONS.filter((r) => Number.isFinite(STATS_RETENTION_SECONDS[r])).map((resolution) => ({
    resolution,
    before: new Date(nowMs - STATS_RETENTION_SECONDS[resolution] * 1000),
  }));
}

export type { StatsDimension };

export const MAX_RANGE_SECONDS = 400 * DAY;
export const MAX_POINTS = 5000;
export { DEFAULT_TOP, MAX_TOP };
/** A range without `from` covers the last hour. */
export const DEFAULT_RANGE_SECONDS = 3600;
/** Default steps aim at no more than this many points: enough detail for a chart ~1,000 px wide. */
const TARGET_POINTS = 400;
/**
 * Steps a default may take, each a multiple of a stored resolution so rows fold exactly. None
 * between 10 minutes and an hour: a 7-day range in 30-minute steps would read 10,080 minute
 * buckets per group (seconds on PostgreSQL), in 1-hour steps 168 hourly ones.
 */
const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 3600, 7200, 10_800, 21_600, 43_200, DAY];

export const STATUS_KEYS = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const;
export type StatusKey = (typeof STATUS_KEYS)[number];
/** The series that holds every group beyond the top N. */
export const OTHER_KEY = 'other';

/** A parameter the caller got wrong; `field` names it (from, to, step, ...). */
export class StatsRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'StatsRequestError';
  }
}

/** The step a range gets when the caller names none: the finest nice step giving at most ~400 points. */
export function defaultStep(rangeSeconds: number): number {
  for (const step of NICE_STEPS) if (rangeSeconds / step <= TARGET_POINTS) return step;
  return Math.ceil(rangeSeconds / TARGET_POINTS / DAY) * DAY;
}

/** Whether rows of this resolution still exist for buckets starting at `fromSeconds`. */
export function retained(resolution: StatsResolution, fromSeconds: number, nowSeconds: number): boolean {
  return fromSeconds >= nowSeconds - STATS_RETENTION_SECONDS[resolution];
}

/**
 * The resolution to read and the step it draws: the coarsest resolution that divides the step and
 * is still kept for `from`. When the step is finer than anything kept that far back (1 s steps 10
 * days ago), the step grows to the finest kept resolution: a coarser answer, not an empty one.
 */
export function chooseResolution(step: number, fromSeconds: number, nowSeconds: number): { resolution: StatsResolution; step: number } {
  const kept = STATS_RESOLUTIONS.filter((r) => retained(r, fromSeconds, nowSeconds));
  const fitting = kept.filter((r) => r <= step && step % r === 0);
  const best = fitting[fitting.length - 1];
  if (best !== undefined) return { resolution: best, step };
  // Hourly rows are kept forever, so `kept` is never empty.
  const finest = kept[0] ?? 3600;
  return { resolution: finest, step: Math.ceil(step / finest) * finest };
}

/**
 * Sketch rows for the totals: the coarsest kept sketch resolution whose buckets tile [from, to)
 * exactly; else the finest kept one, reading the buckets that overlap the range (distinct hosts
 * and percentiles then include at most one bucket's worth of traffic beyond each end).
 */
export function chooseSketchResolution(from: number, to: number, nowSeconds: number): { resolution: number; from: number; exact: boolean } {
  const kept = SKETCH_RESOLUTIONS.filter((r) => retained(r, from, nowSeconds));
  for (const r of [...kept].reverse()) if (from % r === 0 && to % r === 0) return { resolution: r, from, exact: true };
  const finest = kept[0] ?? 3600;
  return { resolution: finest, from: Math.floor(from / finest) * finest, exact: false };
}

export interface StatsRequest {
  /** Unix seconds; default `to` minus one hour. */
  from?: number | undefined;
  /** Unix seconds; default now. */
  to?: number | undefined;
  /** Seconds; default from the range (see defaultStep). */
  step?: number | undefined;
  by?: StatsDimension | undefined;
  top?: number | undefined;
  service?: string | undefined;
  section?: string | undefined;
}

export interface StatsPlan {
  /** Aligned down to the step (unix seconds). */
  from: number;
  /** Aligned up to the step, exclusive (unix seconds). */
  to: number;
  step: number;
  resolution: StatsResolution;
  sketch: { resolution: number; from: number; exact: boolean };
  points: number;
  by: StatsDimension;
  top: number;
  service: string | undefined;
  section: string | undefined;
}

const formatSeconds = (seconds: number) => (seconds % DAY === 0 ? `${seconds / DAY} d` : seconds % 3600 === 0 ? `${seconds / 3600} h` : `${seconds} s`);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * The exclusive end, in 1-second bucket labels, of a range ending at the instant `to`. The
 * processor labels the second holding times in (s − 1, s] as `s` (whole-second access-log stamps
 * land on their own second), so a whole-second `to` in the past ends before label `to`; a `to`
 * within a second, or one reaching the present, includes the second that holds it — the one
 * still filling, where the newest events are.
 */
export function lastSecondEnd(to: number, nowSeconds: number): number {
  return Number.isInteger(to) && to < nowSeconds ? to : Math.ceil(to) + 1;
}

/** Checks a request and decides what to read; throws StatsRequestError naming the bad parameter. */
export function planStats(request: StatsRequest, nowSeconds: number): StatsPlan {
  const to = request.to ?? nowSeconds;
  const from = request.from ?? to - DEFAULT_RANGE_SECONDS;
  if (!(from < to)) throw new StatsRequestError('from', `${iso(from)} is not before to (${iso(to)}): the range must not be empty.`);
  const range = to - from;
  if (range > MAX_RANGE_SECONDS) {
    throw new StatsRequestError('from', `The range from ${iso(from)} to ${iso(to)} spans ${Math.ceil(range / DAY)} days; the most is ${MAX_RANGE_SECONDS / DAY} days.`);
  }
  const requested = request.step ?? defaultStep(range);
  if (!Number.isInteger(requested) || requested < 1) {
    throw new StatsRequestError('step', `must be a whole number of seconds, at least 1 (got ${requested}).`);
  }
  const { resolution, step } = chooseResolution(requested, from, nowSeconds);
  const alignedFrom = Math.floor(from / step) * step;
  const alignedTo = Math.ceil(lastSecondEnd(to, nowSeconds) / step) * step;
  const points = (alignedTo - alignedFrom) / step;
  if (points > MAX_POINTS) {
    const minimum = Math.ceil(range / MAX_POINTS);
    throw new StatsRequestError(
      'step',
      `A step of ${formatSeconds(step)} over ${formatSeconds(range)} gives ${points.toLocaleString('en')} points; the most is ${MAX_POINTS.toLocaleString('en')}. Use a step of at least ${minimum} s, or leave step out for a default.`,
    );
  }
  const top = request.top ?? DEFAULT_TOP;
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) throw new StatsRequestError('top', `must be a whole number from 1 to ${MAX_TOP} (got ${top}).`);
  return {
    from: alignedFrom,
    to: alignedTo,
    step,
    resolution,
    sketch: chooseSketchResolution(alignedFrom, alignedTo, nowSeconds),
    points,
    by: request.by ?? 'section',
    top,
    service: request.service,
    section: request.section,
  };
}

/** Bucket starts of the plan, oldest first. */
export function bucketStarts(plan: Pick<StatsPlan, 'from' | 'to' | 'step'>): number[] {
  const starts: number[] = [];
  for (let t = plan.from; t < plan.to; t += plan.step) starts.push(t);
  return starts;
}

export interface GroupTotal {
  key: string;
  hits: number;
}

/** The `top` groups with the most hits, most first (ties by key, so answers are stable). */
export function topGroups(totals: readonly GroupTotal[], top: number): string[] {
  return [...totals]
    .filter((g) => g.hits > 0)
    .sort((a, b) => b.hits - a.hits || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, top)
    .map((g) => g.key);
}

export interface BucketGroupHits {
  /** Bucket start, unix seconds (a multiple of the step). */
  t: number;
  /** Group value; null or a key outside `keys` is folded into "other". */
  key: string | null;
  hits: number;
}

export interface Series {
  key: string;
  /** True for the series that folds every group beyond the top N. */
  other: boolean;
  hits: number[];
}

/**
 * One zero-filled series per top key (in the given order), plus "other" when anything falls
 * outside them; buckets with no rows read 0, not a gap, because no row means no hits.
 */
export function foldSeries(starts: readonly number[], step: number, rows: readonly BucketGroupHits[], keys: readonly string[]): Series[] {
  const first = starts[0] ?? 0;
  const index = new Map(keys.map((k, i) => [k, i]));
  const series: Series[] = keys.map((key) => ({ key, other: false, hits: new Array<number>(starts.length).fill(0) }));
  const other: Series = { key: OTHER_KEY, other: true, hits: new Array<number>(starts.length).fill(0) };
  let anyOther = false;
  for (const row of rows) {
    const slot = Math.floor((row.t - first) / step);
    if (slot < 0 || slot >= starts.length) continue;
    const at = row.key === null ? undefined : index.get(row.key);
    const target = at === undefined ? other : series[at]!;
    if (at === undefined && row.hits > 0) anyOther = true;
    target.hits[slot]! += row.hits;
  }
  return anyOther ? [...series, other] : series;
}

export interface BucketStatus {
  t: number;
  hits: number;
  /** Hits that carry an HTTP status. */
  withStatus: number;
  /** 5xx hits. */
  errors: number;
}

/**
 * Requests per second and error rate per bucket. Error rate = 5xx hits / hits with a status;
 * null where no request with a status fell in the bucket (no traffic is not 0 % errors).
 */
export function perBucketRates(starts: readonly number[], step: number, rows: readonly BucketStatus[]): { requestsPerSecond: number[]; errorRate: (number | null)[] } {
  const first = starts[0] ?? 0;
  const hits = new Array<number>(starts.length).fill(0);
  const withStatus = new Array<number>(starts.length).fill(0);
  const errors = new Array<number>(starts.length).fill(0);
  for (const row of rows) {
    const slot = Math.floor((row.t - first) / step);
    if (slot < 0 || slot >= starts.length) continue;
    hits[slot]! += row.hits;
    withStatus[slot]! += row.withStatus;
    errors[slot]! += row.errors;
  }
  return {
    requestsPerSecond: hits.map((h) => h / step),
    errorRate: withStatus.map((n, i) => (n > 0 ? errors[i]! / n : null)),
  };
}

export interface StatusTotalRow {
  /** '1xx'…'5xx', or '' for events without a status. */
  statusClass: string;
  hits: number;
  bytes: number;
  durationCount: number;
  durationSumMs: number;
}

export interface SketchRow {
  hosts: Uint8Array;
  latency: readonly (number | string | bigint)[];
  tooLate: number;
}

export interface LatencySummary {
  /** Mean over every request with a duration (exact, from the counters). */
  mean: number | null;
  /** Percentiles from the histogram sketch (~19 % wide slots); null under a service/section filter. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface StatsTotals {
  hits: number;
  requests_per_second: number;
  bytes: number;
  status: Record<StatusKey, number>;
  errors: number;
  error_rate: number | null;
  distinct_hosts: number | null;
  latency_ms: LatencySummary | null;
  too_late: number | null;
}

/**
 * Totals over the range. `elapsedSeconds` is the part of the range that has passed, so the rate
 * of a range ending now is not diluted by the future. `sketches` is null under a service or
 * section filter: sketches are kept per organisation, so they cannot answer for a subset.
 */
export function summarise(statusRows: readonly StatusTotalRow[], sketches: readonly SketchRow[] | null, elapsedSeconds: number): StatsTotals {
  const status = Object.fromEntries(STATUS_KEYS.map((k) => [k, 0])) as Record<StatusKey, number>;
  let hits = 0;
  let bytes = 0;
  let durationCount = 0;
  let durationSum = 0;
  for (const row of statusRows) {
    const key: StatusKey = (STATUS_KEYS as readonly string[]).includes(row.statusClass) ? (row.statusClass as StatusKey) : 'none';
    status[key] += row.hits;
    hits += row.hits;
    bytes += row.bytes;
    durationCount += row.durationCount;
    durationSum += row.durationSumMs;
  }
  const withStatus = hits - status.none;
  const errors = status['5xx'];

  let distinctHosts: number | null = null;
  let tooLate: number | null = null;
  let percentiles: Pick<LatencySummary, 'p50' | 'p90' | 'p99'> = { p50: null, p90: null, p99: null };
  if (sketches) {
    const hosts = emptyHosts();
    const latency = emptyLatency();
    tooLate = 0;
    for (const sketch of sketches) {
      mergeHosts(hosts, sketch.hosts);
      mergeLatency(latency, sketch.latency.map(Number));
      tooLate += sketch.tooLate;
    }
    distinctHosts = estimateHosts(hosts);
    percentiles = { p50: latencyQuantile(latency, 0.5), p90: latencyQuantile(latency, 0.9), p99: latencyQuantile(latency, 0.99) };
  }
  const hasLatency = durationCount > 0 || percentiles.p50 !== null;
  return {
    hits,
    requests_per_second: hits / Math.max(1, elapsedSeconds),
    bytes,
    status,
    errors,
    error_rate: withStatus > 0 ? errors / withStatus : null,
    distinct_hosts: distinctHosts,
    latency_ms: hasLatency ? { mean: durationCount > 0 ? durationSum / durationCount : null, ...percentiles } : null,
    too_late: tooLate,
  };
}

export interface SectionTotalRow {
  section: string;
  hits: number;
  errors: number;
  bytes: number;
}

export interface TopSection {
  section: string;
  hits: number;
  errors: number;
  bytes: number;
  /** Share of all hits in the range (0..1). */
  share: number;
}

export function topSections(rows: readonly SectionTotalRow[], totalHits: number, top: number): TopSection[] {
  const keys = topGroups(
    rows.map((r) => ({ key: r.section, hits: r.hits })),
    top,
  );
  const bySection = new Map(rows.map((r) => [r.section, r]));
  return keys.map((section) => {
    const row = bySection.get(section)!;
    return { section, hits: row.hits, errors: row.errors, bytes: row.bytes, share: totalHits > 0 ? row.hits / totalHits : 0 };
  });
}
