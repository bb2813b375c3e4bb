import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import { LOG_TOPIC, logMessagesFor, type LogEvent } from '../src/domains/logs/index.js';
import { TRAFFIC_CONSUMER, startStreamProcessor } from '../src/domains/stream/index.js';
import { foldJournal, journalDeltas } from '../src/domains/stream/processor-store.js';
import type { CountRow } from '../src/domains/stream/traffic-aggregate.js';
import { openBus, type EventBus } from '../src/platform/bus/index.js';
import { LiveHub } from '../src/platform/live.js';
import { migrateToLatest, openStore, type Db, type Store } from '../src/platform/store/index.js';
import { STORE_KINDS, eventually, freshPostgresDatabase, storeAvailable } from './support/server.js';

/**
 * The statistics journal (src/domains/stream/traffic-journal.ts): a batch's counter and sketch
 * deltas are committed with its raw events and folded into traffic_counts / traffic_sketches a
 * little later. What must hold: nothing is lost or counted twice, readers' watermark moves only
 * with the counts, and statistics PostgreSQL refuses hold back only their own organisation.
 */

const timing = { outOfOrderMs: 5000, latenessMs: 300_000, idleMs: 60_000 };
const BUCKET = Date.UTC(2026, 11, 1, 12, 0, 0);

const row = (orgId: string, over: Partial<CountRow> = {}): CountRow => ({
  orgId,
  resolution: 1,
  bucket: BUCKET,
  service: 'web',
  section: '/api',
  statusClass: '2xx',
  method: 'GET',
  hits: 1,
  bytes: 100,
  durationCount: 1,
  durationSumMs: 5,
  ...over,
});

const hitsOf = async (db: Db, orgId: string) =>
  Number((await sql<{ n: string | null }>`SELECT sum(hits) AS n FROM traffic_counts WHERE org_id = ${orgId}::uuid AND resolution = 1`.execute(db)).rows[0]!.n ?? 0);
