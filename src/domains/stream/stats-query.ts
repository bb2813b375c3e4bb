/**
 * Reads of the traffic statistics written by the stream processor (`traffic_counts`,
 * `traffic_sketches`, `stream_progress`), summed into the buckets a StatsPlan asks for. Plain
 * SQL through Kysely, the same on PostgreSQL and PGlite; the shaping is in stats-shape.ts.
 */
import { sql, type ExpressionBuilder, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { StatsAnswer } from '../../contracts/stream.js';
import type { Db } from '../../platform/store/index.js';
import { streamDb, type StreamTables } from './tables.js';
import {
  bucketStarts,
  foldSeries,
  perBucketRates,
  summarise,
  topGroups,
  topSections,
  type Series,
  type StatsPlan,
  type StatusTotalRow,
} from './stats-shape.js';

/** The answer of `GET /api/v1/stats`: the contract's type, so what readStats builds is checked against it. */
export type { StatsAnswer };

type CountsQuery = SelectQueryBuilder<StreamTables, 'traffic_counts', object>;
type CountsExpressions = ExpressionBuilder<StreamTables, 'traffic_counts'>;

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** Runs the plan's reads for one organisation and shapes the answer. `nowSeconds` bounds the elapsed time of a range ending in the future. */
export async function readStats(store: Db, orgId: string, plan: StatsPlan, nowSeconds: number): Promise<StatsAnswer> {
  const db = streamDb(store);
  const fromDate = new Date(plan.from * 1000);
  const toDate = new Date(plan.to * 1000);
  const filtered = plan.service !== undefined || plan.section !== undefined;

  const counts = (): CountsQuery => {
    let query = db
      .selectFrom('traffic_counts')
      .where('org_id', '=', orgId)
      .where('resolution', '=', plan.resolution)
      .where('bucket', '>=', fromDate)
      .where('bucket', '<', toDate);
    if (plan.service !== undefined) query = query.where('service', '=', plan.service);
    if (plan.section !== undefined) query = query.where('section', '=', plan.section);
    return query;
  };
  // Stored buckets are whole seconds after 1970, so integer division floors them to the step. The
  // step is a validated integer, inlined so the SELECT and GROUP BY expressions are the same text.
  const bucketStart: RawBuilder<string> = sql<string>`(extract(epoch from bucket)::bigint / ${sql.lit(plan.step)} * ${sql.lit(plan.step)})`;
  const hits = (eb: CountsExpressions) => eb.fn.sum<string>('hits');

  // One scan per (bucket, status class) answers the per-bucket rates, the status totals and, for
  // by=status_class, the series: at most 6 rows per bucket, whatever the traffic.
  const bucketStatusQuery = counts()
    .select((eb) => [
      bucketStart.as('t'),
      'status_class',
      hits(eb).as('hits'),
      eb.fn.sum<string>('bytes').as('bytes'),
      eb.fn.sum<string>('duration_count').as('duration_count'),
      eb.fn.sum<number>('duration_sum_ms').as('duration_sum_ms'),
    ])
    .groupBy([sql`t`, 'status_class'])
    .execute();
  const sectionQuery = counts()
    .select((eb) => ['section', hits(eb).as('hits'), eb.fn.sum<string>('hits').filterWhere('status_class', '=', '5xx').as('errors'), eb.fn.sum<string>('bytes').as('bytes')])
    .groupBy('section')
    .orderBy(sql`sum(hits)`, 'desc')
    .orderBy('section')
    .limit(plan.top)
    .execute();
  const sketchQuery = filtered
    ? Promise.resolve(null)
    : db
        .selectFrom('traffic_sketches')
        .select(['hosts', 'latency', 'too_late'])
        .where('org_id', '=', orgId)
        .where('resolution', '=', plan.sketch.resolution)
        .where('bucket', '>=', new Date(plan.sketch.from * 1000))
        .where('bucket', '<', toDate)
        .execute();
  // One row per processor consumer (instances of one consumer share it): a bucket is final once every consumer has passed it.
  const watermarkQuery = db.selectFrom('stream_progress').select((eb) => eb.fn.min('watermark').as('watermark')).where('org_id', '=', orgId).executeTakeFirst();

  const [bucketStatusRows, sectionRows, sketchRows, progress] = await Promise.all([bucketStatusQuery, sectionQuery, sketchQuery, watermarkQuery]);

  const starts = bucketStarts(plan);
  const cells = bucketStatusRows.map((r) => ({
    t: num(r.t),
    statusClass: r.status_class,
    hits: num(r.hits),
    bytes: num(r.bytes),
    durationCount: num(r.duration_count),
    durationSumMs: num(r.duration_sum_ms),
  }));
  const rates = perBucketRates(
    starts,
    plan.step,
    cells.map((c) => ({ t: c.t, hits: c.hits, withStatus: c.statusClass === '' ? 0 : c.hits, errors: c.statusClass === '5xx' ? c.hits : 0 })),
  );
  const statusTotals = new Map<string, StatusTotalRow>();
  for (const c of cells) {
    const total = statusTotals.get(c.statusClass) ?? { statusClass: c.statusClass, hits: 0, bytes: 0, durationCount: 0, durationSumMs: 0 };
    total.hits += c.hits;
    total.bytes += c.bytes;
    total.durationCount += c.durationCount;
    total.durationSumMs += c.durationSumMs;
    statusTotals.set(c.statusClass, total);
  }
  const sections = sectionRows.map((r) => ({ section: r.section, hits: num(r.hits), errors: num(r.errors), bytes: num(r.bytes) }));

  let series: Series[];
  if (plan.by === 'none') {
    series = foldSeries(starts, plan.step, cells.map((c) => ({ t: c.t, key: 'all', hits: c.hits })), ['all']);
  } else if (plan.by === 'status_class') {
    const keys = topGroups([...statusTotals.values()].map((s) => ({ key: s.statusClass, hits: s.hits })), plan.top);
    series = foldSeries(starts, plan.step, cells.map((c) => ({ t: c.t, key: c.statusClass, hits: c.hits })), keys);
  } else {
    const dimension = plan.by;
    const keys =
      dimension === 'section'
        ? topGroups(sections.map((s) => ({ key: s.section, hits: s.hits })), plan.top)
        : topGroups(
            (
              await counts()
                .select((eb) => [eb.ref(dimension).as('key'), hits(eb).as('hits')])
                .groupBy(dimension)
                .orderBy(sql`sum(hits)`, 'desc')
                .orderBy(dimension)
                .limit(plan.top)
                .execute()
            ).map((r) => ({ key: r.key, hits: num(r.hits) })),
            plan.top,
          );
    // Groups beyond the top N are folded in SQL, so a site with thousands of sections still returns top × points rows.
    const key = keys.length > 0 ? sql<string | null>`case when ${sql.ref(dimension)} in (${sql.join(keys)}) then ${sql.ref(dimension)} end` : sql<string | null>`null::text`;
    const rows = await counts()
      .select((eb) => [bucketStart.as('t'), key.as('key'), hits(eb).as('hits')])
      .groupBy([sql`t`, sql`key`])
      .execute();
    series = foldSeries(
      starts,
      plan.step,
      rows.map((r) => ({ t: num(r.t), key: r.key, hits: num(r.hits) })),
      keys,
    );
  }

  const elapsed = Math.min(plan.to, nowSeconds) - plan.from;
  const totals = summarise(
    [...statusTotals.values()],
    sketchRows?.map((r) => ({ hosts: r.hosts, latency: r.latency, tooLate: num(r.too_late) })) ?? null,
    elapsed,
  );
  const watermark = progress?.watermark ? new Date(progress.watermark as Date | string).toISOString() : null;

  return {
    from: new Date(plan.from * 1000).toISOString(),
    to: new Date(plan.to * 1000).toISOString(),
    step: plan.step,
    resolution: plan.resolution,
    watermark,
    timestamps: starts,
    series,
    requests_per_second: rates.requestsPerSecond,
    error_rate: rates.errorRate,
    totals,
    top_sections: topSections(sections, totals.hits, plan.top),
  };
}
