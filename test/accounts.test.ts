import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, scryptLoad } from '../src/domains/accounts/password.js';
import { loadConfig } from '../src/config.js';
import { sha256 } from '../src/platform/ids.js';
import { buildApp } from '../src/server/app.js';
import { startVigil } from '../src/server/runtime.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN, STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

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
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe('Wrong e-mail or password.');
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

describe.each(STORE_KINDS)('log-in throttling on %s', (kind) => {
  let server: TestServer;
  // The test client poses as different addresses through a trusted proxy (itself), one per case.
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind, { VIGIL_TRUSTED_PROXIES: 'loopback' });
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  const attempt = (from: string, email: string, password: string, url = server.url) =>
    fetch(`${url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify({ email, password }),
    });
  const user = async (email: string, password = 'the right password') => {
    expect((await server.api('/api/v1/users', { method: 'POST', json: { email, password, role: 'member' } })).status).toBe(201);
    return { email, password };
  };
  /** Lets the account's lock run out, as if its time had passed. */
  const unlock = (email: string) =>
    server.ctx.db.updateTable('login_throttle').set({ locked_until: new Date(Date.now() - 1000) }).where('account', '=', sha256(`login:${email}`)).execute();

  run('locks an account after 6 wrong passwords with 429 and Retry-After, from any address, then lets the right password in once the lock is over', async () => {
    const { email, password } = await user('locked@example.com');
    for (let i = 0; i < 6; i++) expect((await attempt(`198.51.100.${i}`, email, 'wrong')).status).toBe(401);
    const refused = await attempt('198.51.100.99', email, password);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(25);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'too_many_attempts', message: expect.stringMatching(/try again in \d+ s/) });
    // The lock is a back-off: once it is over, the right password works and the count starts afresh.
    await unlock(email);
    expect((await attempt('198.51.100.99', email, password)).status).toBe(201);
    expect(await server.ctx.db.selectFrom('login_throttle').selectAll().execute()).toEqual([]);
    for (let i = 0; i < 6; i++) expect((await attempt('198.51.100.98', email, 'wrong')).status).toBe(401);
    // The next lock is longer: each failure beyond the free ones doubles it.
    await unlock(email);
    expect((await attempt('198.51.100.98', email, 'wrong')).status).toBe(401);
    const longer = await attempt('198.51.100.98', email, password);
    expect(longer.status).toBe(429);
    expect(Number(longer.headers.get('retry-after'))).toBeGreaterThan(50);
  });

  run('throttles an unknown e-mail exactly like a real one (no account enumeration)', async () => {
    for (let i = 0; i < 6; i++) expect((await attempt('198.51.100.50', 'nobody@example.com', 'wrong')).status).toBe(401);
    expect((await attempt('198.51.100.51', 'nobody@example.com', 'wrong')).status).toBe(429);
  });

  run('locks an address that guesses across many accounts, without hashing its attempts any more', async () => {
    const from = '203.0.113.77';
    for (let i = 0; i < 21; i++) expect((await attempt(from, `spray${i}@example.com`, 'Winter2024!')).status).toBe(401);
    const refused = await attempt(from, `spray-last@example.com`, 'Winter2024!');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/from your address/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is not affected.
    const { email, password } = await user('neighbour@example.com');
    expect((await attempt('203.0.113.78', email, password)).status).toBe(201);
  });

  run('refuses a locked account without any hashing: 429 even while every hashing slot is taken', async () => {
    for (let i = 0; i < 6; i++) expect((await attempt('198.51.100.60', 'busy@example.com', 'wrong')).status).toBe(401);
    // Fill the hashing slots and their queue.
    const hashing = Array.from({ length: 18 }, () => hashPassword('filler').catch(() => undefined));
    expect(scryptLoad()).toEqual({ active: 2, pending: 16 });
    expect((await attempt('198.51.100.61', 'busy@example.com', 'wrong')).status).toBe(429);
    // An attempt that would hash is refused at once with 503 instead of queueing.
    const busy = await attempt('198.51.100.62', 'free@example.com', 'wrong');
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    await Promise.all(hashing);
  });

  it.skipIf(kind !== 'postgres' || !storeAvailable(kind))('shares the account lock between instances on one database', async () => {
    const other = await startVigil(loadConfig({}, { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: server.config.DATABASE_URL, LOG_LEVEL: 'silent', VIGIL_TRUSTED_PROXIES: 'loopback' }), {
      workers: false,
    });
    try {
      const { email } = await user('shared@example.com');
      for (let i = 0; i < 3; i++) expect((await attempt('198.51.100.70', email, 'wrong')).status).toBe(401);
      for (let i = 0; i < 3; i++) expect((await attempt('198.51.100.71', email, 'wrong', other.url)).status).toBe(401);
      expect((await attempt('198.51.100.72', email, 'wrong')).status).toBe(429);
      expect((await attempt('198.51.100.72', email, 'wrong', other.url)).status).toBe(429);
    } finally {
      await other.close();
    }
  });
});

/** Opens a live stream; `ended` resolves once the server has closed it. */
async function openStream(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/v1/events`, { headers, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let closedByServer = false;
  const ended = (async () => {
    for (;;) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) return (closedByServer = true);
    }
  })();
  // Were the stream never to end, this lets the test fail on its assertion instead of hanging.
  const guard = setTimeout(() => controller.abort(), 15_000);
  return {
    ended: ended.then((v) => {
      clearTimeout(guard);
      return v && !controller.signal.aborted;
    }),
    isOpen: () => !closedByServer,
  };
}

