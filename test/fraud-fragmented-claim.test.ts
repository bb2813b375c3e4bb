/**
 * The fraud detector on a fragmented claim, on PGlite and PostgreSQL: one bulk transaction
 * interleaving three organisations' shipments (ids A, B, C, A, B, C, …), so a detector that claims
 * one organisation's arrivals (its own scope, or a lane holding some of the organisations) gets ids
 * that are no run of consecutive ids but one run per shipment. arrivedShipments then names them by
 * their ids instead of by their runs (for-fraud.ts: a range join over hundreds of runs was planned
 * as a nested loop), and the history queries leave out a batch of as many runs. Every shipment must
 * still be evaluated exactly once, under its own organisation.
 */
import pino from 'pino';
import { sql } from 'kysely';
import { describe, expect } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import { detectChunk, drainArrivals } from '../src/domains/fraud/detector.js';
import { CompileCache } from '../src/domains/fraud/engine.js';
import { arrivedShipments } from '../src/domains/shipments/index.js';
import { toStoredRows } from '../src/domains/shipments/intake.js';
import { arrayRows, validateRows } from '../src/domains/shipments/rows.js';
import { insertShipments, type StoredRow } from '../src/domains/shipments/store.js';
import { insertCriterion } from './support/fraud.js';
import { STORE_KINDS } from './support/server.js';
import { freshStoreForBlock } from './support/store-block.js';

/** Shipments per organisation: a claim of 150 of them is 150 runs (more than 64, and more than a quarter of the ids). */
const PER_ORG = 400;

describe.each(STORE_KINDS)('fraud detection of a fragmented claim on %s', (kind) => {
  const { run, store: storeOf } = freshStoreForBlock(kind);

  run('evaluates every shipment of interleaved organisations exactly once, under its own organisation', async () => {
    const db = storeOf().db;
    const orgs = [await createOrg(db, 'frag-a'), await createOrg(db, 'frag-b'), await createOrg(db, 'frag-c')].map((o) => o.id);
    const [a, b] = orgs as [string, string, string];
    const criteria: { orgId: string; id: string }[] = [];
    for (const orgId of orgs) {
      criteria.push({ orgId, id: await insertCriterion(db, orgId, { expression: "shipment.sales_channel == 'frag'", channels: [] }) });
      // An aggregate: the history queries run with the fragmented batch left out by its runs.
      criteria.push({ orgId, id: await insertCriterion(db, orgId, { expression: "velocity.count('sender_id', '1h') >= 1", channels: [] }) });
    }
    const at = new Date(Date.now() - 1800_000).toISOString();
    const rowsOf = (orgId: string, o: number) =>
      toStoredRows(orgId, validateRows(arrayRows(Array.from({ length: PER_ORG }, (_, i) => ({ external_id: `frag-${o}-${i}`, created_at: at, sender_id: `s-${i % 7}`, sales_channel: 'frag' })))).valid, new Map()).rows;
    const perOrg = orgs.map(rowsOf);
    const interleaved: StoredRow[] = [];
    for (let i = 0; i < PER_ORG; i++) for (const rows of perOrg) interleaved.push(rows[i]!);
    expect(await insertShipments(storeOf(), interleaved)).toBe(3 * PER_ORG);

    const idsOf = async (orgId: string) => (await sql<{ id: string }>`SELECT id FROM shipments WHERE org_id = ${orgId} ORDER BY id`.execute(db)).rows.map((r) => Number(r.id));
    const aIds = await idsOf(a);
    // Interleaved: no two of one organisation's ids are consecutive.
    expect(aIds.every((id, i) => i === 0 || id - aIds[i - 1]! === 3)).toBe(true);

    // Read by its ids: exactly the claimed shipments, in id order, and none under an organisation that is not its own.
    const someOfB = (await idsOf(b))[0]!;
    const read = await db.transaction().execute((trx) => arrivedShipments(trx, [...aIds.map((id) => ({ shipmentId: String(id), orgId: a })), { shipmentId: String(someOfB), orgId: a }]));
    expect(read.map((s) => Number(s.id))).toEqual(aIds);
    expect(read.every((s) => s.org_id === a)).toBe(true);

    const cache = new CompileCache();
    // One organisation's chunk: 150 ids spaced by 3, the fragmented read.
    const first = await detectChunk(storeOf(), cache, new Date(), { chunk: 150, scope: { onlyOrg: a } });
    expect(first.shipments).toBe(150);
    // Then concurrent detectors: that organisation alone, lanes holding some of the organisations
    // (fragmented claims), and one claiming across all of them (runs).
    const onlyA = async () => {
      while ((await detectChunk(storeOf(), cache, new Date(), { chunk: 150, scope: { onlyOrg: a } })).shipments > 0);
    };
    const logger = pino({ level: 'silent' });
    await Promise.all([onlyA(), drainArrivals({ store: storeOf(), cache, logger, lanes: 3, chunk: 150 }), drainArrivals({ store: storeOf(), cache, logger, lanes: 1, chunk: 1000 })]);

    const left = await sql<{ n: string }>`SELECT coalesce(sum(shipments), 0) AS n FROM shipment_arrival_batches`.execute(db);
    expect(Number(left.rows[0]!.n)).toBe(0);
    for (const c of criteria) {
      const stored = await sql<{ n: string; d: string; own: string }>`
        SELECT count(*) AS n, count(DISTINCT a.shipment_id) AS d, count(*) FILTER (WHERE s.org_id = a.org_id AND a.org_id = ${c.orgId}) AS own
        FROM fraud_alerts a JOIN shipments s ON s.id = a.shipment_id WHERE a.criterion_id = ${c.id}`.execute(db);
      const r = stored.rows[0]!;
      expect({ n: Number(r.n), d: Number(r.d), own: Number(r.own) }).toEqual({ n: PER_ORG, d: PER_ORG, own: PER_ORG });
    }
  });
});
