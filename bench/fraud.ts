/**
 * `npm run bench -- fraud`: the fraud detector on PostgreSQL (TEST_DATABASE_URL or DATABASE_URL; a
 * fresh database is made and dropped).
 *
 * 100 organisations with 10 active criteria each (1,000; a third using velocity aggregates), each
 * with an e-mail channel; a week of history (BENCH_FRAUD_HISTORY, default 100,000 shipments, taken
 * as already evaluated); then ONE bulk transaction of BENCH_FRAUD_SHIPMENTS (default 100,000)
 * shipments across the organisations. Measured from the bulk's commit until every alert is stored
 * and every notification queued (group wait 0s so the digests are due at once), by the detector's
 * lanes and chunks as the server would run them (VIGIL_FRAUD_LANES, VIGIL_FRAUD_CHUNK: checked by
 * the configuration's schema, a bad value stops the bench naming it).
 *
 * The naive way, in the same run: every criterion also written as SQL, one query per criterion over
 * the new batch (INSERT … SELECT of its matches, aggregates as correlated subqueries). Its alerts
 * are compared with the detector's (they must be the same pairs). Timed twice:
 * - alerts only: the 1,000 queries alone (no matched values, nothing told to anyone);
 * - the same work: each criterion's query and then its matches reported to the alert manager (the
 *   same reports as the detector's, reports.ts), one transaction per criterion, from the same alert
 *   state the detector started from — so it ends with the same alerts, instances and notifications
 *   queued. The ratio the issue asks for is taken on this one; both are printed.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { createOrg } from '../src/domains/accounts/index.js';
import { reportConditions } from '../src/domains/alerting/index.js';
import { loadSetting } from '../src/config.js';
import { detectChunk, drainArrivals } from '../src/domains/fraud/detector.js';
import { activeCriteria, type NewAlert } from '../src/domains/fraud/engine-store.js';
import { CompileCache } from '../src/domains/fraud/engine.js';
import { checkExpression } from '../src/domains/fraud/index.js';
import { createChannel } from '../src/domains/notify/channels.js';
import { labelsOf, reportsOf } from '../src/domains/fraud/reports.js';
import type { ShipmentFacts } from '../src/domains/shipments/index.js';
import { insertShipments, type StoredRow } from '../src/domains/shipments/store.js';
import { asOwner, migrateToLatest, openStore, type Db } from '../src/platform/store/index.js';
import { cpuSecondsOfCommand } from './proc.js';
import { fmt, prng } from './support.js';

const ORGS = Number(process.env.BENCH_FRAUD_ORGS ?? 100);
const PER_ORG = Number(process.env.BENCH_FRAUD_CRITERIA_PER_ORG ?? 10);
const BULK = Number(process.env.BENCH_FRAUD_SHIPMENTS ?? 100_000);
const HISTORY = Number(process.env.BENCH_FRAUD_HISTORY ?? 100_000);
const COUNTRIES = ['DE', 'FR', 'NG', 'KP', 'US', 'GB', 'CN', 'BR', 'IN', 'IT'];
const SERVICES = ['express', 'economy', 'standard'];

interface Generated {
  cel: string;
  /** A condition on `s` (the new shipment) for the naive query. */
  sql: string;
}

