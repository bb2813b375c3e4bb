/**
 * The fraud detector against a real server on PGlite and PostgreSQL (issue 10, "Detection and alerts"): each
 * aggregate kind with shipments out of order in created_at (within an intake and across two), the
 * same answers from a backtest; exactly once with concurrent intakes, concurrent detectors and a
 * redelivery; shadow mode; a failing criterion paused while the others go on (and an absent field
 * pausing nothing); one grouped digest per sender through a real webhook receiver and a real SMTP peer.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { runBacktest } from '../src/domains/fraud/index.js';
import { asOwner, asSystem } from '../src/platform/store/index.js';
import { detectChunk, drainArrivals } from '../src/domains/fraud/detector.js';
import { CompileCache } from '../src/domains/fraud/engine.js';
import { startMailSink, type MailSink } from './support/mail.js';
import { insertCriterion, matchedIds, untilDetected } from './support/fraud.js';
import { STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';
import { webhookReceiver, type Delivery } from './support/webhooks.js';

const MIN = 60_000;

describe.each(STORE_KINDS)('fraud detection on %s', (kind) => {
  const run = it.skipIf(!storeAvailable(kind));
  let server: TestServer;
  let hook: Awaited<ReturnType<typeof webhookReceiver<Record<string, unknown>>>>;
  let mail: MailSink;
  // A recent start (backtests read the last N days), on a whole hour.
  const T = Math.floor((Date.now() - 3 * 3600_000) / 3600_000) * 3600_000;
  const at = (minutes: number) => new Date(T + minutes * MIN).toISOString();

  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    hook = await webhookReceiver<Record<string, unknown>>();
    mail = await startMailSink();
    server = await startTestServer(kind, { VIGIL_ALERT_INTERVAL_MS: '100', VIGIL_NOTIFY_INTERVAL_MS: '100', VIGIL_SMTP_URL: mail.url, LOG_LEVEL: 'error' });
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
    await hook?.close();
    await mail?.close();
  });

  const intake = async (rows: Record<string, unknown>[]) => {
    const res = await server.api('/api/v1/shipments', { method: 'POST', json: rows });
    expect(res.status).toBe(200);
    return (await res.json()) as { stored: number };
  };
  const db = () => server.ctx.db;
  const org = () => server.org.id;

  run('computes each aggregate kind as of each shipment, whatever the order of arrival, as a backtest does', async () => {
    const s = (id: string, minute: number, extra: Record<string, unknown>) => ({
      external_id: id,
      created_at: at(minute),
      declared_value: 100,
      currency: 'USD',
      sender_id: 'agg-s1',
      recipient_address: '1 Agg Street',
      destination_country: 'DE',
      ...extra,
    });
    const criteria = {
      count: await insertCriterion(db(), org(), { expression: "velocity.count('sender_id', '1h') >= 3", channels: [] }),
      sum: await insertCriterion(db(), org(), { expression: "velocity.sum('sender_id', 'declared_value_usd', '1h') > 250.0", channels: [] }),
      avg: await insertCriterion(db(), org(), {
        expression: "velocity.avg('sender_id', 'declared_value_usd', '1d') > 0.0 && shipment.declared_value_usd > 3.0 * velocity.avg('sender_id', 'declared_value_usd', '1d')",
        channels: [],
      }),
      distinct: await insertCriterion(db(), org(), { expression: "velocity.distinct('recipient_address', 'sender_id', '7d') >= 3", channels: [] }),
      first: await insertCriterion(db(), org(), { expression: "velocity.first('sender_id', 'destination_country')", channels: [] }),
    };
    // One intake, out of order in created_at.
    await intake([
      s('a-30', 30, { declared_value: 1000 }),
      s('a-00', 0, {}),
      s('a-90', 90, {}),
      s('b-05', 5, { sender_id: 'agg-s2', declared_value: 50 }),
      s('a-20', 20, { destination_country: 'FR' }),
      s('c-15', 15, { sender_id: 'agg-s3', declared_value: 50 }),
      s('a-10', 10, {}),
    ]);
    await untilDetected(db());
    // A second intake, earlier in created_at than some already evaluated.
    await intake([s('a-25', 25, { destination_country: 'IT' })]);
    await untilDetected(db());

    const expected = {
      count: ['a-20', 'a-25', 'a-30'],
      sum: ['a-20', 'a-25', 'a-30'],
      avg: ['a-30'],
      distinct: ['a-20', 'a-25', 'a-30', 'a-90', 'c-15'],
      first: ['a-00', 'a-20', 'a-25', 'b-05', 'c-15'],
    };
    for (const [kind, id] of Object.entries(criteria)) {
      expect(await matchedIds(db(), id), kind).toEqual(expected[kind as keyof typeof expected]);
      // The values the expression read are stored with the alert.
      const values = await sql<{ values: Record<string, unknown> }>`SELECT "values" FROM fraud_alerts WHERE criterion_id = ${id} LIMIT 1`.execute(db());
      expect(Object.keys(values.rows[0]!.values).some((k) => k.startsWith(`velocity.${kind}(`)), kind).toBe(true);
    }
    // A backtest (all of it stored by now) gives the same matches.
    for (const [kind, id] of Object.entries(criteria)) {
      const expression = (await sql<{ expression: string }>`SELECT expression FROM fraud_criteria WHERE id = ${id}`.execute(db())).rows[0]!.expression;
      const bt = await runBacktest(db(), org(), { expression: `shipment.sender_id.startsWith('agg-') && (${expression})`, days: 2, samples: 100 }, new Date());
      expect(bt.samples.map((x) => x.external_id).sort(), `backtest ${kind}`).toEqual(expected[kind as keyof typeof expected]);
      expect(bt.errors).toBe(0);
      expect(bt.per_day.reduce((n, d) => n + d.matched, 0)).toBe(bt.matched);
    }
    await sql`UPDATE fraud_criteria SET enabled = false WHERE id IN (${sql.join(Object.values(criteria))})`.execute(db());
  });

  run('stores one alert per (criterion version, shipment) with concurrent intakes, concurrent detectors and a redelivery', async () => {
    const crit = await insertCriterion(db(), org(), { expression: "shipment.sender_id.startsWith('once-')", channels: [] });
    const rows = (prefix: string) => Array.from({ length: 1500 }, (_, i) => ({ external_id: `${prefix}-${i}`, created_at: at(i % 60), sender_id: `once-${i % 7}` }));
    const cache = new CompileCache();
    let helping = true;
    // Two more detectors beside the server's own, taking chunks concurrently.
    const helper = async () => {
      while (helping) {
        const r = await detectChunk(server.ctx.store, cache, new Date(), { chunk: 100 });
        if (r.shipments === 0) await new Promise((res) => setTimeout(res, 5));
      }
    };
    const helpers = [helper(), helper()];
    const [a, b] = await Promise.all([intake(rows('once-a')), intake(rows('once-b'))]);
    expect(a.stored + b.stored).toBe(3000);
    await untilDetected(db());
    helping = false;
    await Promise.all(helpers);
    const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n, count(DISTINCT shipment_id) AS d FROM fraud_alerts WHERE criterion_id = ${crit}`.execute(db())).rows[0]!.n);
    expect(await count()).toBe(3000);
    // A redelivery: the same shipments queued again are evaluated again, and nothing is stored twice.
    await sql`INSERT INTO shipment_arrival_batches (org_id, ids, shipments) SELECT org_id, range_agg(int8range(id, id, '[]')), count(*) FROM shipments WHERE external_id LIKE 'once-a-%' GROUP BY org_id`.execute(db());
    await untilDetected(db());
    expect(await count()).toBe(3000);
    // Repeating an intake stores no shipment and queues nothing.
    expect((await intake(rows('once-a').slice(0, 10))).stored).toBe(0);
    await sql`UPDATE fraud_criteria SET enabled = false WHERE id = ${crit}`.execute(db());
  });

  run('records shadow-mode matches without reporting them', async () => {
    const crit = await insertCriterion(db(), org(), { expression: "shipment.sender_id == 'shadow-1'", shadow: true });
    await intake([{ external_id: 'sh-1', created_at: at(1), sender_id: 'shadow-1' }]);
    await untilDetected(db());
    const alerts = await sql<{ shadow: boolean }>`SELECT shadow FROM fraud_alerts WHERE criterion_id = ${crit}`.execute(db());
    expect(alerts.rows).toEqual([{ shadow: true }]);
    const instances = await sql<{ n: string }>`SELECT count(*) AS n FROM alert_instances WHERE rule_id = ${crit}`.execute(db());
    expect(Number(instances.rows[0]!.n)).toBe(0);
    await sql`UPDATE fraud_criteria SET enabled = false WHERE id = ${crit}`.execute(db());
  });

  run('pauses a criterion that fails at evaluation while the others go on; an absent field pauses nothing', async () => {
    const failing = await insertCriterion(db(), org(), { expression: "shipment.sender_id == 'p-1' && shipment.pieces / (shipment.pieces - 2) > 0", channels: [] });
    const absent = await insertCriterion(db(), org(), { expression: "shipment.sender_id == 'p-1' && shipment.weight_kg > 10.0", channels: [] });
    const fine = await insertCriterion(db(), org(), { expression: "shipment.sender_id == 'p-1'", channels: [] });
    await intake([
      { external_id: 'p-a', created_at: at(1), sender_id: 'p-1', pieces: 3 },
      { external_id: 'p-b', created_at: at(2), sender_id: 'p-1', pieces: 2 },
      { external_id: 'p-c', created_at: at(3), sender_id: 'p-1', pieces: 2, weight_kg: 20 },
    ]);
    await untilDetected(db());
    const state = await sql<{ id: string; paused_reason: string | null }>`SELECT id, paused_reason FROM fraud_criteria WHERE id IN (${failing}, ${absent}, ${fine})`.execute(db());
    const reason = (id: string) => state.rows.find((r) => r.id === id)!.paused_reason;
    expect(reason(failing)).toMatch(/evaluation failed on shipment p-b: division by zero/);
    expect(reason(absent)).toBeNull();
    expect(reason(fine)).toBeNull();
    expect(await matchedIds(db(), fine)).toEqual(['p-a', 'p-b', 'p-c']);
    expect(await matchedIds(db(), absent)).toEqual(['p-c']);
    const audit = await sql<{ action: string; actor: string | null; version: number }>`SELECT action, actor, version FROM fraud_audit WHERE criterion_id = ${failing}`.execute(db());
    expect(audit.rows).toEqual([{ action: 'criterion.paused', actor: null, version: 1 }]);
    // Paused: later shipments are not evaluated against it.
    await intake([{ external_id: 'p-d', created_at: at(4), sender_id: 'p-1', pieces: 5 }]);
    await untilDetected(db());
    expect(await matchedIds(db(), failing)).toEqual(['p-a']);
    expect(await matchedIds(db(), fine)).toEqual(['p-a', 'p-b', 'p-c', 'p-d']);
    await sql`UPDATE fraud_criteria SET enabled = false WHERE id IN (${absent}, ${fine})`.execute(db());
  });

  run('sends one grouped digest per sender to a webhook and by e-mail, and never repeats it', async () => {
    for (const channel of [
      { kind: 'webhook', name: 'fraud hook', url: hook.url },
      { kind: 'email', name: 'fraud mail', to: 'fraud@example.com' },
    ]) {
      const res = await server.api('/api/v1/channels', { method: 'POST', json: channel });
      expect(res.status).toBe(201);
    }
    await insertCriterion(db(), org(), { name: 'digest test', expression: "shipment.sales_channel == 'digest'", groupBy: ['sender_id'], groupWait: '1s', groupInterval: '1h' });
    const rows = [
      ...Array.from({ length: 37 }, (_, i) => ({ external_id: `dg-x-${i}`, created_at: at(i), sender_id: 'sender-X', sales_channel: 'digest' })),
      ...Array.from({ length: 3 }, (_, i) => ({ external_id: `dg-y-${i}`, created_at: at(i), sender_id: 'sender-Y', sales_channel: 'digest' })),
    ];
    await intake(rows);
    await untilDetected(db());
    const fraudDeliveries = () => hook.deliveries.filter((d: Delivery<Record<string, unknown>>) => JSON.stringify(d.body).includes('digest test'));
    await eventually(async () => fraudDeliveries().length >= 2 && mail.messages.length >= 2, 15_000);
    const texts = fraudDeliveries().map((d) => JSON.stringify(d.body));
    expect(texts.some((t) => t.includes('37 shipments from sender_id sender-X'))).toBe(true);
    expect(texts.some((t) => t.includes('3 shipments from sender_id sender-Y'))).toBe(true);
    const raw = mail.messages.map((m) => m.raw.replace(/=\r?\n/g, '')).join('\n');
    expect(raw).toContain('37 shipments from sender_id sender-X');
    // Nothing more: no reminder, no second digest for the same matches.
    await new Promise((r) => setTimeout(r, 2500));
    expect(fraudDeliveries()).toHaveLength(2);
    expect(mail.messages).toHaveLength(2);
  });
  run('tells each match once: the next digest names only what matched since, told matches are closed, a silenced sender is never told', async () => {
    // The channels of the digest test above are the organisation's ('*').
    const id = await insertCriterion(db(), org(), { name: 'once test', expression: "shipment.sales_channel == 'once'", groupBy: ['sender_id'], groupWait: '0s', groupInterval: '2s' });
    const silence = await server.api('/api/v1/silences', { method: 'POST', json: { matchers: ['sender_id="sender-Q"'], duration: '1h' } });
    expect(silence.status).toBe(201);
    const deliveries = () => hook.deliveries.filter((d: Delivery<Record<string, unknown>>) => JSON.stringify(d.body).includes('once test')).map((d) => JSON.stringify(d.body));
    const row = (n: string, sender: string) => ({ external_id: `once-${n}`, created_at: at(200), sender_id: sender, sales_channel: 'once' });
    await intake([...['1', '2', '3', '4', '5'].map((n) => row(n, 'sender-Z')), row('q1', 'sender-Q')]);
    await untilDetected(db());
    await eventually(async () => deliveries().length >= 1, 15_000);
    expect(deliveries()[0]).toContain('5 shipments from sender_id sender-Z');
    await intake([row('6', 'sender-Z'), row('7', 'sender-Z'), row('q2', 'sender-Q')]);
    await untilDetected(db());
    await eventually(async () => deliveries().length >= 2, 15_000);
    // The second digest, a group interval later: the two new matches only, not the five told already.
    expect(deliveries()[1]).toContain('2 shipments from sender_id sender-Z');
    expect(deliveries()[1]).not.toContain('5 shipments');
    await new Promise((r) => setTimeout(r, 2500));
    expect(deliveries()).toHaveLength(2);
    expect(deliveries().join('\n')).not.toContain('sender-Q');
    // Nothing of this criterion stays firing: told and silenced matches are closed, each with its reason.
    const instances = await sql<{ state: string; sender: string }>`SELECT state, labels->>'sender_id' AS sender FROM alert_instances WHERE rule_id = ${id}`.execute(db());
    expect(instances.rows.map((r) => r.state)).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
    const reasons = await sql<{ sender: string; reason: string }>`
      SELECT i.labels->>'sender_id' AS sender, t.reason FROM alert_transitions t JOIN alert_instances i USING (org_id, fingerprint)
      WHERE i.rule_id = ${id} AND t.to_state = 'resolved' ORDER BY 1, 2`.execute(db());
    expect(reasons.rows).toEqual([
      { sender: 'sender-Q', reason: 'silenced: closed without being told' },
      { sender: 'sender-Q', reason: 'silenced: closed without being told' },
      { sender: 'sender-Z', reason: 'told in a digest' },
      { sender: 'sender-Z', reason: 'told in a digest' },
    ]);
  });
  run('a criterion grouped on long values (1,000-character addresses) neither stalls the detector nor loses its digest', async () => {
    await insertCriterion(db(), org(), { name: 'long key test', expression: "shipment.sales_channel == 'longkey'", groupBy: ['recipient_address', 'sender_id', 'destination_country'], groupWait: '0s', groupInterval: '1h' });
    const address = (n: number) => `${'東京都千代田区丸の内一丁目'.repeat(76)}${n}`.slice(-1000);
    await intake([0, 1, 2].map((n) => ({ external_id: `lk-${n}`, created_at: at(300), sender_id: `s${'x'.repeat(190)}${n}`, recipient_address: address(n), destination_country: 'JP', sales_channel: 'longkey' })));
    await untilDetected(db());
    const deliveries = () => hook.deliveries.filter((d: Delivery<Record<string, unknown>>) => JSON.stringify(d.body).includes('long key test'));
    await eventually(async () => deliveries().length >= 3, 15_000);
    // The detector goes on with the next shipments.
    await intake([{ external_id: 'lk-after', created_at: at(301), sales_channel: 'after' }]);
    await untilDetected(db());
  });
  run("one organisation whose shipments fail every time is set aside: the others' are detected, its own stay queued", async () => {
    const other = (await asSystem('test: a second organisation', () => createOrg(db(), 'poisoned'))).id;
    const otherKey = (await asSystem('test: its key', () => createApiKey(db(), other, 'k', 'admin'))).key;
    const fine = await insertCriterion(db(), org(), { name: 'isolation fine', expression: "shipment.sales_channel == 'iso'", channels: [] });
    const poisoned = await insertCriterion(db(), other, { name: 'isolation poisoned', expression: "shipment.sales_channel == 'iso'", channels: [] });
    // A fault no one foresaw, that fails every transaction holding this organisation's alerts.
    await asOwner(() =>
      sql`CREATE FUNCTION iso_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poisoned organisation'; END $$;
          CREATE TRIGGER iso_poison BEFORE INSERT ON fraud_alerts FOR EACH ROW WHEN (NEW.org_id = ${sql.lit(other)}::uuid) EXECUTE FUNCTION iso_poison()`.execute(db()),
    );
    try {
      const row = (n: string) => ({ external_id: `iso-${n}`, created_at: at(400), sales_channel: 'iso' });
      const posted = await server.api('/api/v1/shipments', { method: 'POST', json: [row('b1'), row('b2')], key: otherKey });
      expect(posted.status).toBe(200);
      await intake([row('a1')]);
      // The first organisation's shipment is detected although every chunk holding the other's fails.
      await eventually(async () => (await matchedIds(db(), fine)).length === 1, 20_000);
      await intake([row('a2')]);
      await eventually(async () => (await matchedIds(db(), fine)).length === 2, 10_000);
      expect(await matchedIds(db(), poisoned)).toEqual([]);
      const queued = await sql<{ n: string }>`SELECT coalesce(sum(shipments), 0) AS n FROM shipment_arrival_batches WHERE org_id = ${other}`.execute(db());
      expect(Number(queued.rows[0]!.n), "the set-aside organisation's shipments are kept, not skipped").toBe(2);
    } finally {
      await asOwner(() => sql`DROP TRIGGER iso_poison ON fraud_alerts; DROP FUNCTION iso_poison()`.execute(db()));
    }
    // Mended: its shipments are detected when it is tried again (here at once, not after the back-off).
    await detectChunk(server.ctx.store, new CompileCache(), new Date(), { scope: { onlyOrg: other } });
    expect(await matchedIds(db(), poisoned)).toEqual(['iso-b1', 'iso-b2']);
  });
  run('lanes split the organisations between concurrent transactions: every shipment of every organisation evaluated once', async () => {
    const orgs = [org()];
    for (let o = 0; o < 5; o++) orgs.push((await asSystem('test: more organisations', () => createOrg(db(), `lane-${o}`))).id);
    const crits: string[] = [];
    for (const [o, orgId] of orgs.entries()) {
      crits.push(await insertCriterion(db(), orgId, { name: `lanes ${o}`, expression: "shipment.sales_channel == 'lanes'", channels: [] }));
      const key = (await asSystem('test: its key', () => createApiKey(db(), orgId, `lanes-${o}`, 'admin'))).key;
      const rows = Array.from({ length: 300 }, (_, i) => ({ external_id: `ln-${o}-${i}`, created_at: at(500), sales_channel: 'lanes' }));
      expect((await server.api('/api/v1/shipments', { method: 'POST', json: rows, key })).status).toBe(200);
    }
    // Beside the server's own detector (2 lanes): two more drains of 3 lanes each, small chunks.
    const cache = new CompileCache();
    const drain = () => drainArrivals({ store: server.ctx.store, cache, logger: server.ctx.logger, lanes: 3, chunk: 97 });
    await Promise.all([drain(), drain()]);
    await untilDetected(db());
    for (const [o, crit] of crits.entries()) {
      const stored = await sql<{ n: string; d: string }>`SELECT count(*) AS n, count(DISTINCT shipment_id) AS d FROM fraud_alerts WHERE criterion_id = ${crit}`.execute(db());
      expect({ org: o, n: Number(stored.rows[0]!.n), d: Number(stored.rows[0]!.d) }).toEqual({ org: o, n: 300, d: 300 });
    }
  });
});