const journalRows = async (db: Db, orgId?: string) =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traffic_journal WHERE ${orgId ? sql`org_id = ${orgId}::uuid` : sql`true`}`.execute(db)).rows[0]!.n);
const countedWatermark = async (db: Db, orgId: string) =>
  (await sql<{ w: Date | null }>`SELECT counted_watermark AS w FROM stream_progress WHERE consumer = ${TRAFFIC_CONSUMER} AND org_id = ${orgId}::uuid`.execute(db)).rows[0]?.w?.getTime() ?? null;

describe.each(STORE_KINDS)('statistics journal on %s', (kind) => {
  let store: Store;
  let drop: (() => Promise<void>) | undefined;
  let orgA: string;
  let orgB: string;

  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    const pg = kind === 'postgres' ? await freshPostgresDatabase() : undefined;
    drop = pg?.drop;
    store = await openStore({ untenanted: 'system', dataDir: 'memory://', databaseUrl: pg?.url });
    await migrateToLatest(store.db);
    orgA = (await createOrg(store.db, 'A')).id;
    orgB = (await createOrg(store.db, 'B')).id;
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });
  beforeEach(async () => {
    if (!storeAvailable(kind)) return;
    for (const table of ['traffic_journal', 'traffic_counts', 'traffic_sketches', 'stream_progress']) await sql`DELETE FROM ${sql.table(table)}`.execute(store.db);
    for (const orgId of [orgA, orgB]) {
      await sql`INSERT INTO stream_progress (consumer, org_id, watermark, counted_watermark) VALUES (${TRAFFIC_CONSUMER}, ${orgId}::uuid, ${new Date(BUCKET + 60_000).toISOString()}::timestamptz, ${new Date(BUCKET).toISOString()}::timestamptz)`.execute(store.db);
    }
  });
  const run = it.skipIf(!storeAvailable(kind));
  const inTransaction = <T>(fn: (trx: Db) => Promise<T>) => store.db.transaction().execute(fn);

  run('journaled batches reach readers only with the fold: all of them, once, with the watermark they were counted to', async () => {
    await inTransaction((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 1, { counts: [row(orgA), row(orgA, { section: '/b' }), row(orgB)], sketches: [] }));
    await inTransaction((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 2, { counts: [row(orgA, { hits: 4 })], sketches: [] }));
    expect(await hitsOf(store.db, orgA)).toBe(0);
    expect(await journalRows(store.db)).toBe(3);
    expect(await countedWatermark(store.db, orgA)).toBe(BUCKET);

    const result = await inTransaction((trx) => foldJournal(trx, TRAFFIC_CONSUMER));
    expect(result).toEqual({ rows: 3, failed: [] });
    expect(await hitsOf(store.db, orgA)).toBe(6);
    expect(await hitsOf(store.db, orgB)).toBe(1);
    // Same key in two batches: one row, added up.
    const api = await sql<{ hits: string; bytes: string }>`SELECT hits, bytes FROM traffic_counts WHERE org_id = ${orgA}::uuid AND section = '/api'`.execute(store.db);
    expect(api.rows.map((r) => [Number(r.hits), Number(r.bytes)])).toEqual([[5, 200]]);
    expect(await journalRows(store.db)).toBe(0);
    expect(await countedWatermark(store.db, orgA)).toBe(BUCKET + 60_000);

    // Folding again adds nothing.
    expect(await inTransaction((trx) => foldJournal(trx, TRAFFIC_CONSUMER))).toEqual({ rows: 0, failed: [] });
    expect(await hitsOf(store.db, orgA)).toBe(6);
  });

  run('statistics PostgreSQL refuses hold back only their organisation: its rows stay journaled and its readers\' watermark waits', async () => {
    // Random text does not compress: a key this long cannot enter the counters' index. (The
    // aggregation cuts dimensions to DIMENSION_MAX_LENGTH; this row stands for anything it did not foresee.)
    const unindexable = `/${randomBytes(4000).toString('base64')}`;
    await inTransaction((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 1, { counts: [row(orgA, { section: unindexable }), row(orgB)], sketches: [] }));
    await inTransaction((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 2, { counts: [row(orgB, { hits: 2 })], sketches: [] }));

    const result = await inTransaction((trx) => foldJournal(trx, TRAFFIC_CONSUMER));
    expect(result.rows).toBe(2);
    expect(result.failed.map((f) => f.orgId)).toEqual([orgA]);
    expect(String(result.failed[0]!.error)).toMatch(/index row|btree/);
    expect(await hitsOf(store.db, orgB)).toBe(3);
    expect(await countedWatermark(store.db, orgB)).toBe(BUCKET + 60_000);
    expect(await hitsOf(store.db, orgA)).toBe(0);
    expect(await journalRows(store.db, orgA)).toBe(1);
    expect(await countedWatermark(store.db, orgA)).toBe(BUCKET);
  });

  run('a byte total past bigint saturates instead of failing the fold', async () => {
    // Ingest takes up to 2^53 − 1 bytes per event: 1,100 of them pass 2^63 in one bucket.
    const big = Number.MAX_SAFE_INTEGER;
    await inTransaction((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 1, { counts: [row(orgA, { hits: 1100, bytes: 1100 * big })], sketches: [] }));
    expect((await inTransaction((trx) => foldJournal(trx, TRAFFIC_CONSUMER))).failed).toEqual([]);
    await inTransaction((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 2, { counts: [row(orgA, { hits: 1, bytes: big })], sketches: [] }));
    expect((await inTransaction((trx) => foldJournal(trx, TRAFFIC_CONSUMER))).failed).toEqual([]);
    const stored = await sql<{ hits: string; bytes: string }>`SELECT hits::text, bytes::text FROM traffic_counts WHERE org_id = ${orgA}::uuid`.execute(store.db);
    expect(stored.rows).toEqual([{ hits: '1101', bytes: '9223372036854775807' }]);
  });
});

const event = (i: number, over: Partial<LogEvent> = {}): LogEvent => {
  const now = Date.now() - 2000;
  return {
    timestamp: now - (i % 30) * 1000,
    receivedAt: now,
    service: 'svc',
    host: `h${i % 7}`,
    source: null,
    level: 'info',
    message: `request ${i}`,
    method: 'GET',
    path: `/p/${i % 13}`,
    section: `/p${i % 3}`,
    status: 200 + (i % 5) * 100,
    bytes: 10,
    durationMs: 1,
    remoteAddr: `10.0.${i % 5}.1`,
    userAgent: null,
    attributes: {},
    ...over,
  };
};

describe.each(STORE_KINDS)('stream processor with the statistics journal on %s', (kind) => {
  const logger = pino({ level: 'silent' });
  let store: Store;
  let bus: EventBus;
  let drop: (() => Promise<void>) | undefined;
  let orgId: string;

  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    const pg = kind === 'postgres' ? await freshPostgresDatabase() : undefined;
    drop = pg?.drop;
    store = await openStore({ untenanted: 'system', dataDir: 'memory://', databaseUrl: pg?.url });
    await migrateToLatest(store.db);
    orgId = (await createOrg(store.db, 'A')).id;
    bus = await openBus({ logger, consumers: [{ topic: LOG_TOPIC, name: TRAFFIC_CONSUMER }] });
  }, 60_000);
  afterAll(async () => {
    await bus?.close();
    await store?.close();
    await drop?.();
  });
  const run = it.skipIf(!storeAvailable(kind));

  run('large batches are journaled and folded: statistics equal the recount once traffic stops, and a stopped run\'s journal is folded at the next start', async () => {
    const counted = async () => {
      const stats = Number((await sql<{ n: string | null }>`SELECT sum(hits) AS n FROM traffic_counts WHERE resolution = 60`.execute(store.db)).rows[0]!.n ?? 0);
      const raw = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM log_events WHERE NOT too_late`.execute(store.db)).rows[0]!.n);
      return { stats, raw };
    };
    // A journal row as a killed run leaves it (committed with its batch, never folded).
    await store.db.transaction().execute((trx) => journalDeltas(trx, TRAFFIC_CONSUMER, 0, { counts: [row(orgId, { resolution: 60, hits: 7 })], sketches: [] }));

    const processor = await startStreamProcessor({ store, bus, live: new LiveHub(), logger, timing });
    try {
      await eventually(async () => (await journalRows(store.db)) === 0, 10_000);
      expect((await counted()).stats).toBe(7);
      // Batches of 1,500 events, back to back: journaled (FOLD_AT_ONCE_BELOW_EVENTS is 1,000).
      let sent = 0;
      for (let b = 0; b < 6; b++) {
        const events = Array.from({ length: 1500 }, (_, i) => event(sent + i));
        sent += events.length;
        await bus.publish(LOG_TOPIC, logMessagesFor(bus, orgId, events, 1500).messages);
      }
      await eventually(async () => (await journalRows(store.db)) === 0 && (await counted()).stats === sent + 7, 10_000);
      expect((await counted()).raw).toBe(sent);
      const progress = await sql<{ w: Date | null; c: Date | null }>`SELECT watermark AS w, counted_watermark AS c FROM stream_progress WHERE org_id = ${orgId}::uuid`.execute(store.db);
      expect(progress.rows[0]!.c).toEqual(progress.rows[0]!.w);
    } finally {
      await processor.stop();
    }
  });
});
