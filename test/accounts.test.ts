import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

/** Minimal cookie jar: the names and values a browser would send back. */
function cookiesFrom(res: Response): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [name, ...value] = pair!.split('=');
    jar[name!.trim()] = value.join('=');
  }
  return jar;
}

describe.each(STORE_KINDS)('accounts, sessions and API keys on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind);
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  run('logs in with e-mail and password; cookie writes need the CSRF token', async () => {
    const bad = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: 'nope' }) });
    expect(bad.status).toBe(400);
    const res = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }) });
    expect(res.status).toBe(201);
    const jar = cookiesFrom(res);
    expect(res.headers.getSetCookie().find((c) => c.startsWith('vigil_session='))).toMatch(/HttpOnly/i);
    const cookie = `vigil_session=${jar.vigil_session}; vigil_csrf=${jar.vigil_csrf}`;
    const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie } })).json()) as { org: { name: string }; user: { email: string }; role: string };
    expect(me).toMatchObject({ org: { name: 'Default' }, user: { email: ADMIN_EMAIL }, role: 'admin' });

    const body = JSON.stringify({ name: 'from the browser', timeout: 60 });
    const forged = await fetch(`${server.url}/api/v1/checks`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body });
    expect(forged.status).toBe(403);
    const wrongToken = await fetch(`${server.url}/api/v1/checks`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': 'guess' }, body });
    expect(wrongToken.status).toBe(403);
    const ok = await fetch(`${server.url}/api/v1/checks`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': jar.vigil_csrf! }, body });
    expect(ok.status).toBe(201);

    await fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': jar.vigil_csrf! } });
    expect((await fetch(`${server.url}/api/v1/me`, { headers: { cookie } })).status).toBe(401);
  });

  run('API keys are shown once, stored hashed, scoped by role and revocable', async () => {
    const created = await server.api('/api/v1/api-keys', { method: 'POST', json: { name: 'ci', role: 'member' } });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string };
    expect(key.key).toMatch(/^vgl_/);
    const listed = JSON.stringify(await (await server.api('/api/v1/api-keys')).json());
    expect(listed).toContain(key.id);
    expect(listed).not.toContain(key.key);
    const stored = await server.ctx.db.selectFrom('api_keys').select('key_hash').where('id', '=', key.id).executeTakeFirstOrThrow();
    expect(stored.key_hash).not.toContain(key.key);
    // A member can write checks but cannot manage keys.
    expect((await server.api('/api/v1/checks', { key: key.key, method: 'POST', json: { name: 'm' } })).status).toBe(201);
    expect((await server.api('/api/v1/api-keys', { key: key.key })).status).toBe(403);
    expect((await server.api(`/api/v1/api-keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await server.api('/api/v1/checks', { key: key.key })).status).toBe(401);
  });

  run('serves the OpenAPI document and its docs page; errors use one envelope', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/checks', '/api/v3/checks/', '/api/v1/channels']));
    expect((await fetch(`${server.url}/api/docs/`)).status).toBe(200);
    const missing = await server.api('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  run("streams the organisation's live updates, lets go of clients that leave, and ends open streams at shutdown", async () => {
    // Its own server, since this test stops it; warnings and errors it logs are kept to be checked.
    const logged: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as { level: number; msg: string }) });
    const own = await startTestServer(kind, {}, { logger });
    try {
      const open = async () => {
        const controller = new AbortController();
        const res = await own.api('/api/v1/events', { signal: controller.signal });
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const reader = res.body!.getReader();
        let text = '';
        const ended = (async () => {
          for (;;) {
            const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
            if (done) return true;
            text += new TextDecoder().decode(value);
          }
        })();
        return { controller, ended, text: () => text };
      };
      const orgId = own.org.id;

      const leaving = await open();
      await eventually(async () => own.ctx.live.hasSubscribers(orgId));
      leaving.controller.abort();
      await eventually(async () => !own.ctx.live.hasSubscribers(orgId));

      const staying = await open();
      await eventually(async () => own.ctx.live.hasSubscribers(orgId));
      own.ctx.live.publish(orgId, { type: 'check', data: { id: 'c1', status: 'up' } });
      await eventually(async () => staying.text().includes('event: check\ndata: {"id":"c1","status":"up"}\n\n'));

      // A dashboard left open must not hold up shutdown.
      const started = Date.now();
      // Were the stream to hold shutdown up, this lets it finish so the test fails instead of hanging.
      const unblock = setTimeout(() => staying.controller.abort(), 5_000);
      await own.close();
      clearTimeout(unblock);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await staying.ended).toBe(true);
      expect(logged.filter((l) => l.level >= 40)).toEqual([]);
    } finally {
      await own.dispose();
    }
  });
});
