import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STORE_KINDS, eventually, freshPostgresDatabase, storeAvailable } from './support/server.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';

interface Delivery {
  webhookId: string;
  body: { type: string; alert: { kind: string; subject_id: string } };
}

/** A loopback webhook receiver that records what it gets. */
async function receiver(): Promise<{ server: Server; url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push({ webhookId: String(req.headers['webhook-id']), body: JSON.parse(body) as Delivery['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`, deliveries };
}

describe.each(STORE_KINDS)('crash safety on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(!storeAvailable(kind))('kill -9 between a start ping and its deadline still yields exactly one alert after restart', async () => {
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true', VIGIL_SWEEP_INTERVAL_MS: '200', VIGIL_NOTIFY_INTERVAL_MS: '200' };
    if (kind === 'postgres') {
      const db = await freshPostgresDatabase();
      cleanups.push(db.drop);
      env.DATABASE_URL = db.url;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      env.VIGIL_DATA_DIR = dir;
    }
    const hook = await receiver();
    cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
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
