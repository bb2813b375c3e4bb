import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import { LOG_TOPIC, PartitionManager, ensurePartitionsFor, insertEventGroups, logMessagesFor, type LogEvent } from '../src/domains/logs/index.js';
import { TRAFFIC_CONSUMER, startStreamProcessor, type StreamProcessor } from '../src/domains/stream/index.js';
import { openBus, type EventBus } from '../src/platform/bus/index.js';
import { LiveHub } from '../src/platform/live.js';
import { asOwner, migrateToLatest, openStore, type Store } from '../src/platform/store/index.js';
import { STREAM_TIMING, requestEvent as event } from './support/log-events.js';
import { databaseAt } from './support/migrations.js';
import { STORE_KINDS, eventually, freshPostgresDatabase, storeAvailable } from './support/server.js';

/**
 * The stream processor writes its statistics about once a second under load, not with every batch
 * (processor.ts). What it had added up only in memory when it stopped is counted again from the
 * stored events by the next processor, so the statistics still equal a recount of the stored events
 * that are not too late, and nothing is counted twice.
 */

const logger = pino({ level: 'silent' });
const timing = STREAM_TIMING;

describe.each(STORE_KINDS)('stream statistics written in the background, on %s', (kind) => {
  let store: Store;
  let bus: EventBus;
  let processor: StreamProcessor | undefined;
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
    await processor?.stop();
    await bus?.close();
    await store?.close();
    await drop?.();
  });
  const run = it.skipIf(!storeAvailable(kind));

  const start = async () => (processor = await startStreamProcessor({ store, bus, live: new LiveHub(), logger, timing }));
  const publish = (events: LogEvent[]) => bus.publish(LOG_TOPIC, logMessagesFor(bus, orgId, events, 100).messages);
  const hits = async () =>
    Number((await store.db.selectFrom('traffic_counts').select(sql<string>`coalesce(sum(hits), 0)`.as('n')).where('org_id', '=', orgId).where('resolution', '=', 1).executeTakeFirstOrThrow()).n);
  /** What the statistics must hold: the stored request events that are not too late, and the too-late ones. */
  const recount = async () => {
    const row = await store.db
      .selectFrom('log_events')
      .select([sql<string>`count(*) FILTER (WHERE NOT too_late)`.as('counted'), sql<string>`count(*) FILTER (WHERE too_late)`.as('late')])
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    return { counted: Number(row.counted), late: Number(row.late) };
  };
  const checkpoint = async () => {
    const row = await store.db.selectFrom('stream_checkpoints').select(['version', 'counted_version', 'counted_id']).where('consumer', '=', TRAFFIC_CONSUMER).executeTakeFirstOrThrow();
    return { version: Number(row.version), counted: Number(row.counted_version), countedId: Number(row.counted_id) };
  };
  const lateInStats = async () => {
    const sketches = await store.db.selectFrom('traffic_sketches').select(sql<string>`coalesce(sum(too_late), 0)`.as('n')).where('org_id', '=', orgId).where('resolution', '=', 10).executeTakeFirstOrThrow();
    const progress = await store.db.selectFrom('stream_progress').select('too_late').where('org_id', '=', orgId).where('consumer', '=', TRAFFIC_CONSUMER).executeTakeFirst();
    return { sketches: Number(sketches.n), progress: Number(progress?.too_late ?? 0) };
  };

  run(
    'a lone batch is counted before its answer; back-to-back batches are counted once the stream is quiet',
    async () => {
      await start();
      await publish([event('first')]);
      // The processor was idle: the batch's statistics were written in its own transaction.
      expect(await hits()).toBe(1);
      for (let i = 0; i < 20; i++) await publish(Array.from({ length: 5 }, (_, j) => event(`burst ${i}.${j}`)));
      await eventually(async () => (await hits()) === 101, 10_000);
      const done = await eventually(async () => {
        const c = await checkpoint();
        return c.counted === c.version ? c : undefined;
      }, 10_000);
      const maxId = await store.db.selectFrom('log_events').select(sql<string>`max(id)`.as('id')).executeTakeFirstOrThrow();
      expect(done.countedId).toBe(Number(maxId.id));
      expect((await recount()).counted).toBe(101);
    },
    60_000,
  );

  run(
    'the batches a processor committed but did not live to count are counted again from their rows, once',
    async () => {
      await processor?.stop();
      processor = undefined;
      const before = await recount();
      expect(await hits()).toBe(before.counted);
      const lateBefore = await lateInStats();

      // As a processor killed between its batches' commits and the write of their statistics
      // leaves it: two batches' events stored (one judged too late) and the checkpoint two commits
      // ahead of what the statistics include.
      const orphans = [event('orphan 1'), event('orphan 2'), event('orphan late'), event('orphan 3', { path: null, method: null, status: null })];
      const groups = [
        { orgId, events: orphans.slice(0, 2), tooLate: [false, false] },
        { orgId, events: orphans.slice(2), tooLate: [true, false] },
      ];
      await ensurePartitionsFor(new PartitionManager(store.db), groups);
      await insertEventGroups(store.db, groups);
      await store.db.updateTable('stream_checkpoints').set((eb) => ({ version: eb('version', '+', 2) })).where('consumer', '=', TRAFFIC_CONSUMER).execute();
      expect(await hits()).toBe(before.counted);

      // The next processor counts them at start: two counted (the third is no request), one too late.
      await start();
      expect(await hits()).toBe(before.counted + 2);
      const c = await checkpoint();
      expect(c.counted).toBe(c.version);
      expect(await lateInStats()).toEqual({ sketches: lateBefore.sketches + 1, progress: lateBefore.progress + 1 });
      expect(await recount()).toEqual({ counted: before.counted + 3, late: before.late + 1 }); // the non-request row is stored, not counted

      // Nothing is counted twice: another batch, another restart.
      await publish([event('after')]);
      await processor!.stop();
      await start();
      await eventually(async () => (await hits()) === before.counted + 3, 10_000);
      expect(await lateInStats()).toEqual({ sketches: lateBefore.sketches + 1, progress: lateBefore.progress + 1 });
    },
    60_000,
  );

  run(
    'statistics whose write failed on a quiet stream are written by a retry, without another event',
    async () => {
      // A processor whose warnings are kept: a run of failed writes is told once, not once per retry.
      await processor?.stop();
      const warnings: string[] = [];
      processor = await startStreamProcessor({ store, bus, live: new LiveHub(), logger: pino({ level: 'debug' }, { write: (line: string) => warnings.push(line) }), timing });
      // A commit just now: the burst below arrives while the processor is busy, so its statistics wait.
      await publish([event('before the refusal')]);
      await eventually(async () => {
        const c = await checkpoint();
        return c.counted === c.version;
      }, 10_000);
      const before = await hits();
      const storedBefore = (await recount()).counted;
      // The database refuses counter writes for a while, as one that is restarting would.
      await asOwner(async () => {
        await sql`CREATE FUNCTION test_refuse_counts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'counters refused for a while'; END $$`.execute(store.db);
        await sql`CREATE TRIGGER refuse_counts BEFORE INSERT OR UPDATE ON traffic_counts FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_counts()`.execute(store.db);
      });
      try {
        for (let i = 0; i < 5; i++) await publish(Array.from({ length: 3 }, (_, j) => event(`quiet ${i}.${j}`)));
        // The write on its own (50 ms after the last batch) fails, and so do retries while refused.
        await new Promise((r) => setTimeout(r, 400));
        expect(await hits()).toBe(before);
        expect((await recount()).counted).toBe(storedBefore + 15);
      } finally {
        await asOwner(async () => {
          await sql`DROP TRIGGER refuse_counts ON traffic_counts`.execute(store.db);
          await sql`DROP FUNCTION test_refuse_counts()`.execute(store.db);
        });
      }
      // Nothing more is sent: the retry counts the burst again from its stored rows, once.
      await eventually(async () => (await hits()) === before + 15, 10_000);
      const failures = warnings.filter((w) => w.includes('could not write the statistics')).map((w) => (JSON.parse(w) as { level: number }).level);
      expect(failures.length).toBeGreaterThan(1);
      expect(failures.filter((level) => level >= 40)).toHaveLength(1);
      const c = await checkpoint();
      expect(c.counted).toBe(c.version);
      await new Promise((r) => setTimeout(r, 300));
      expect(await hits()).toBe(before + 15);
    },
    60_000,
  );
});

