import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, eventually, freshPostgresDatabase, startTestServer, type TestServer } from './support/server.js';

describe.skipIf(!TEST_DATABASE_URL)('two instances on one PostgreSQL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('both sweep deadlines and deliver notifications, yet every missed run alerts and is delivered exactly once', async () => {
    const db = await freshPostgresDatabase();
    cleanups.push(db.drop);
    const received: string[] = [];
    const hook: Server = createServer((req, res) => {
      received.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => hook.close(() => r())));
    const address = hook.address();
    const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;

    // The "pglite" kind with DATABASE_URL set: an in-process server on the shared PostgreSQL database.
    const env = { DATABASE_URL: db.url, VIGIL_SWEEP_INTERVAL_MS: '50', VIGIL_NOTIFY_INTERVAL_MS: '50' };
    const a: TestServer = await startTestServer('pglite', env);
    cleanups.push(() => a.close());
    const b: TestServer = await startTestServer('pglite', env);
    cleanups.push(() => b.close());

    expect((await a.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', url: hookUrl } })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await a.api('/api/v1/checks', { method: 'POST', json: { name: `job ${i}`, timeout: 1, grace: 1 } });
      ids.push(((await res.json()) as { id: string }).id);
    }
    // Pings spread over both instances.
    await Promise.all(ids.map((id, i) => fetch(`${(i % 2 ? a : b).url}/ping/${id}`)));

    await eventually(async () => received.length >= ids.length, 15_000);
    await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up
    const alerts = await a.ctx.db.selectFrom('alerts').select(['subject_id', 'kind']).execute();
    expect(alerts.filter((x) => x.kind === 'missed').map((x) => x.subject_id).sort()).toEqual([...ids].sort());
    expect(alerts).toHaveLength(ids.length);
    expect(received).toHaveLength(ids.length);
    expect(new Set(received).size).toBe(ids.length);
  });

  it('a dashboard connected to one instance sees changes made through the other (LISTEN/NOTIFY)', async () => {
    const db = await freshPostgresDatabase();
    cleanups.push(db.drop);
    const env = { DATABASE_URL: db.url };
    const a = await startTestServer('pglite', env);
    cleanups.push(() => a.close());
    const b = await startTestServer('pglite', env);
    cleanups.push(() => b.close());

    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const stream = await b.api('/api/v1/events', { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    let text = '';
    const reader = stream.body!.getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();

    const created = (await (await a.api('/api/v1/checks', { method: 'POST', json: { name: 'remote', timeout: 60 } })).json()) as { id: string };
    expect((await fetch(`${a.url}/ping/${created.id}`)).status).toBe(200);
    await eventually(async () => text.includes(`"id":"${created.id}"`) && text.includes('"status":"up"'), 5000);
    expect((await a.api(`/api/v1/checks/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => text.includes('event: check.deleted'), 5000);
  });
});
