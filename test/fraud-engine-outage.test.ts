/**
 * A history query failing while the fraud engine evaluates (PostgreSQL refusing it, as when it
 * restarts): the evaluation rejects where it is awaited and nothing is left an unhandled rejection,
 * which would end the Node process (Node 20's default). evaluateBatch sends the history queries,
 * then yields the event loop between parts while it evaluates the criteria that need no history;
 * before commit cf517e7 the query's promise had no handler until the loop was over, so a failure
 * during the loop was an unhandled rejection.
 *
 * The failure is real: another session holds an ACCESS EXCLUSIVE lock on shipments and the
 * evaluating transaction has a 1 ms lock_timeout, so PostgreSQL cancels the history query almost
 * at once, long before the evaluation of the other criteria (a few hundred milliseconds) is over.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCriterion, type ShipmentRecord } from '../src/domains/fraud/cel.js';
import { evaluateBatch, type BatchPart } from '../src/domains/fraud/engine.js';
import { migrateToLatest, openStore, type Store } from '../src/platform/store/index.js';
import { freshPostgresDatabase, TEST_DATABASE_URL } from './support/server.js';

describe.skipIf(!TEST_DATABASE_URL)('fraud evaluation when a history query fails', () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let store: Store;

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    store = await openStore({ untenanted: 'system', databaseUrl: database.url, dataDir: 'memory://', logger: pino({ level: 'silent' }) });
    await migrateToLatest(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('rejects where it is awaited, never as an unhandled rejection, when the query fails while the loop yields', async () => {
    const lists = new Map<string, string[]>();
    const withHistory = compileCriterion("velocity.count('sender_id', '1h') > 3", lists);
    const without = compileCriterion("shipment.declared_value_usd > 100.0 && shipment.destination_country in ['DE', 'FR']", lists);
    // Many parts of many shipments: the loop yields between parts for a few hundred milliseconds.
    const at = Date.now() - 3600_000;
    let id = 0;
    const parts: BatchPart[] = Array.from({ length: 40 }, () => {
      const orgId = randomUUID();
      const shipments: ShipmentRecord[] = Array.from({ length: 2000 }, () => {
        id++;
        return { id: String(id), org_id: orgId, external_id: `x-${id}`, created_at: new Date(at + id), attributes: {}, sender_id: `s-${id % 50}`, declared_value_usd: id % 300, destination_country: 'DE' };
      });
      return { orgId, shipments, criteria: [without, withHistory] };
    });

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE shipments IN ACCESS EXCLUSIVE MODE');
      let visited = 0;
      const started = performance.now();
      const evaluation = store.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL lock_timeout = '1ms'`.execute(trx);
        await evaluateBatch(trx, parts, () => visited++);
      });
      await expect(evaluation).rejects.toMatchObject({ code: '55P03' }); // lock_not_available
      const elapsed = performance.now() - started;
      // Node reports an unhandled rejection after the microtasks of the turn it happened in; a few turns later it would have.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
      expect(visited, 'no outcome is visited without the history').toBe(0);
      // The loop ran long after the 1 ms lock timeout: the failure did happen while it yielded.
      expect(elapsed).toBeGreaterThan(50);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    // The store is usable again once the lock is gone.
    const r = await sql<{ n: string }>`SELECT count(*) AS n FROM shipments`.execute(store.db);
    expect(Number(r.rows[0]!.n)).toBe(0);
  });
});
