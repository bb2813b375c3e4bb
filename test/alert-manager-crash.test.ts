/**
 * Exactly-once notifications of the alert manager across kill -9 (a real `vigil start` process,
 * PGlite on disk and PostgreSQL): a check alerted down, killed mid-incident while a reminder falls
 * due, restarted: its firing is never re-sent, the overdue reminder goes out once, and the resolve
 * arrives exactly once, also after a second crash.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STORE_KINDS, eventually, storeAvailable } from './support/server.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { durableStoreEnv, webhookReceiver } from './support/webhooks.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORE_KINDS)('alert manager crash safety on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(!storeAvailable(kind))('kill -9 mid-incident: nothing re-sent, the overdue reminder once, the resolve exactly once', async () => {
    const env: Record<string, string> = {
      VIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true',
      VIGIL_SWEEP_INTERVAL_MS: '200',
      VIGIL_NOTIFY_INTERVAL_MS: '200',
      VIGIL_ALERT_INTERVAL_MS: '200',
    };
    Object.assign(env, await durableStoreEnv(kind, cleanups, 'vigil-alert-crash-'));
    const hook = await webhookReceiver<{ type: string; alert: { kind: string; subject_id: string } }>();
    cleanups.push(hook.close);
    const port = await freePort();
    let proc: VigilProcess = await spawnVigil(env, port);
    cleanups.push(() => killHard(proc));
    const api = (path: string, json?: unknown) =>
      fetch(proc.url + path, { method: json ? 'POST' : 'GET', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: json ? JSON.stringify(json) : undefined });
    const ids = (type: string) => new Set(hook.deliveries.filter((d) => d.body.type === type).map((d) => d.webhookId));

    expect((await api('/api/v1/channels', { kind: 'webhook', url: hook.url })).status).toBe(201);
    // Reminders every 4 s while down; the next run is an hour away, so only pings change its state.
    const check = (await (await api('/api/v1/checks', { name: 'billing export', timeout: 3600, grace: 3600, realert: 4 })).json()) as { id: string };
    expect((await fetch(`${proc.url}/ping/${check.id}/1`, { method: 'POST' })).status).toBe(200);
    await eventually(async () => ids('alert.firing').size === 1, 10_000);

    await killHard(proc); // mid-incident; the reminder falls due while Vigil is down
    await pause(5000);
    const before = hook.deliveries.length;
    proc = await spawnVigil(env, port);
    await eventually(async () => ids('alert.reminder').size >= 1, 10_000);
    // One reminder for the time missed, not one per interval missed; the firing is not sent again.
    expect(hook.deliveries.slice(before).filter((d) => d.body.type === 'alert.reminder').length).toBe(1);
    expect(ids('alert.firing').size).toBe(1);

    expect((await fetch(`${proc.url}/ping/${check.id}`, { method: 'POST' })).status).toBe(200);
    await eventually(async () => ids('alert.resolved').size === 1, 10_000);
    const alerts = (await (await api(`/api/v1/alerts?source=job&rule_id=${check.id}`)).json()) as { alerts: { state: string }[] };
    expect(alerts.alerts.map((a) => a.state)).toEqual(['resolved']);

    // A second crash and restart after the resolve re-sends nothing.
    await killHard(proc);
    proc = await spawnVigil(env, port);
    await pause(2000);
    expect(ids('alert.firing').size).toBe(1);
    expect(ids('alert.resolved').size).toBe(1);
    const reminders = ids('alert.reminder').size;
    await pause(4500); // resolved: no reminder any more
    expect(ids('alert.reminder').size).toBe(reminders);
  });
});
