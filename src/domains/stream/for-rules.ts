/**
 * What the rules domain reads of the stream domain: each organisation's watermark (how far event
 * time is final) and the 1-second traffic counts of a range of seconds. Rules imports stream (its
 * evaluator follows the processor), never the other way round.
 */
import type { Db } from '../../platform/store/index.js';
import { TRAFFIC_CONSUMER } from './processor.js';
import { streamDb } from './tables.js';
import type { CountRow } from './traffic-aggregate.js';

/** The statistics processor's watermark per organisation, epoch ms (null before the first event). */
export async function watermarksOf(db: Db): Promise<Map<string, number | null>> {
  const rows = await streamDb(db).selectFrom('stream_progress').select(['org_id', 'watermark']).where('consumer', '=', TRAFFIC_CONSUMER).execute();
  return new Map(rows.map((r) => [r.org_id, r.watermark === null ? null : r.watermark.getTime()]));
}

/** One `traffic_counts` row of resolution 1 (the processor's CountRow of one organisation); `second` is its bucket, unix seconds. */
export type SecondCounts = Omit<CountRow, 'orgId' | 'resolution' | 'bucket'> & { second: number };

/** The 1-second counts of the seconds `after < s <= through` (unix seconds), oldest first. */
export async function secondCounts(db: Db, orgId: string, after: number, through: number): Promise<SecondCounts[]> {
  const rows = await streamDb(db)
    .selectFrom('traffic_counts')
    .select(['bucket', 'service', 'section', 'status_class', 'method', 'hits', 'bytes', 'duration_count', 'duration_sum_ms'])
    .where('org_id', '=', orgId)
    .where('resolution', '=', 1)
    .where('bucket', '>', new Date(after * 1000))
    .where('bucket', '<=', new Date(through * 1000))
    .orderBy('bucket')
    .execute();
  return rows.map((r) => ({
    second: Math.round(r.bucket.getTime() / 1000),
    service: r.service,
    section: r.section,
    statusClass: r.status_class,
    method: r.method,
    hits: Number(r.hits),
    bytes: Number(r.bytes),
    durationCount: Number(r.duration_count),
    durationSumMs: Number(r.duration_sum_ms),
  }));
}

/** The earliest 1-second bucket of an organisation at or after `from` (unix seconds), or null. */
export async function firstCountedSecond(db: Db, orgId: string, from: number): Promise<number | null> {
  const row = await streamDb(db)
    .selectFrom('traffic_counts')
    .select('bucket')
    .where('org_id', '=', orgId)
    .where('resolution', '=', 1)
    .where('bucket', '>=', new Date(from * 1000))
    .orderBy('bucket')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? null : Math.round(row.bucket.getTime() / 1000);
}

/** Buckets of one resolution whose labels are `after < label <= through` (unix seconds). */
export interface BucketRange {
  resolution: 1 | 10;
  after: number;
  through: number;
}

/**
 * Hits per bucket over a few ranges of buckets, in one read, keyed `resolution:label` (buckets
 * without counts are absent): a cheap checksum the rules compare with what they counted, to find
 * the seconds late events revised. (A rollup of 10 s labelled L holds the seconds L … L+9, written
 * in the same statement as them.)
 */
export async function bucketHits(db: Db, orgId: string, ranges: readonly BucketRange[]): Promise<Map<string, number>> {
  if (ranges.length === 0) return new Map();
  const rows = await streamDb(db)
    .selectFrom('traffic_counts')
    .select(['resolution', 'bucket', (eb) => eb.fn.sum<string | number>('hits').as('hits')])
    .where('org_id', '=', orgId)
    .where((eb) =>
      eb.or(ranges.map((r) => eb.and([eb('resolution', '=', r.resolution), eb('bucket', '>', new Date(r.after * 1000)), eb('bucket', '<=', new Date(r.through * 1000))]))),
    )
    .groupBy(['resolution', 'bucket'])
    .execute();
  return new Map(rows.map((r) => [`${r.resolution}:${Math.round(r.bucket.getTime() / 1000)}`, Number(r.hits)]));
}