async function logInCookies(url: string): Promise<Record<string, string>> {
  const res = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }) });
  expect(res.status).toBe(201);
  const jar = cookiesFrom(res);
  return { cookie: `vigil_session=${jar.vigil_session}; vigil_csrf=${jar.vigil_csrf}`, 'x-csrf-token': jar.vigil_csrf! };
}

describe.each(STORE_KINDS)('live streams end with their credentials on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind);
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  run('ends the streams of a revoked API key, and only those', async () => {
    const created = (await (await server.api('/api/v1/api-keys', { method: 'POST', json: { name: 'dashboard tv', role: 'read-only' } })).json()) as { id: string; key: string };
    const revoked = await openStream(server.url, { 'x-api-key': created.key });
    const other = await openStream(server.url, { 'x-api-key': ADMIN_TOKEN });
    expect((await server.api(`/api/v1/api-keys/${created.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await revoked.ended).toBe(true);
    expect(other.isOpen()).toBe(true);
    expect((await fetch(`${server.url}/api/v1/events`, { headers: { 'x-api-key': created.key } })).status).toBe(401);
  });

  run('ends the streams of a session that logs out', async () => {
    const headers = await logInCookies(server.url);
    const stream = await openStream(server.url, { cookie: headers.cookie! });
    expect((await fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers })).status).toBe(204);
    expect(await stream.ended).toBe(true);
  });

  run('ends a stream whose credential stopped holding without any announcement (expired session, revoked elsewhere)', async () => {
    const app = await buildApp(server.ctx, { routes: [], sse: { heartbeatMs: 100, revalidateMs: 200 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const headers = await logInCookies(url);
      const stream = await openStream(url, { cookie: headers.cookie! });
      // The session expires: nobody announces that.
      await server.ctx.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).execute();
      expect(await stream.ended).toBe(true);
    } finally {
      await app.close();
    }
  });

  it.skipIf(kind !== 'postgres' || !storeAvailable(kind))('ends a stream on another instance when its key is revoked here', async () => {
    const other = await startVigil(loadConfig({}, { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: server.config.DATABASE_URL, LOG_LEVEL: 'silent' }), { workers: false });
    try {
      const created = (await (await server.api('/api/v1/api-keys', { method: 'POST', json: { name: 'elsewhere', role: 'read-only' } })).json()) as { id: string; key: string };
      const stream = await openStream(other.url, { 'x-api-key': created.key });
      await eventually(async () => other.ctx.live.hasSubscribers(server.org.id));
      expect((await server.api(`/api/v1/api-keys/${created.id}`, { method: 'DELETE' })).status).toBe(204);
      expect(await stream.ended).toBe(true);
    } finally {
      await other.close();
    }
  });
});
