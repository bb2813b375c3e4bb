/**
 * The SQL of the stream processor: load and save its checkpoint and per-organisation progress
 * (watermark, too-late count, watermark sources), add counters, merge sketches. Every function
 * runs inside the caller's transaction.
 */
import { sql } from 'kysely';
import type { BusCheckpoint } from '../../platform/bus/index.js';
import { isoOf, pgArray, type Db } from '../../platform/store/index.js';
import { streamDb } from './tables.js';
import { emptyHosts, emptyLatency, mergeHosts, mergeLatency } from './sketch.js';
import { SourceBook, type SourceProgress } from './sources.js';
import type { CountRow, OrgProgress, SketchDelta } from './traffic-aggregate.js';

const iso = isoOf;

/**
 * The highest log_events id handed out so far (0 before any). Read holding the checkpoint's lock,
 * it is the last row of the batches committed so far: every batch inserts holding it.
 */
const LAST_EVENT_ID = sql<string>`coalesce(pg_sequence_last_value('log_events_id_seq'::regclass), 0)`;

/** Creates the consumer's checkpoint row if it has none (once, at processor start). */
export async function createCheckpoint(db: Db, consumer: string): Promise<void> {
  await streamDb(db)
    .insertInto('stream_checkpoints')
    // Events stored before the consumer existed are not its to count (see counted_id, migration 022).
    .values({ consumer, position: JSON.stringify({ epoch: '', floor: 0, done: [] }), counted_id: LAST_EVENT_ID })
    .onConflict((oc) => oc.column('consumer').doNothing())
    .execute();
}

export interface LockedCheckpoint {
  /** Null before the first batch. */
  position: BusCheckpoint | null;
  /** Commits so far: unchanged since a processor's own last commit means no other instance wrote in between. */
  version: number;
  /** The version through which the statistics tables include every batch; below `version`, the batches after it are counted only in some processor's memory, or nowhere. */
  countedVersion: number;
  /** The highest log_events id the statistics tables include: the uncounted batches' events are the rows above it. */
  countedId: number;
}

/** Locks the consumer's checkpoint row so instances take turns. */
export async function lockCheckpoint(trx: Db, consumer: string): Promise<LockedCheckpoint> {
  const row = await streamDb(trx)
    .selectFrom('stream_checkpoints')
    .select(['position', 'version', 'counted_version', 'counted_id'])
    .where('consumer', '=', consumer)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return {
    position: row.position.epoch === '' ? null : row.position,
    version: Number(row.version),
    countedVersion: Number(row.counted_version),
    countedId: Number(row.counted_id),
  };
}

/**
 * Saves the position and adds one to the version (every commit that writes the checkpoint does, so
 * that no other instance's memory of it stays valid); returns the new version. `counted`: this
 * commit also wrote the statistics of every batch so far, this one included (the caller holds the
 * lock, so they end at the last event id handed out).
 */
export async function saveCheckpoint(trx: Db, consumer: string, position: BusCheckpoint, counted = false): Promise<number> {
  const row = await streamDb(trx)
    .updateTable('stream_checkpoints')
    .set((eb) => ({
      position: JSON.stringify(position),
      updated_at: new Date(),
      version: eb('version', '+', 1),
      ...(counted ? { counted_version: eb('version', '+', 1), counted_id: LAST_EVENT_ID } : {}),
    }))
    .where('consumer', '=', consumer)
    .returning('version')
    .executeTakeFirstOrThrow();
  return Number(row.version);
}