/** Criterion `i` of an organisation: CEL and the same condition in SQL. Every third uses an aggregate. */
function criterion(i: number, rnd: () => number): Generated {
  const v = Math.round(3000 + rnd() * 5000);
  const c1 = COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!;
  const c2 = COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!;
  const hist = (cond: string, window: string) =>
    `FROM shipments h WHERE h.org_id = s.org_id AND ${cond} AND h.created_at > s.created_at - interval '${window}' AND (h.created_at < s.created_at OR (h.created_at = s.created_at AND h.id <= s.id))`;
  switch (i % 6) {
    case 0:
      return { cel: `shipment.declared_value_usd > ${v}.0 && shipment.destination_country in ['${c1}', '${c2}']`, sql: `s.declared_value_usd > ${v} AND s.destination_country IN ('${c1}', '${c2}')` };
    case 1: {
      const w = Math.round(44 + rnd() * 5);
      return { cel: `shipment.weight_kg > ${w}.0 && shipment.service_level == 'express'`, sql: `s.weight_kg > ${w} AND s.service_level = 'express'` };
    }
    case 2:
      return {
        cel: `shipment.origin_country == '${c1}' && shipment.ip_country != '${c1}' && shipment.pieces > 5 && shipment.service_level == 'express'`,
        sql: `s.origin_country = '${c1}' AND s.ip_country <> '${c1}' AND s.pieces > 5 AND s.service_level = 'express'`,
      };
    case 3:
      return { cel: `shipment.declared_value_usd > ${v}.0 && shipment.origin_country == shipment.destination_country`, sql: `s.declared_value_usd > ${v} AND s.origin_country = s.destination_country` };
    case 4:
      if (i % 12 === 4) {
        const n = 4 + Math.floor(rnd() * 3);
        return { cel: `velocity.count('sender_id', '1h') > ${n}`, sql: `s.sender_id IS NOT NULL AND (SELECT count(*) ${hist('h.sender_id = s.sender_id', '1 hour')}) > ${n}` };
      }
      return { cel: `velocity.sum('sender_id', 'declared_value_usd', '1d') > ${v * 3}.0`, sql: `s.sender_id IS NOT NULL AND (SELECT coalesce(sum(h.declared_value_usd), 0) ${hist('h.sender_id = s.sender_id', '1 day')}) > ${v * 3}` };
    default:
      if (i % 12 === 5) {
        return { cel: `velocity.distinct('recipient_address', 'sender_id', '7d') >= 4`, sql: `s.recipient_address IS NOT NULL AND (SELECT count(DISTINCT h.sender_id) ${hist('h.recipient_address = s.recipient_address', '7 days')}) >= 4` };
      }
      return {
        cel: `shipment.declared_value_usd > ${v}.0 && velocity.first('sender_id', 'destination_country')`,
        sql: `s.declared_value_usd > ${v} AND s.sender_id IS NOT NULL AND s.destination_country IS NOT NULL AND NOT EXISTS (SELECT 1 ${hist('h.sender_id = s.sender_id AND h.destination_country = s.destination_country AND h.id <> s.id', '90 days')})`,
      };
  }
}

function shipments(orgIds: string[], n: number, from: number, to: number, prefix: string, rnd: () => number): StoredRow[] {
  const rows: StoredRow[] = [];
  for (let i = 0; i < n; i++) {
    const org = orgIds[i % orgIds.length]!;
    const value = Math.round(rnd() * rnd() * rnd() * 10_000 * 100) / 100;
    const at = new Date(from + Math.floor(rnd() * (to - from))).toISOString();
    rows.push([
      org,
      `${prefix}-${i}`,
      at,
      value,
      'USD',
      value,
      Math.round(rnd() * 500) / 10,
      30,
      20,
      10,
      1 + Math.floor(rnd() * 6),
      COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!,
      COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!,
      null,
      null,
      SERVICES[Math.floor(rnd() * SERVICES.length)]!,
      // A few hot senders and addresses (2 % of the traffic each) among many ordinary ones.
      rnd() < 0.02 ? `hot-sender-${Math.floor(rnd() * 3)}` : `sender-${Math.floor(rnd() * 3000)}`,
      null,
      null,
      null,
      null,
      null,
      rnd() < 0.02 ? `${Math.floor(rnd() * 2)} Drop Street` : `${Math.floor(rnd() * 20_000)} Bench Road`,
      null,
      null,
      null,
      null,
      COUNTRIES[Math.floor(rnd() * COUNTRIES.length)]!,
      '{}',
    ]);
  }
  return rows;
}

