/**
 * The fraud detector under a restart of PostgreSQL while shipments keep arriving (a real `vigil
 * start` process, so a crash fails the test instead of the runner): the process stays up, intake
 * answers 200 or 503 + Retry-After meanwhile, and afterwards every stored shipment has exactly one
 * alert of the criterion — those acknowledged before, during and after the outage alike — and
 * each sender's digest was queued and delivered once.
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/platform/store/index.js';
import { untilDetected } from './support/fraud.js';
import { adminPoster, postOnce } from './support/post-once.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, eventually } from './support/server.js';
import { startThrowawayPostgres, throwawayPostgresUnavailable, type ThrowawayPostgres } from './support/throwaway.js';
import { webhookReceiver } from './support/webhooks.js';

const pgMissing = await throwawayPostgresUnavailable();
const PER_REQUEST = 500;
const SENDERS = 4;
const RESTARTS = 2;

/** Two clients posting bulks of new shipments back to back, remembering what was acknowledged. */
function continuousShipments(url: string) {
  const acked = new Set<string>();
  const answers: { at: number; status: number; retryAfter: string | undefined; body: string }[] = [];
  const transportErrors: string[] = [];
  let running = true;
  const client = async (c: number) => {
    for (let batch = 0; running; batch++) {
      const ids = Array.from({ length: PER_REQUEST }, (_, i) => `r${c}-${batch}-${i}`);
      const now = Date.now();
      const body = ids
        .map((id, i) => JSON.stringify({ external_id: id, created_at: new Date(now - i).toISOString(), sender_id: `restart-${i % SENDERS}`, declared_value: 20, currency: 'USD', destination_country: 'NG' }))
        .join('\n');
      const at = Date.now();
      try {
        const answer = await postOnce(`${url}/api/v1/shipments`, body, { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/x-ndjson' }, 30_000);
        answers.push({ at, ...answer });
        if (answer.status === 200) for (const id of ids) acked.add(id);
        else await new Promise((r) => setTimeout(r, 100));
      } catch (error) {
        transportErrors.push((error as Error).message);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const done = Promise.all([client(0), client(1)]);
  return {
    acked,
    answers,
    transportErrors,
    servedSince: (since: number) => answers.some((a) => a.at >= since && a.status === 200),
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('fraud detection across PostgreSQL restarts under continuous intake', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(pgMissing !== undefined)(
    `Vigil stays up, and every stored shipment gets exactly one alert and each sender one digest${pgMissing ? ` (skipped: ${pgMissing})` : ''}`,
    async () => {
      const pg: ThrowawayPostgres = await startThrowawayPostgres();
      cleanups.push(() => pg.destroy());
      const hook = await webhookReceiver<{ type: string; alert: { title?: string } }>();
      cleanups.push(hook.close);
      const env: Record<string, string> = { DATABASE_URL: pg.url, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true', VIGIL_NOTIFY_INTERVAL_MS: '200', VIGIL_ALERT_INTERVAL_MS: '200' };
      const proc: VigilProcess = await spawnVigil(env, await freePort());
      cleanups.push(() => killHard(proc));
      const api = adminPoster(proc.url, ADMIN_TOKEN);
      await api('/api/v1/channels', { kind: 'webhook', url: hook.url });
      // Grouped per sender over a long interval: one digest per sender for the whole test.
      const criterion = await api('/api/v1/fraud/criteria', {
        name: 'restart digest',
        expression: "shipment.destination_country in ['NG', 'KP'] && shipment.sender_id.startsWith('restart-')",
        enabled: true,
        group_by: ['sender_id'],
        group_wait: '0s',
        group_interval: '1h',
      });

      const traffic = continuousShipments(proc.url);
      const alive = () => proc.child.exitCode === null && proc.child.signalCode === null;
      try {
        await eventually(async () => traffic.acked.size >= 5 * PER_REQUEST, 30_000, 50);
        for (let i = 0; i < RESTARTS; i++) {
          const down = Date.now();
          await pg.stop();
          await eventually(async () => !alive() || traffic.answers.some((a) => a.at >= down && a.status === 503), 15_000, 50);
          await new Promise((r) => setTimeout(r, 1500)); // the detector's poll runs into the outage
          expect(alive(), `Vigil exited while PostgreSQL was down:\n${proc.output()}`).toBe(true);
          await pg.start();
          const up = Date.now();
          await eventually(async () => traffic.servedSince(up), 20_000, 25);
          const acked = traffic.acked.size;
          await eventually(async () => traffic.acked.size >= acked + 5 * PER_REQUEST, 20_000, 50);
        }
      } finally {
        await traffic.stop();
      }
      expect(alive(), `Vigil exited:\n${proc.output()}`).toBe(true);
      expect(proc.output()).not.toMatch(/Unhandled 'error' event|uncaught exception|unhandled rejection/i);
      const unexpected = traffic.answers.filter((a) => a.status !== 200 && !(a.status === 503 && /^\d+$/.test(a.retryAfter ?? '')));
      expect(unexpected.map((a) => `${a.status} retry-after=${a.retryAfter}: ${a.body.slice(0, 200)}`)).toEqual([]);
      expect(traffic.transportErrors).toEqual([]);
      // The failures were told once per outage, not once per poll or per refused request.
      const logLines = proc.output().split('\n').filter((l) => l.trim().startsWith('{'));
      expect(logLines.length, `log lines:\n${logLines.join('\n')}`).toBeLessThan(15 * RESTARTS);

      const store = await openStore({ untenanted: 'system', databaseUrl: pg.url, dataDir: 'memory://', logger: pino({ level: 'silent' }) });
      cleanups.push(() => store.close());
      const db = store.db;
      // The detector came back by itself and caught up with everything stored.
      await untilDetected(db, 60_000);
      const stored = (await sql<{ external_id: string }>`SELECT external_id FROM shipments WHERE sender_id LIKE 'restart-%'`.execute(db)).rows.map((r) => r.external_id);
      expect([...traffic.acked].filter((id) => !stored.includes(id)), 'acknowledged shipments missing').toEqual([]);
      const alerts = await sql<{ external_id: string; n: string }>`SELECT external_id, count(*) AS n FROM fraud_alerts WHERE criterion_id = ${criterion.id} GROUP BY external_id`.execute(db);
      expect(alerts.rows.filter((r) => Number(r.n) > 1).map((r) => r.external_id), 'shipments alerted twice').toEqual([]);
      const alerted = new Set(alerts.rows.map((r) => r.external_id));
      expect(stored.filter((id) => !alerted.has(id)).slice(0, 20), 'stored shipments never evaluated').toEqual([]);
      expect(alerted.size).toBe(stored.length);

      // One digest per sender (the group interval is an hour), queued once and delivered once.
      const digests = () => hook.deliveries.filter((d) => JSON.stringify(d.body).includes('restart digest'));
      await eventually(async () => new Set(digests().map((d) => d.webhookId)).size >= SENDERS, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(new Set(digests().map((d) => d.webhookId)).size).toBe(SENDERS);
      const queued = await sql<{ n: string }>`SELECT count(*) AS n FROM outbox o JOIN alerts a ON a.id = o.alert_id WHERE a.source = 'fraud'`.execute(db);
      expect(Number(queued.rows[0]!.n)).toBe(SENDERS);
      expect(alive(), `Vigil exited:\n${proc.output()}`).toBe(true);
    },
    240_000,
  );
});