describe('migration 022 on a database whose statistics are up to date', () => {
  it('starts every checkpoint with everything counted, and goes back', async () => {
    const { db, migrator, close } = await databaseAt('021_shipment_arrival_batches');
    try {
      await sql`SET vigil.bypass = on`.execute(db);
      const org = '11111111-1111-4111-8111-111111111111';
      await sql`INSERT INTO orgs (id, name, ping_key) VALUES (${org}, 'a', 'pa')`.execute(db);
      await sql`SELECT vigil_create_log_partition(current_date)`.execute(db);
      await sql`INSERT INTO log_events (org_id, ts, received_at, message) SELECT ${org}, now(), now(), 'e' || i FROM generate_series(1, 3) AS i`.execute(db);
      await sql`INSERT INTO stream_checkpoints (consumer, position, version) VALUES ('traffic', '{"epoch":"e","floor":3,"done":[]}', 7)`.execute(db);
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const row = await sql<{ version: string; counted_version: string; counted_id: string }>`SELECT version, counted_version, counted_id FROM stream_checkpoints`.execute(db);
      expect(row.rows.map((r) => [Number(r.version), Number(r.counted_version), Number(r.counted_id)])).toEqual([[7, 7, 3]]);
      expect((await migrator.migrateDown()).error).toBeUndefined();
      const columns = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = 'stream_checkpoints' AND column_name LIKE 'counted%'`.execute(db);
      expect(columns.rows).toEqual([]);
    } finally {
      await close();
    }
  });
});
