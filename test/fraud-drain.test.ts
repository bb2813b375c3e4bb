/**
 * drainArrivals (the bench's and tests' detector) runs the worker's lane loop, on PGlite and
 * PostgreSQL: an organisation whose chunk fails every time is set aside as the worker sets it aside
 * (the others detected, its arrivals still queued) instead of failing the drain; and when a lane
 * does fail (the database "unavailable" for it, where the worker would retry without end), the
 * drain stops the other lanes and rejects only once none is running, so no lane is left working
 * unobserved behind the error.
 *
 * The faults are triggers on fraud_alerts that raise for one organisation's alerts: a plain error,
 * or SQLSTATE 57P03 (cannot_connect_now, what a restarting PostgreSQL answers).
 */
import pino from 'pino';
import { sql } from 'kysely';
import { describe, expect } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import { drainArrivals } from '../src/domains/fraud/detector.js';
import { toStoredRows } from '../src/domains/shipments/intake.js';
import { arrayRows, validateRows } from '../src/domains/shipments/rows.js';
import { insertShipments } from '../src/domains/shipments/store.js';
import { asOwner } from '../src/platform/store/index.js';
import { insertCriterion, matchedIds } from './support/fraud.js';
import { STORE_KINDS } from './support/server.js';
import { freshStoreForBlock } from './support/store-block.js';

const logger = pino({ level: 'silent' });

describe.each(STORE_KINDS)('draining the fraud arrivals on %s', (kind) => {
  const { run, store: storeOf } = freshStoreForBlock(kind);

  const store_ = async (orgId: string, prefix: string, n: number) => {
    const at = new Date(Date.now() - 600_000).toISOString();
    const objects = Array.from({ length: n }, (_, i) => ({ external_id: `${prefix}-${i}`, created_at: at, sales_channel: 'drain' }));
    await insertShipments(storeOf(), toStoredRows(orgId, validateRows(arrayRows(objects)).valid, new Map()).rows);
  };
  const queued = async (orgId: string) => Number((await sql<{ n: string }>`SELECT coalesce(sum(shipments), 0) AS n FROM shipment_arrival_batches WHERE org_id = ${orgId}`.execute(storeOf().db)).rows[0]!.n);
  /** Fails every transaction inserting `orgId`'s alerts with `errcode`. */
  const poison = (orgId: string, errcode: string) =>
    asOwner(() =>
      sql`CREATE FUNCTION drain_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poisoned organisation' USING ERRCODE = ${sql.lit(errcode)}; END $$;
          CREATE TRIGGER drain_poison BEFORE INSERT ON fraud_alerts FOR EACH ROW WHEN (NEW.org_id = ${sql.lit(orgId)}::uuid) EXECUTE FUNCTION drain_poison()`.execute(storeOf().db),
    );
  const mend = () => asOwner(() => sql`DROP TRIGGER drain_poison ON fraud_alerts; DROP FUNCTION drain_poison()`.execute(storeOf().db));

  run('sets aside an organisation whose shipments fail every time, as the worker does: the others detected, its own still queued', async () => {
    const fine = (await createOrg(storeOf().db, 'drain-fine')).id;
    const poisoned = (await createOrg(storeOf().db, 'drain-poisoned')).id;
    const fineCrit = await insertCriterion(storeOf().db, fine, { expression: "shipment.sales_channel == 'drain'", channels: [] });
    const poisonedCrit = await insertCriterion(storeOf().db, poisoned, { expression: "shipment.sales_channel == 'drain'", channels: [] });
    await store_(poisoned, 'p', 2);
    await store_(fine, 'f', 3);
    await poison(poisoned, 'P0001');
    try {
      // One lane: every chunk holds both organisations until the poisoned one is set aside.
      const results = await drainArrivals({ store: storeOf(), logger, lanes: 1 });
      expect(results.reduce((n, r) => n + r.shipments, 0)).toBe(3);
    } finally {
      await mend();
    }
    expect(await matchedIds(storeOf().db, fineCrit)).toEqual(['f-0', 'f-1', 'f-2']);
    expect(await matchedIds(storeOf().db, poisonedCrit)).toEqual([]);
    expect(await queued(poisoned)).toBe(2);
    await sql`DELETE FROM shipment_arrival_batches`.execute(storeOf().db);
    await sql`UPDATE fraud_criteria SET enabled = false`.execute(storeOf().db);
  });

  run('a lane failing stops the others: the drain rejects once no lane is working any more', async () => {
    // Two organisations in different lanes of two.
    const laneOf = async (orgId: string) => Number((await sql<{ l: string }>`SELECT mod(hashtext(${orgId}::text)::bigint + 2147483648, 2) AS l`.execute(storeOf().db)).rows[0]!.l);
    const busy = (await createOrg(storeOf().db, 'drain-busy')).id;
    let failing = (await createOrg(storeOf().db, 'drain-failing')).id;
    while ((await laneOf(failing)) === (await laneOf(busy))) failing = (await createOrg(storeOf().db, 'drain-failing')).id;
    await insertCriterion(storeOf().db, busy, { expression: "shipment.sales_channel == 'drain'", channels: [] });
    await insertCriterion(storeOf().db, failing, { expression: "shipment.sales_channel == 'drain'", channels: [] });
    await store_(failing, 'x', 1);
    // Work for the busy lane long after the failing one has given up (three tries, 1.5 s of back-off): 5,000 chunks of 2.
    await store_(busy, 'b', 10_000);
    await poison(failing, '57P03');
    try {
      await expect(drainArrivals({ store: storeOf(), logger, lanes: 2, chunk: 2 })).rejects.toMatchObject({ code: '57P03' });
      const left = await queued(busy);
      expect(left, 'the busy lane was stopped before it was done').toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await queued(busy), 'no lane goes on claiming after the drain rejected').toBe(left);
    } finally {
      await mend();
    }
    expect(await queued(failing)).toBe(1);
  });
});