export async function loadProgress(trx: Db, consumer: string, orgIds: readonly string[]): Promise<Map<string, OrgProgress>> {
  const progress = new Map<string, OrgProgress>();
  if (orgIds.length === 0) return progress;
  const [rows, sources] = await Promise.all([
    streamDb(trx).selectFrom('stream_progress').selectAll().where('consumer', '=', consumer).where('org_id', 'in', orgIds).execute(),
    streamDb(trx).selectFrom('stream_sources').select(['org_id', 'source', 'max_ts', 'last_received_at']).where('consumer', '=', consumer).where('org_id', 'in', orgIds).execute(),
  ]);
  const named = new Map<string, [string, SourceProgress][]>();
  for (const s of sources) {
    let list = named.get(s.org_id);
    if (!list) named.set(s.org_id, (list = []));
    list.push([s.source, { maxTs: Number(s.max_ts), lastReceivedAt: Number(s.last_received_at) }]);
  }
  for (const r of rows) {
    const fold = r.fold_max_ts !== null && r.fold_received_at !== null ? { maxTs: Number(r.fold_max_ts), lastReceivedAt: Number(r.fold_received_at) } : null;
    progress.set(r.org_id, {
      watermark: r.watermark ? r.watermark.getTime() : null,
      sources: SourceBook.of(named.get(r.org_id) ?? [], fold),
      tooLate: Number(r.too_late),
    });
  }
  return progress;
}

