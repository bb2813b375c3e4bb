import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STORE_KINDS, eventually, storeAvailable } from './support/server.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { durableStoreEnv, webhookReceiver } from './support/webhooks.js';

describe.each(STORE_KINDS)('crash safety on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(!storeAvailable(kind))('kill -9 between a start ping and its deadline still yields exactly one alert after restart', async () => {
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true', VIGIL_SWEEP_INTERVAL_MS: '200', VIGIL_NOTIFY_INTERVAL_MS: '200' };
    Object.assign(env, await durableStoreEnv(kind, cleanups, 'vigil-crash-'));
    const hook = await webhookReceiver<{ type: string; alert: { kind: string; subject_id: string } }>();
    cleanups.push(hook.close);
    const port = await freePort();
    let proc: VigilProcess = await spawnVigil(env, port);
    cleanups.push(() => killHard(proc));
    const api = (path: string, json?: unknown) =>
      fetch(proc.url + path, { method: json ? 'POST' : 'GET', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: json ? JSON.stringify(json) : undefined });

    expect((await api('/api/v1/channels', { kind: 'webhook', url: hook.url })).status).toBe(201);
    const check = (await (await api('/api/v1/checks', { name: 'nightly export', timeout: 3600, grace: 3600, max_runtime: 2 })).json()) as { id: string };
    expect((await fetch(`${proc.url}/ping/${check.id}/start`, { method: 'POST' })).status).toBe(200);

    await killHard(proc); // the deadline (start + 2 s) passes while Vigil is down
    await new Promise((r) => setTimeout(r, 3000));
    expect(hook.deliveries).toEqual([]);

    proc = await spawnVigil(env, port);
    await eventually(async () => hook.deliveries.length > 0, 15_000);
    await new Promise((r) => setTimeout(r, 2000)); // time for a duplicate to show up, if there were one
    const alerts = hook.deliveries.filter((d) => d.body.type === 'alert.firing');
    expect(new Set(alerts.map((d) => d.webhookId)).size).toBe(1);
    expect(alerts[0]!.body.alert).toMatchObject({ kind: 'too_long', subject_id: check.id });

    // A second crash and restart after the alert must not raise it again either.
    await killHard(proc);
    proc = await spawnVigil(env, port);
    await new Promise((r) => setTimeout(r, 1500));
    expect(new Set(hook.deliveries.filter((d) => d.body.type === 'alert.firing').map((d) => d.webhookId)).size).toBe(1);
  });
});
