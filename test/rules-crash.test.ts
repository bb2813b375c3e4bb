import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STORE_KINDS, storeAvailable } from './support/server.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { durableStoreEnv, webhookReceiver } from './support/webhooks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The promise of issue 9 under a crash: a log rule's incident survives `kill -9` — the firing
 * notification is not sent again after the restart, and the resolve arrives exactly once, from
 * the evaluator catching up on the event time it missed.
 */
describe.each(STORE_KINDS)('log rule incident across kill -9 on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(!storeAvailable(kind))('sends the firing once and the resolve exactly once', async () => {
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true', VIGIL_NOTIFY_INTERVAL_MS: '200', VIGIL_ALERT_INTERVAL_MS: '200', VIGIL_RULES_INTERVAL_MS: '200', VIGIL_STATS_OUT_OF_ORDER_MS: '1000' };
    Object.assign(env, await durableStoreEnv(kind, cleanups, 'vigil-alert-crash-'));
    const hook = await webhookReceiver<{ type: string }>();
    cleanups.push(hook.close);
    const port = await freePort();
    let proc: VigilProcess = await spawnVigil(env, port);
    cleanups.push(() => killHard(proc));
    const api = (path: string, json?: unknown, method = json ? 'POST' : 'GET') =>
      fetch(proc.url + path, { method, headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: json ? JSON.stringify(json) : undefined });
    const ingest = async (at: number, count: number) => {
      const events = Array.from({ length: count }, (_, i) => ({ timestamp: new Date(at + i).toISOString(), source: 'edge', message: `GET /shop ${i}`, method: 'GET', path: '/shop/item', status: 200 }));
      expect((await api('/api/v1/logs', events)).status).toBe(200);
    };

    expect((await api('/api/v1/channels', { kind: 'webhook', url: hook.url })).status).toBe(201);
    const rule = await api('/api/v1/rules', {
      name: 'shop burst',
      metric: 'requests',
      window: '10s',
      op: '>',
      threshold: 20,
      channels: '*',
      grouping: { group_wait: '0s', group_interval: '1s', repeat_interval: '4h' },
    });
    expect(rule.status).toBe(201);

    // A burst of 40 requests in one second, then a trickle that moves event time (and the watermark) on.
    const t0 = Date.now();
    await ingest(t0, 40);
    const fired = () => hook.deliveries.filter((d) => d.body.type === 'alert.firing');
    const resolvedOnes = () => hook.deliveries.filter((d) => d.body.type === 'alert.resolved');
    for (let s = 1; fired().length === 0; s++) {
      if (s > 40) throw new Error(`no firing notification: ${JSON.stringify(hook.deliveries)}\n${proc.output()}`);
      await sleep(1000);
      await ingest(Date.now(), 1);
    }
    expect(resolvedOnes()).toEqual([]);

    // Crash mid-incident, while the trickle goes on moving event time past the burst's window.
    await killHard(proc);
    proc = await spawnVigil(env, port);
    for (let s = 1; resolvedOnes().length === 0; s++) {
      if (s > 60) throw new Error(`no resolve after the restart: ${JSON.stringify(hook.deliveries)}\n${proc.output()}`);
      await sleep(1000);
      await ingest(Date.now(), 1);
    }
    await sleep(3000); // time for a duplicate to show up, if there were one
    expect(new Set(fired().map((d) => d.webhookId)).size).toBe(1);
    expect(new Set(resolvedOnes().map((d) => d.webhookId)).size).toBe(1);

    // Once more: a crash after the resolve re-sends nothing.
    await killHard(proc);
    proc = await spawnVigil(env, port);
    await ingest(Date.now(), 1);
    await sleep(3000);
    expect(new Set(fired().map((d) => d.webhookId)).size).toBe(1);
    expect(new Set(resolvedOnes().map((d) => d.webhookId)).size).toBe(1);
    const alerts = (await (await api('/api/v1/alerts?source=log')).json()) as { alerts: { state: string; rule_name: string }[] };
    expect(alerts.alerts.filter((a) => a.rule_name === 'shop burst').map((a) => a.state)).toEqual(['resolved']);
  });
});