/** Writes the organisations' watermarks and counts, and of their sources only what changed in this batch's copy of the book. */
export async function saveProgress(trx: Db, consumer: string, progress: ReadonlyMap<string, OrgProgress>): Promise<void> {
  if (progress.size === 0) return;
  const values = [...progress].map(([orgId, p]) => ({
    consumer,
    org_id: orgId,
    watermark: p.watermark === null ? null : iso(p.watermark),
    too_late: p.tooLate,
    fold_max_ts: p.sources.fold?.maxTs ?? null,
    fold_received_at: p.sources.fold?.lastReceivedAt ?? null,
    updated_at: new Date(),
  }));
  await streamDb(trx)
    .insertInto('stream_progress')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['consumer', 'org_id']).doUpdateSet((eb) => ({
        watermark: eb.ref('excluded.watermark'),
        too_late: eb.ref('excluded.too_late'),
        fold_max_ts: eb.ref('excluded.fold_max_ts'),
        fold_received_at: eb.ref('excluded.fold_received_at'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
  const dropped: { orgId: string; source: string }[] = [];
  const changed: { orgId: string; source: string; s: SourceProgress }[] = [];
  for (const [orgId, p] of progress) {
    for (const source of p.sources.dropped) dropped.push({ orgId, source });
    for (const source of p.sources.changed) changed.push({ orgId, source, s: p.sources.get(source)! });
  }
  if (dropped.length > 0) {
    await sql`
      DELETE FROM stream_sources t USING unnest(${pgArray(dropped.map((d) => d.orgId))}::uuid[], ${pgArray(dropped.map((d) => d.source))}::text[]) AS k(org_id, source)
      WHERE t.consumer = ${consumer} AND t.org_id = k.org_id AND t.source = k.source`.execute(trx);
  }
  if (changed.length > 0) {
    await sql`
      INSERT INTO stream_sources AS t (consumer, org_id, source, max_ts, last_received_at)
      SELECT ${consumer}, k.* FROM unnest(${pgArray(changed.map((c) => c.orgId))}::uuid[], ${pgArray(changed.map((c) => c.source))}::text[],
        ${pgArray(changed.map((c) => c.s.maxTs))}::float8[], ${pgArray(changed.map((c) => c.s.lastReceivedAt))}::float8[]) AS k(org_id, source, max_ts, last_received_at)
      ON CONFLICT (consumer, org_id, source) DO UPDATE SET max_ts = EXCLUDED.max_ts, last_received_at = EXCLUDED.last_received_at`.execute(trx);
  }
}

/**
 * Ingest takes up to 2^53 − 1 bytes per event, so a bucket's byte total can pass PostgreSQL's bigint
 * maximum: it saturates there instead of failing the batch (whose events would then be set aside
 * as if they were bad). A batch's own total at or above the largest double below the maximum is
 * sent as the maximum itself.
 */
const BIGINT_MAX = '9223372036854775807';
const BYTES_CEILING = 9_223_372_036_854_774_784;

/** Adds the batch's counters to the stored buckets (one statement; keys are unique within a batch). */
export async function addCounts(trx: Db, rows: readonly CountRow[]): Promise<void> {
  if (rows.length === 0) return;
  // Array text made by one join each (pgArray): the driver's element-by-element build was ~3 ms of
  // the processor's main thread per ~1,500-row batch (issue 11 profile).
  const col = (f: (r: CountRow) => string | number) => pgArray(rows.map(f));
  await sql`
    INSERT INTO traffic_counts AS t (org_id, resolution, bucket, service, section, status_class, method, hits, bytes, duration_count, duration_sum_ms)
    SELECT * FROM unnest(${col((r) => r.orgId)}::uuid[], ${col((r) => r.resolution)}::int[], ${col((r) => iso(r.bucket))}::timestamptz[],
      ${col((r) => r.service)}::text[], ${col((r) => r.section)}::text[], ${col((r) => r.statusClass)}::text[], ${col((r) => r.method)}::text[],
      ${col((r) => r.hits)}::bigint[], ${col((r) => (r.bytes >= BYTES_CEILING ? BIGINT_MAX : r.bytes))}::bigint[], ${col((r) => r.durationCount)}::bigint[], ${col((r) => r.durationSumMs)}::float8[])
    ON CONFLICT (org_id, resolution, bucket, service, section, status_class, method) DO UPDATE SET
      hits = t.hits + EXCLUDED.hits,
      bytes = CASE WHEN t.bytes > ${BIGINT_MAX}::bigint - EXCLUDED.bytes THEN ${BIGINT_MAX}::bigint ELSE t.bytes + EXCLUDED.bytes END,
      duration_count = t.duration_count + EXCLUDED.duration_count,
      duration_sum_ms = t.duration_sum_ms + EXCLUDED.duration_sum_ms`.execute(trx);
}

/**
 * Merges the batch's sketches into the stored ones: read, merge in memory, write back. The rows
 * are safe from concurrent writers because processors hold the checkpoint lock.
 */
export async function mergeSketches(trx: Db, deltas: readonly SketchDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const col = (f: (d: SketchDelta) => string | number) => pgArray(deltas.map(f));
  const existing = await sql<{ org_id: string; resolution: number; bucket: Date; hosts: Uint8Array; latency: (string | number)[]; too_late: string | number }>`
    SELECT t.org_id, t.resolution, t.bucket, t.hosts, t.latency, t.too_late
    FROM traffic_sketches t
    JOIN unnest(${col((d) => d.orgId)}::uuid[], ${col((d) => d.resolution)}::int[], ${col((d) => iso(d.bucket))}::timestamptz[]) AS k(org_id, resolution, bucket)
      ON t.org_id = k.org_id AND t.resolution = k.resolution AND t.bucket = k.bucket`.execute(trx);
  const stored = new Map(existing.rows.map((r) => [`${r.org_id}|${r.resolution}|${new Date(r.bucket).getTime()}`, r]));
  for (const d of deltas) {
    const prior = stored.get(`${d.orgId}|${d.resolution}|${d.bucket}`);
    if (prior) {
      // A delta without counted events keeps the stored sketch as it is.
      if (d.hosts) mergeHosts(d.hosts, prior.hosts);
      else d.hosts = prior.hosts;
      if (d.latency) mergeLatency(d.latency, prior.latency);
      else d.latency = prior.latency.map(Number);
      d.tooLate += Number(prior.too_late);
    }
    d.hosts ??= emptyHosts();
    d.latency ??= emptyLatency();
  }
  await sql`
    INSERT INTO traffic_sketches AS t (org_id, resolution, bucket, hosts, latency, too_late)
    SELECT k.org_id, k.resolution, k.bucket, decode(k.hosts, 'hex'), k.latency::bigint[], k.too_late
    FROM unnest(${col((d) => d.orgId)}::uuid[], ${col((d) => d.resolution)}::int[], ${col((d) => iso(d.bucket))}::timestamptz[],
      ${col((d) => Buffer.from(d.hosts!).toString('hex'))}::text[], ${col((d) => `{${d.latency!.join(',')}}`)}::text[], ${col((d) => d.tooLate)}::bigint[])
      AS k(org_id, resolution, bucket, hosts, latency, too_late)
    ON CONFLICT (org_id, resolution, bucket) DO UPDATE SET hosts = EXCLUDED.hosts, latency = EXCLUDED.latency, too_late = EXCLUDED.too_late`.execute(trx);
}
