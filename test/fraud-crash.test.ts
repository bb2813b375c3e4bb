/**
 * Exactly-once fraud alerts across kill -9 (a real `vigil start` process on PostgreSQL): a bulk of
 * shipments is being evaluated in several transactions when the process is killed; after the
 * restart every (criterion, shipment) alert exists exactly once, every arrival is evaluated, and
 * every digest notification was queued once and delivered with one webhook id.
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/platform/store/index.js';
import { insertCriterion, untilDetected } from './support/fraud.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, eventually, storeAvailable } from './support/server.js';
import { durableStoreEnv, webhookReceiver } from './support/webhooks.js';

const SHIPMENTS = 60_000;
const SENDERS = 5;

describe('fraud detector crash safety on PostgreSQL', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(!storeAvailable('postgres'))(
    'kill -9 mid-batch: every alert exactly once, every notification queued once',
    async () => {
      const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true', VIGIL_NOTIFY_INTERVAL_MS: '200', VIGIL_ALERT_INTERVAL_MS: '200', VIGIL_FRAUD_CHUNK: '20000' }; // 3 transactions, to kill between them
      Object.assign(env, await durableStoreEnv('postgres', cleanups, 'vigil-fraud-crash-'));
      const hook = await webhookReceiver<{ type: string; alert: { source?: string } }>();
      cleanups.push(hook.close);
      const port = await freePort();
      let proc: VigilProcess = await spawnVigil(env, port);
      cleanups.push(() => killHard(proc));
      const store: Store = await openStore({ untenanted: 'system', databaseUrl: env['DATABASE_URL']!, dataDir: 'memory://', logger: pino({ level: 'silent' }) });
      cleanups.push(() => store.close());
      const db = store.db;
      const api = (path: string, json: unknown) => fetch(proc.url + path, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify(json) });

      expect((await api('/api/v1/channels', { kind: 'webhook', url: hook.url })).status).toBe(201);
      const orgId = (await sql<{ id: string }>`SELECT id FROM orgs ORDER BY created_at LIMIT 1`.execute(db)).rows[0]!.id;
      const crit = await insertCriterion(db, orgId, { name: 'crash digest', expression: "shipment.sender_id.startsWith('crash-')", groupBy: ['sender_id'], groupWait: '0s', groupInterval: '1h' });

      const base = Date.now() - 3600_000;
      const rows = Array.from({ length: SHIPMENTS }, (_, i) => ({ external_id: `k-${i}`, created_at: new Date(base + i * 50).toISOString(), sender_id: `crash-${i % SENDERS}`, declared_value: 10, currency: 'USD' }));
      const res = await api('/api/v1/shipments', rows);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { stored: number }).stored).toBe(SHIPMENTS);

      // Kill while the detector is part-way: some chunks committed, others still queued (one in flight).
      const counts = async () => {
        const r = await sql<{ alerts: string; pending: string }>`SELECT (SELECT count(*) FROM fraud_alerts) AS alerts, (SELECT coalesce(sum(shipments), 0) FROM shipment_arrival_batches) AS pending`.execute(db);
        return { alerts: Number(r.rows[0]!.alerts), pending: Number(r.rows[0]!.pending) };
      };
      await eventually(async () => {
        const c = await counts();
        return c.alerts > 0 || c.pending < SHIPMENTS;
      }, 60_000, 20);
      await killHard(proc);
      const atKill = await counts();
      expect(atKill.pending, 'killed before the detector finished').toBeGreaterThan(0);

      proc = await spawnVigil(env, port);
      await untilDetected(db, 120_000);
      const stored = await sql<{ n: string; d: string }>`SELECT count(*) AS n, count(DISTINCT shipment_id) AS d FROM fraud_alerts WHERE criterion_id = ${crit}`.execute(db);
      expect(Number(stored.rows[0]!.n)).toBe(SHIPMENTS);
      expect(Number(stored.rows[0]!.d)).toBe(SHIPMENTS);

      // One digest per sender (group), queued once, delivered with one webhook id each.
      const fraudDeliveries = () => hook.deliveries.filter((d) => JSON.stringify(d.body).includes('crash digest'));
      // A digest the killed process had claimed but not yet sent is sent again once its claim's
      // lease lapses (outbox-worker.ts, LEASE_MS: 120 s); a kill landing there is rare but happens
      // on a loaded machine (CI), so the wait covers the lease.
      await eventually(async () => new Set(fraudDeliveries().map((d) => d.webhookId)).size >= SENDERS, 150_000);
      const queued = await sql<{ n: string }>`SELECT count(*) AS n FROM outbox o JOIN alerts a ON a.id = o.alert_id WHERE a.source = 'fraud'`.execute(db);
      expect(Number(queued.rows[0]!.n)).toBe(SENDERS);
      await new Promise((r) => setTimeout(r, 1500));
      expect(new Set(fraudDeliveries().map((d) => d.webhookId)).size).toBe(SENDERS);
      const text = fraudDeliveries().map((d) => JSON.stringify(d.body)).join('\n');
      for (let s = 0; s < SENDERS; s++) expect(text).toContain(`sender_id crash-${s}`);
    },
    420_000,
  );
});
