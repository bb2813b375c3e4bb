/**
 * The SQL of the stream processor: load and save its checkpoint and per-organisation progress,
 * add counters, merge sketches. Every function runs inside the caller's transaction.
 */
import { sql } from 'kysely';
import type { BusCheckpoint } from '../../platform/bus/index.js';
import { isoOf, pgText, type Db } from '../../platform/store/index.js';
import { mergeHosts, mergeLatency } from './sketch.js';
import type { CountRow, OrgProgress, SketchDelta } from './traffic-aggregate.js';

const iso = isoOf;

/** Creates the consumer's checkpoint row if it has none (once, at processor start). */
export async function createCheckpoint(db: Db, consumer: string): Promise<void> {
  await db
    .insertInto('stream_checkpoints')
    .values({ consumer, position: JSON.stringify({ epoch: '', floor: 0, done: [] }) })
    .onConflict((oc) => oc.column('consumer').doNothing())
    .execute();
}

/** Locks the consumer's checkpoint row so instances take turns; null before the first batch. */
export async function lockCheckpoint(trx: Db, consumer: string): Promise<BusCheckpoint | null> {
  const row = await trx.selectFrom('stream_checkpoints').select('position').where('consumer', '=', consumer).forUpdate().executeTakeFirstOrThrow();
  return row.position.epoch === '' ? null : row.position;
}

export async function saveCheckpoint(trx: Db, consumer: string, position: BusCheckpoint): Promise<void> {
  await trx
    .updateTable('stream_checkpoints')
    .set({ position: JSON.stringify(position), updated_at: new Date() })
    .where('consumer', '=', consumer)
    .execute();
}

export async function loadProgress(trx: Db, consumer: string, orgIds: readonly string[]): Promise<Map<string, OrgProgress>> {
  const progress = new Map<string, OrgProgress>();
  if (orgIds.length === 0) return progress;
  const rows = await trx.selectFrom('stream_progress').selectAll().where('consumer', '=', consumer).where('org_id', 'in', orgIds).execute();
  for (const r of rows) progress.set(r.org_id, { watermark: r.watermark ? r.watermark.getTime() : null, sources: r.sources, tooLate: Number(r.too_late) });
  return progress;
}

export async function saveProgress(trx: Db, consumer: string, progress: ReadonlyMap<string, OrgProgress>): Promise<void> {
  if (progress.size === 0) return;
  const values = [...progress].map(([orgId, p]) => ({
    consumer,
    org_id: orgId,
    watermark: p.watermark === null ? null : iso(p.watermark),
    sources: JSON.stringify(p.sources),
    too_late: p.tooLate,
    updated_at: new Date(),
  }));
  await trx
    .insertInto('stream_progress')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['consumer', 'org_id']).doUpdateSet((eb) => ({
        watermark: eb.ref('excluded.watermark'),
        sources: eb.ref('excluded.sources'),
        too_late: eb.ref('excluded.too_late'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

/** Adds the batch's counters to the stored buckets (one statement; keys are unique within a batch). */
export async function addCounts(trx: Db, rows: readonly CountRow[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (r: CountRow) => T) => rows.map(f);
  await sql`
    INSERT INTO traffic_counts AS t (org_id, resolution, bucket, service, section, status_class, method, hits, bytes, duration_count, duration_sum_ms)
    SELECT * FROM unnest(${col((r) => r.orgId)}::uuid[], ${col((r) => r.resolution)}::int[], ${col((r) => iso(r.bucket))}::timestamptz[],
      ${col((r) => pgText(r.service))}::text[], ${col((r) => pgText(r.section))}::text[], ${col((r) => r.statusClass)}::text[], ${col((r) => pgText(r.method))}::text[],
      ${col((r) => r.hits)}::bigint[], ${col((r) => r.bytes)}::bigint[], ${col((r) => r.durationCount)}::bigint[], ${col((r) => r.durationSumMs)}::float8[])
    ON CONFLICT (org_id, resolution, bucket, service, section, status_class, method) DO UPDATE SET
      hits = t.hits + EXCLUDED.hits,
      bytes = t.bytes + EXCLUDED.bytes,
      duration_count = t.duration_count + EXCLUDED.duration_count,
      duration_sum_ms = t.duration_sum_ms + EXCLUDED.duration_sum_ms`.execute(trx);
}

/**
 * Merges the batch's sketches into the stored ones: read, merge in memory, write back. The rows
 * are safe from concurrent writers because processors hold the checkpoint lock.
 */
export async function mergeSketches(trx: Db, deltas: readonly SketchDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const col = <T>(f: (d: SketchDelta) => T) => deltas.map(f);
  const existing = await sql<{ org_id: string; resolution: number; bucket: Date; hosts: Uint8Array; latency: (string | number)[]; too_late: string | number }>`
    SELECT t.org_id, t.resolution, t.bucket, t.hosts, t.latency, t.too_late
    FROM traffic_sketches t
    JOIN unnest(${col((d) => d.orgId)}::uuid[], ${col((d) => d.resolution)}::int[], ${col((d) => iso(d.bucket))}::timestamptz[]) AS k(org_id, resolution, bucket)
      ON t.org_id = k.org_id AND t.resolution = k.resolution AND t.bucket = k.bucket`.execute(trx);
  const stored = new Map(existing.rows.map((r) => [`${r.org_id}|${r.resolution}|${new Date(r.bucket).getTime()}`, r]));
  for (const d of deltas) {
    const prior = stored.get(`${d.orgId}|${d.resolution}|${d.bucket}`);
    if (!prior) continue;
    mergeHosts(d.hosts, prior.hosts);
    mergeLatency(d.latency, prior.latency);
    d.tooLate += Number(prior.too_late);
  }
  await sql`
    INSERT INTO traffic_sketches AS t (org_id, resolution, bucket, hosts, latency, too_late)
    SELECT k.org_id, k.resolution, k.bucket, decode(k.hosts, 'hex'), k.latency::bigint[], k.too_late
    FROM unnest(${col((d) => d.orgId)}::uuid[], ${col((d) => d.resolution)}::int[], ${col((d) => iso(d.bucket))}::timestamptz[],
      ${col((d) => Buffer.from(d.hosts).toString('hex'))}::text[], ${col((d) => `{${d.latency.join(',')}}`)}::text[], ${col((d) => d.tooLate)}::bigint[])
      AS k(org_id, resolution, bucket, hosts, latency, too_late)
    ON CONFLICT (org_id, resolution, bucket) DO UPDATE SET hosts = EXCLUDED.hosts, latency = EXCLUDED.latency, too_late = EXCLUDED.too_late`.execute(trx);
}
