import { estimateHosts, latencyQuantile } from '../sketch.js';
import type { Point } from './line-protocol.js';
import type { Selectable } from 'kysely';
import type { TrafficCountsTable, TrafficSketchesTable } from '../tables.js';

/** One point per 10-second bucket and dimension: the additive counters. */
export const TRAFFIC_MEASUREMENT = 'vigil_traffic';
/** One point per 10-second bucket: what the sketches say (distinct hosts, latency percentiles). */
export const SUMMARY_MEASUREMENT = 'vigil_traffic_summary';

/** A row of `traffic_counts` as the sink reads it (counters: strings from pg, numbers from PGlite). */
export type CountRow = Omit<Selectable<TrafficCountsTable>, 'resolution'>;

/** A row of `traffic_sketches` as the sink reads it. */
export type SketchRow = Pick<Selectable<TrafficSketchesTable>, 'org_id' | 'bucket' | 'hosts' | 'latency'>;

const seconds = (bucket: Date): number => Math.floor(bucket.getTime() / 1000);

/**
 * The bucket's totals as a point. InfluxDB keeps one point per measurement + tag set + timestamp
 * and a later write replaces it, so re-sending a revised bucket overwrites instead of adding.
 * The org is tagged by id, not name: a renamed organisation must not start a second series.
 */
export function countPoint(row: CountRow): Point {
  return {
    measurement: TRAFFIC_MEASUREMENT,
    tags: { org: row.org_id, service: row.service, section: row.section, status_class: row.status_class, method: row.method },
    fields: {
      hits: BigInt(row.hits),
      bytes: BigInt(row.bytes),
      duration_count: BigInt(row.duration_count),
      // A float: the column is one (sub-millisecond upstream times add up to fractions).
      duration_sum_ms: row.duration_sum_ms,
    },
    timestamp: seconds(row.bucket),
  };
}

/** Distinct remote hosts (HyperLogLog estimate) and latency percentiles; percentiles only when measured. */
export function summaryPoint(row: SketchRow): Point {
  const histogram = row.latency.map(Number);
  return {
    measurement: SUMMARY_MEASUREMENT,
    tags: { org: row.org_id },
    fields: {
      hosts: BigInt(Math.round(estimateHosts(row.hosts))),
      latency_p50_ms: latencyQuantile(histogram, 0.5),
      latency_p95_ms: latencyQuantile(histogram, 0.95),
      latency_p99_ms: latencyQuantile(histogram, 0.99),
    },
    timestamp: seconds(row.bucket),
  };
}

/** A bucket's fingerprint: every counted event adds a hit, so any revision changes the sum. */
export interface BucketTotal {
  bucketMs: number;
  /** Sum of hits over the bucket's rows, as a decimal string (exact beyond 2^53). */
  hits: string;
  /** Number of dimension rows: the lines the bucket becomes (plus one summary line). */
  rows: number;
}

/** The buckets whose hits differ from what was last sent (or that were never sent). */
export function changedBuckets(totals: readonly BucketTotal[], sent: ReadonlyMap<number, string>): BucketTotal[] {
  return totals.filter((total) => sent.get(total.bucketMs) !== total.hits);
}

/**
 * Groups consecutive buckets so that each group makes at most `maxLines` lines, and so one
 * request; a bucket bigger than that alone is a group of its own (and is split into several).
 */
export function groupBuckets(buckets: readonly BucketTotal[], maxLines: number): BucketTotal[][] {
  const groups: BucketTotal[][] = [];
  let current: BucketTotal[] = [];
  let lines = 0;
  for (const bucket of buckets) {
    const size = bucket.rows + 1;
    if (current.length > 0 && lines + size > maxLines) {
      groups.push(current);
      current = [];
      lines = 0;
    }
    current.push(bucket);
    lines += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * The buckets (by label, both ends inclusive) to look at for one organisation. A bucket labelled L
 * holds the seconds L … L + R − 1 (traffic-aggregate.ts): it is final once it ended at or before
 * the watermark W (L + R ≤ W), and a late event can still revise it while L + R − 1 + lateness ≥ W.
 * Everything final before `cursor` (the watermark of the last complete pass) was sent, and W only
 * grows, so a revision since then hit a bucket with L ≥ cursor − lateness − R + 1. Without a cursor
 * (after a start) the whole lateness window is looked at again.
 */
export function sendWindow(cursorMs: number | undefined, watermarkMs: number, latenessMs: number, resolutionMs: number): { fromMs: number; toMs: number } {
  const sentUpTo = Math.min(cursorMs ?? watermarkMs, watermarkMs);
  return { fromMs: sentUpTo - latenessMs - resolutionMs, toMs: watermarkMs - resolutionMs };
}

/** Splits lines into requests of at most `size` lines. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