async function freshDatabase(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `vigil_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const count = async (db: Db, query: string): Promise<number> => Number((await sql<{ n: string }>`${sql.raw(query)}`.execute(db)).rows[0]?.n ?? 0);

export async function benchFraud(): Promise<void> {
  const base = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!base) {
    console.log('skipped: set TEST_DATABASE_URL or DATABASE_URL to a PostgreSQL server');
    return;
  }
  // Checked before any work: a bad value is an error naming it, not NaN lanes.
  const lanes = loadSetting('VIGIL_FRAUD_LANES');
  const chunk = loadSetting('VIGIL_FRAUD_CHUNK');
  const database = await freshDatabase(base);
  const store = await openStore({ untenanted: 'system', databaseUrl: database.url, dataDir: 'memory://', logger: pino({ level: 'error' }) });
  try {
    const db = store.db;
    await migrateToLatest(db);
    const rnd = prng(11);
    const orgIds: string[] = [];
    const generated: { id: string; orgId: string; sql: string }[] = [];
    for (let o = 0; o < ORGS; o++) {
      const org = await createOrg(db, `bench-${o}`);
      orgIds.push(org.id);
      await createChannel(db, org.id, { kind: 'email', name: 'fraud desk', to: `fraud-${o}@example.com` }, { allowPrivate: true });
      for (let i = 0; i < PER_ORG; i++) {
        const g = criterion(o * PER_ORG + i, rnd);
        const check = checkExpression(g.cel, new Map());
        if (!check.ok) throw new Error(`${g.cel}: ${JSON.stringify(check.errors)}`);
        const id = crypto.randomUUID();
        const values = sql`${id}, ${org.id}, 1, ${`c${i}`}, ${g.cel}, true, false, 'warning', '"*"'::jsonb, '["sender_id"]'::jsonb, '0s', '15m', ${JSON.stringify(check.aggregates)}::jsonb`;
        await sql`INSERT INTO fraud_criteria (id, org_id, version, name, expression, enabled, shadow, severity, channels, group_by, group_wait, group_interval, aggregates) VALUES (${values})`.execute(db);
        await sql`INSERT INTO fraud_criterion_versions (criterion_id, org_id, version, name, expression, enabled, shadow, severity, channels, group_by, group_wait, group_interval, aggregates) VALUES (${values})`.execute(db);
        generated.push({ id, orgId: org.id, sql: g.sql });
      }
    }
    const aggregateCriteria = generated.filter((_, i) => i % 6 >= 4).length;
    console.log(`${fmt(ORGS)} organisations, ${fmt(generated.length)} active criteria (${fmt(aggregateCriteria)} with aggregates)`);

    const now = Date.now();
    const t = process.hrtime.bigint();
    await insertShipments(store, shipments(orgIds, HISTORY, now - 7 * 86_400_000, now - 3600_000, 'h', rnd));
    await sql`DELETE FROM shipment_arrival_batches`.execute(db); // history: evaluated long ago
    await sql`ANALYZE shipments`.execute(db);
    console.log(`history: ${fmt(HISTORY)} shipments over the previous week (${fmt(Number(process.hrtime.bigint() - t) / 1e9, 1)} s to store)`);
    const maxHistoryId = await count(db, 'SELECT max(id) AS n FROM shipments');

    // The bulk: one transaction (COPY); its commit starts the clock.
    const bulk = shipments(orgIds, BULK, now - 3600_000, now, 'b', rnd);
    const tc = process.hrtime.bigint();
    await insertShipments(store, bulk);
    const committed = process.hrtime.bigint();
    const nodeCpu = process.cpuUsage();
    const pgCpu = await cpuSecondsOfCommand('postgres');
    console.log(`bulk: ${fmt(BULK)} shipments stored in one transaction in ${fmt(Number(committed - tc) / 1e9, 2)} s`);

    const cache = new CompileCache();
    const ms = { evaluate: 0, store: 0, manager: 0 };
    const stages = { claim: 0, read: 0, criteria: 0, history: 0, aggregates: 0, cel: 0 };
    // As the detector worker drains a backlog: its lanes at once, its chunks (VIGIL_FRAUD_LANES and VIGIL_FRAUD_CHUNK, read and checked as the server reads them).
    const results = await drainArrivals({ store, cache, logger: pino({ level: 'error' }), lanes, chunk });
    const chunks = results.length;
    for (const r of results) {
      ms.evaluate += r.ms.evaluate;
      ms.store += r.ms.store;
      ms.manager += r.ms.manager;
      for (const k of Object.keys(stages) as (keyof typeof stages)[]) stages[k] += r.ms.stages[k];
    }
    const detected = Number(process.hrtime.bigint() - committed) / 1e9;
    const nodeUsed = process.cpuUsage(nodeCpu);
    const cpu = { node: (nodeUsed.user + nodeUsed.system) / 1e6, pg: (await cpuSecondsOfCommand('postgres')) - pgCpu };
    const alerts = await count(db, 'SELECT count(*) AS n FROM fraud_alerts');
    const instances = await count(db, "SELECT count(*) AS n FROM alert_instances WHERE source = 'fraud'");
    const queued = await count(db, 'SELECT count(*) AS n FROM outbox');
    console.log(
      `detector: ${fmt(alerts)} alerts stored, ${fmt(instances)} alert instances, ${fmt(queued)} notifications queued, in ${fmt(chunks)} transactions over ${fmt(lanes)} lanes — ` +
        `${fmt(detected, 2)} s from the bulk's commit (${fmt(BULK / detected)} shipments/s)`,
    );
    console.log(`  of which (summed over the lanes' transactions): claim + criteria + aggregates + evaluation ${fmt(ms.evaluate / 1000, 2)} s, storing alerts ${fmt(ms.store / 1000, 2)} s, alert manager (instances, groups, digests, outbox) ${fmt(ms.manager / 1000, 2)} s`);
    console.log(`  evaluation by stage: ${Object.entries(stages).map(([k, v]) => `${k} ${fmt(v / 1000, 2)} s`).join(', ')}`);
    // Where the machine's time went: a process that is busy the whole window uses `detected` CPU seconds.
    console.log(`  CPU over those ${fmt(detected, 2)} s: Node (this process, all threads) ${fmt(cpu.node, 2)} s, PostgreSQL (every process) ${fmt(cpu.pg, 2)} s`);

    if (process.env.BENCH_FRAUD_NAIVE === '0') return;
    // The naive way: one query per criterion over the new batch.
    // The bench's own table is made by the owner; the queries run as the detector's do (the
    // application role, cross-organisation bypass) unless BENCH_FRAUD_NAIVE_AS=owner (no
    // row-level security at all in their way).
    await asOwner(() => sql`CREATE TABLE naive_alerts (criterion_id uuid NOT NULL, shipment_id bigint NOT NULL, PRIMARY KEY (criterion_id, shipment_id)); GRANT ALL ON naive_alerts TO vigil_app`.execute(db));
    const runNaive = async () => {
      const tn = process.hrtime.bigint();
      for (const g of generated) {
        await sql`INSERT INTO naive_alerts (criterion_id, shipment_id) SELECT ${g.id}::uuid, s.id FROM shipments s WHERE s.org_id = ${g.orgId} AND s.id > ${maxHistoryId} AND ${sql.raw(g.sql)} ON CONFLICT DO NOTHING`.execute(db);
      }
      return Number(process.hrtime.bigint() - tn) / 1e9;
    };
    const naive = process.env.BENCH_FRAUD_NAIVE_AS === 'owner' ? await asOwner(runNaive) : await runNaive();
    const naiveAlerts = await count(db, 'SELECT count(*) AS n FROM naive_alerts');
    const differ = await count(
      db,
      `SELECT count(*) AS n FROM (
         (SELECT criterion_id, shipment_id FROM naive_alerts EXCEPT SELECT criterion_id, shipment_id FROM fraud_alerts)
         UNION ALL (SELECT criterion_id, shipment_id FROM fraud_alerts EXCEPT SELECT criterion_id, shipment_id FROM naive_alerts)) d`,
    );
    console.log(`naive, alerts only: ${fmt(naiveAlerts)} matches from ${fmt(generated.length)} queries in ${fmt(naive, 2)} s; ${differ === 0 ? 'the same (criterion, shipment) pairs as the detector' : `${fmt(differ)} pairs DIFFER from the detector's`}`);

    // The same work the naive way: the alert state is put back to what the detector started from
    // (nothing but this bench writes it), then each criterion's query and its report to the manager.
    const snapshot = { instances, queued };
    await asOwner(() => sql`TRUNCATE naive_alerts, alert_transitions, alert_instances, alert_groups, delivery_attempts, outbox, alerts`.execute(db));
    const byId = new Map((await activeCriteria(db, orgIds)).map((c) => [c.id, c]));
    const nowNaive = new Date();
    const tw = process.hrtime.bigint();
    for (const g of generated) {
      const c = byId.get(g.id)!;
      await db.transaction().execute(async (trx) => {
        const matched = await sql<Record<string, unknown> & { id: string; external_id: string; created_at: Date }>`
          WITH m AS (SELECT s.* FROM shipments s WHERE s.org_id = ${g.orgId} AND s.id > ${maxHistoryId} AND ${sql.raw(g.sql)}),
          ins AS (INSERT INTO naive_alerts (criterion_id, shipment_id) SELECT ${g.id}::uuid, m.id FROM m ON CONFLICT DO NOTHING RETURNING shipment_id)
          SELECT m.* FROM m JOIN ins ON ins.shipment_id = m.id`.execute(trx);
        const alerts: NewAlert[] = [];
        const labels = new Map<string, Record<string, string>>();
        for (const r of matched.rows) {
          const shipment = { ...r, id: String(r.id) } as ShipmentFacts;
          alerts.push({ orgId: c.orgId, criterionId: c.id, version: c.version, shipmentId: shipment.id, externalId: r.external_id, shipmentCreatedAt: r.created_at, shadow: false, severity: c.severity, values: {} });
          labels.set(`${c.id}|${c.version}|${shipment.id}`, labelsOf(c, shipment));
        }
        await reportConditions(trx, reportsOf(alerts, new Set(labels.keys()), labels, [c], nowNaive), nowNaive);
      });
    }
    const naiveSame = Number(process.hrtime.bigint() - tw) / 1e9;
    const naiveInstances = await count(db, "SELECT count(*) AS n FROM alert_instances WHERE source = 'fraud'");
    const naiveQueued = await count(db, 'SELECT count(*) AS n FROM outbox');
    console.log(
      `naive, the same work (one query and one alert-manager report per criterion): ${fmt(await count(db, 'SELECT count(*) AS n FROM naive_alerts'))} alerts, ` +
        `${fmt(naiveInstances)} alert instances, ${fmt(naiveQueued)} notifications queued in ${fmt(naiveSame, 2)} s` +
        (naiveInstances === snapshot.instances && naiveQueued === snapshot.queued ? ' (the same counts as the detector)' : ' (counts DIFFER from the detector\'s)'),
    );
    const ownStages = (ms.evaluate + ms.store) / 1000;
    console.log(
      `ratio: the detector is ${fmt(naiveSame / detected, 1)}× faster than the naive way on the same work (aim ≤ 2 s and ≥ 10×); ` +
        `alerts only: the 1,000 queries took ${fmt(naive, 2)} s, the detector's evaluation and alert storing ${fmt(ownStages, 2)} s summed over its lanes (${fmt(naive / ownStages, 1)}×)`,
    );

    // The alert manager's cost for 10,000 matches in one transaction, reported per group: a burst
    // from 20 senders is 20 reports, not 10,000.
    const burstOrg = orgIds[0]!;
    const id = crypto.randomUUID();
    const values = sql`${id}, ${burstOrg}, 1, 'burst', ${"shipment.sales_channel == 'burst'"}, true, false, 'warning', '"*"'::jsonb, '["sender_id"]'::jsonb, '0s', '15m', '[]'::jsonb`;
    await sql`INSERT INTO fraud_criteria (id, org_id, version, name, expression, enabled, shadow, severity, channels, group_by, group_wait, group_interval, aggregates) VALUES (${values})`.execute(db);
    await sql`INSERT INTO fraud_criterion_versions (criterion_id, org_id, version, name, expression, enabled, shadow, severity, channels, group_by, group_wait, group_interval, aggregates) VALUES (${values})`.execute(db);
    const burst = shipments([burstOrg], 10_000, now - 600_000, now, 'burst', rnd).map((r) => {
      r[16] = `burst-sender-${Math.floor(rnd() * 20)}`;
      r[26] = 'burst'; // sales_channel
      return r;
    });
    await insertShipments(store, burst);
    const r = await detectChunk(store, cache, new Date());
    const burstMatches = await count(db, `SELECT count(*) AS n FROM fraud_alerts WHERE criterion_id = '${id}'`);
    console.log(
      `alert manager, one burst of 10,000 shipments from 20 senders: ${fmt(burstMatches)} matches of the burst criterion (${fmt(r.alerts)} alerts with the organisation's other criteria) ` +
        `in one transaction → ${fmt(r.reported)} reports (one per criterion and sender): manager ${fmt(r.ms.manager)} ms, ` +
        `evaluation ${fmt(r.ms.evaluate)} ms (${Object.entries(r.ms.stages).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}), storing alerts ${fmt(r.ms.store)} ms`,
    );
  } finally {
    await store.close();
    // BENCH_FRAUD_KEEP=1 keeps the database for EXPLAIN ANALYZE of the detector's queries.
    if (process.env.BENCH_FRAUD_KEEP === '1') console.log(`kept database ${database.url}`);
    else await database.drop();
  }
}
