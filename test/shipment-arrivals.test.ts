/**
 * The fraud detector's queue (migration 021): one arrival row per intake statement and
 * organisation holding the ids of the shipments it stored. What the detector relies on: a claim
 * takes the oldest statements' shipments up to its limit, the row that crosses the limit gives its
 * lowest ids and keeps the rest, a rolled-back claim puts everything back, two claims at once take
 * disjoint shipments; and a database upgraded with shipments still queued (one row each, before
 * 021) keeps every one of them queued.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import { toStoredRows } from '../src/domains/shipments/intake.js';
import { arrayRows, validateRows } from '../src/domains/shipments/rows.js';
import { claimArrivals } from '../src/domains/shipments/index.js';
import { insertShipments } from '../src/domains/shipments/store.js';
import { asSystem, type Db } from '../src/platform/store/index.js';
import { databaseAt } from './support/migrations.js';
import { freshStoreForBlock } from './support/store-block.js';
import { STORE_KINDS } from './support/server.js';

const shipments = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ external_id: `${prefix}-${i}`, created_at: '2026-05-01T12:00:00Z', declared_value: 10, currency: 'USD' }));

describe.each(STORE_KINDS)('shipment arrivals on %s', (kind) => {
  const { run, store } = freshStoreForBlock(kind);

  async function intake(orgId: string, prefix: string, n: number): Promise<void> {
    const { rows } = toStoredRows(orgId, validateRows(arrayRows(shipments(prefix, n))).valid, new Map([['USD', 1]]));
    expect(await insertShipments(store(), rows)).toBe(n);
  }

  const idsOf = async (db: Db, orgId: string, prefix: string): Promise<string[]> =>
    (await sql<{ id: string }>`SELECT id::text AS id FROM shipments WHERE org_id = ${orgId} AND external_id LIKE ${`${prefix}-%`} ORDER BY shipments.id`.execute(db)).rows.map((r) => r.id);

  const queue = async (db: Db) =>
    (await sql<{ org_id: string; shipments: number }>`SELECT org_id, shipments FROM shipment_arrival_batches ORDER BY id`.execute(db)).rows;

  const claim = (limit: number, rollback = false) =>
    asSystem('test: the detector claims', () =>
      store()
        .db.transaction()
        .execute(async (trx) => {
          const claimed = await claimArrivals(trx, limit);
          if (rollback) throw Object.assign(new Error('rolled back'), { claimed });
          return claimed;
        }),
    );

  run('take the oldest statements first, split the row that crosses the limit, and keep the rest queued', async () => {
    const db = store().db;
    const a = (await createOrg(db, 'arrivals-a')).id;
    const b = (await createOrg(db, 'arrivals-b')).id;
    await intake(a, 'a1', 10);
    await intake(b, 'b1', 5);
    await intake(a, 'a2', 3);
    expect(await queue(db)).toEqual([
      { org_id: a, shipments: 10 },
      { org_id: b, shipments: 5 },
      { org_id: a, shipments: 3 },
    ]);
    const [a1, b1, a2] = [await idsOf(db, a, 'a1'), await idsOf(db, b, 'b1'), await idsOf(db, a, 'a2')];

    // Repeating a statement stores nothing and queues nothing.
    const { rows } = toStoredRows(a, validateRows(arrayRows(shipments('a1', 10))).valid, new Map([['USD', 1]]));
    expect(await insertShipments(store(), rows)).toBe(0);
    expect(await queue(db)).toHaveLength(3);

    // A rolled-back claim leaves the queue as it was.
    await expect(claim(4, true)).rejects.toThrow('rolled back');
    expect(await queue(db)).toHaveLength(3);

    const first = await claim(4);
    expect(first).toEqual(a1.slice(0, 4).map((shipmentId) => ({ shipmentId, orgId: a })));
    expect(await queue(db)).toEqual([
      { org_id: a, shipments: 6 },
      { org_id: b, shipments: 5 },
      { org_id: a, shipments: 3 },
    ]);
    const second = await claim(8);
    expect(second).toEqual([...a1.slice(4).map((shipmentId) => ({ shipmentId, orgId: a })), ...b1.slice(0, 2).map((shipmentId) => ({ shipmentId, orgId: b }))]);
    const rest = await claim(100);
    expect(rest).toEqual([...b1.slice(2).map((shipmentId) => ({ shipmentId, orgId: b })), ...a2.map((shipmentId) => ({ shipmentId, orgId: a }))]);
    expect(await queue(db)).toEqual([]);
    expect(await claim(100)).toEqual([]);
  });

  // PGlite has one connection: claims cannot overlap there.
  (kind === 'postgres' ? run : it.skip)('give two claims at once disjoint shipments, every one of them once', async () => {
    const db = store().db;
    const orgs = await Promise.all([0, 1, 2, 3].map(async (i) => (await createOrg(db, `arrivals-c${i}`)).id));
    for (const [i, orgId] of orgs.entries()) await intake(orgId, `c${i}`, 50);
    // Each claim holds its rows until it commits: the other skips them (SKIP LOCKED) and takes the next.
    const claims = await Promise.all([0, 1, 2, 3].map(() => claim(60)));
    const all = claims.flat().map((c) => c.shipmentId);
    expect(new Set(all).size).toBe(all.length);
    const left = await claim(1000);
    expect(all.length + left.length).toBe(200);
    expect(new Set([...all, ...left.map((c) => c.shipmentId)]).size).toBe(200);
  });
});

describe('migration 021 on a database with shipments queued one row each', () => {
  it('queues the same shipments as one row per organisation, and back', async () => {
    const { db, migrator, close } = await databaseAt('020_alert_records_immutable');
    try {
      const a = '11111111-1111-4111-8111-111111111111';
      const b = '22222222-2222-4222-8222-222222222222';
      await sql`SET vigil.bypass = on`.execute(db);
      await sql`INSERT INTO orgs (id, name, ping_key) VALUES (${a}, 'a', 'pa'), (${b}, 'b', 'pb')`.execute(db);
      await sql`INSERT INTO shipments (id, org_id, external_id, created_at)
                SELECT i, CASE WHEN i % 3 = 0 THEN ${b}::uuid ELSE ${a}::uuid END, 's-' || i, now() FROM generate_series(1, 12) AS i`.execute(db);
      // Shipment 5 was evaluated already (its arrival deleted).
      await sql`INSERT INTO shipment_arrivals (shipment_id, org_id) SELECT id, org_id FROM shipments WHERE id <> 5`.execute(db);
      expect((await migrator.migrateTo('021_shipment_arrival_batches')).error).toBeUndefined();
      const queued = await sql<{ org_id: string; ids: string; shipments: number }>`SELECT org_id, ids::text AS ids, shipments FROM shipment_arrival_batches ORDER BY org_id`.execute(db);
      expect(queued.rows).toEqual([
        { org_id: a, ids: '{[1,3),[4,5),[7,9),[10,12)}', shipments: 7 },
        { org_id: b, ids: '{[3,4),[6,7),[9,10),[12,13)}', shipments: 4 },
      ]);
      expect((await migrator.migrateDown()).error).toBeUndefined();
      const back = await sql<{ id: string }>`SELECT shipment_id::text AS id FROM shipment_arrivals ORDER BY shipment_id`.execute(db);
      expect(back.rows.map((r) => Number(r.id))).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]);
    } finally {
      await close();
    }
  });
});
