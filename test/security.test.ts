import { connect, type Socket } from 'node:net';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/domains/accounts/index.js';
import { buildApp } from '../src/server/app.js';
import { BODY_KEY_BODY_LIMIT, principalOf, requireRole } from '../src/domains/accounts/index.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './support/server.js';

/**
 * Security behaviour seen from outside, as an attacker would try it: credentials checked before
 * any body is read, forwarded headers believed only from configured proxies, slow clients cut off,
 * security headers on every answer. Runs on PGlite: none of this depends on the store.
 */

const login = (server: TestServer, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('authentication comes before the body', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => server?.dispose());

  it('answers 401, not a schema error, to a request without credentials', async () => {
    for (const [path, body] of [
      ['/api/v1/checks', { name: 42, timeout: 'soon' }],
      ['/api/v1/channels', { kind: 'carrier-pigeon' }],
      ['/api/v1/api-keys', { role: 'god' }],
      ['/api/v3/checks/', { timeout: -1 }],
    ] as const) {
      const res = await server.api(path, { method: 'POST', json: body, key: null });
      expect(res.status, path).toBe(401);
      // v1 answers Vigil's envelope, v3 Healthchecks' {"error": "..."}; neither talks about the body.
      expect(JSON.stringify(await res.json())).toMatch(/unauthorized|API key/i);
    }
    // Query strings are validated after authentication too.
    expect((await server.api('/api/v1/logs?limit=banana', { key: null })).status).toBe(401);
  });

  it('answers 401 on every operation of the API description (but log-in/out and accepting an invitation) before looking at body, query or path', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    // Operations that declare `security: []` take no credentials by design (the ping protocol: the
    // uuid in the path is the secret); the test checks that only those do.
    const open = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => op.security?.length === 0).map(([method]) => `${method.toUpperCase()} ${path}`));
    expect(open).toEqual(['GET /ping/{*}', 'POST /ping/{*}', 'HEAD /ping/{*}']);
    const operations = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method: method.toUpperCase() })))
      .filter(({ path, method }) => !open.includes(`${method} ${path}`));
    expect(operations.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const { path, method } of operations) {
      // Open by design: logging in, and accepting an invitation (its 256-bit token is the credential).
      if (path === '/api/v1/session' || path === '/api/v1/invitations/accept') continue;
      // Path parameters that are not ids and a query that fails validation: only auth may answer.
      const url = `${server.url}${path.replace(/\{[^}]+\}/g, 'not-an-id')}?limit=-5&since=yesterday`;
      const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';
      const res = await fetch(url, { method, ...(hasBody ? { headers: { 'content-type': 'application/json' }, body: '{"broken": ' } : {}) });
      if (res.status !== 401) failures.push(`${method} ${path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
    expect((await fetch(`${server.url}/api/v1/events`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/v1/checks`, { method: 'HEAD' })).status).toBe(401);
  });

  it('answers a wrong key with 401 whatever the body', async () => {
    const res = await server.api('/api/v1/checks', { method: 'POST', json: { name: 42 }, key: 'vgl_not-a-key' });
    expect(res.status).toBe(401);
  });

  it('does not read a 5 MB body sent without credentials (no parse error, no size error)', async () => {
    const junk = `{"x":"${'a'.repeat(5 * 1024 * 1024)}`; // not even JSON: parsing it would answer 400
    for (const path of ['/api/v1/checks', '/api/v1/logs']) {
      const res = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: junk });
      expect(res.status, path).toBe(401);
    }
    const tooBig = 'x'.repeat(6 * 1024 * 1024); // over the 5 MB limit: 413 once authenticated
    const res = await fetch(`${server.url}/api/v1/checks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tooBig });
    expect(res.status).toBe(401);
  });

  it('answers an authenticated body the HTTP layer refuses (not JSON, empty, too large) with a 4xx envelope of a known code, never a 500', async () => {
    const cases = [
      { path: '/api/v1/checks', body: '{"broken": ', status: 400, code: 'bad_request' },
      { path: '/api/v1/channels', body: '', status: 400, code: 'bad_request' },
      { path: '/api/v1/maintenance', body: '[1, 2', status: 400, code: 'bad_request' },
      { path: '/api/v1/checks', body: 'x'.repeat(6 * 1024 * 1024), status: 413, code: 'payload_too_large' },
    ];
    for (const c of cases) {
      const res = await server.api(c.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: c.body });
      const answer = (await res.json()) as { error: { code: string } };
      expect({ path: c.path, status: res.status, code: answer.error.code }).toEqual({ path: c.path, status: c.status, code: c.code });
    }
  });

  it('parses no more than a few KiB of a log-in (open to anyone)', async () => {
    const res = await login(server, { email: ADMIN_EMAIL, password: 'x'.repeat(100_000) });
    expect(res.status).toBe(413);
  });

  it('still validates the body of an authenticated request', async () => {
    const res = await server.api('/api/v1/checks', { method: 'POST', json: { name: 42 } });
    expect(res.status).toBe(400);
  });

  it('keeps ping URLs and public pages unauthenticated', async () => {
    const created = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'open' } })).json()) as { id: string };
    expect((await fetch(`${server.url}/ping/${created.id}`, { method: 'POST', body: 'hello' })).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/openapi.json`)).status).toBe(200);
  });
});

describe('routes that accept the API key in the body (Healthchecks v3 api_key)', () => {
  let server: TestServer;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    server = await startTestServer('pglite');
    // A second app on the same store with one route of that kind, driven by inject().
    app = await buildApp(server.ctx, {
      routes: [
        (ctx) => async (r) => {
          r.post(
            '/test/body-key',
            {
              schema: { body: z.object({ api_key: z.string().optional(), n: z.number() }) },
              preHandler: requireRole(ctx, 'member', { keyFromBody: (body) => (body as { api_key?: string } | undefined)?.api_key }),
            },
            async (request) => ({ org: principalOf(request).orgId, n: request.body.n }),
          );
        },
      ],
    });
  });
  afterAll(async () => {
    await app?.close();
    await server?.dispose();
  });
  const post = (payload: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/test/body-key', headers: { 'content-type': 'application/json', ...headers }, payload });

  it('authenticates with the key from the body when no header key was sent', async () => {
    const { key } = await createApiKey(server.ctx.db, server.org.id, 'body', 'member');
    const res = await post(JSON.stringify({ api_key: key, n: 1 }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ org: server.org.id, n: 1 });
  });

  it('answers 401 without any key, with a wrong one, and 403 for a read-only one', async () => {
    expect((await post(JSON.stringify({ n: 1 }))).statusCode).toBe(401);
    expect((await post(JSON.stringify({ n: 'not a number' }))).statusCode).toBe(401); // authentication before validation
    expect((await post(JSON.stringify({ api_key: 'vgl_wrong', n: 1 }))).statusCode).toBe(401);
    const readOnly = await createApiKey(server.ctx.db, server.org.id, 'ro', 'read-only');
    expect((await post(JSON.stringify({ api_key: readOnly.key, n: 1 }))).statusCode).toBe(403);
  });

  it('checks a header key before the body, and keeps bodies read before authentication small', async () => {
    expect((await post('not json', { 'x-api-key': 'vgl_wrong' })).statusCode).toBe(401);
    const big = JSON.stringify({ n: 1, pad: 'x'.repeat(BODY_KEY_BODY_LIMIT) });
    expect((await post(big)).statusCode).toBe(413);
  });
});

describe('forwarded headers', () => {
  let direct: TestServer;
  let proxied: TestServer;
  beforeAll(async () => {
    direct = await startTestServer('pglite');
    proxied = await startTestServer('pglite', { VIGIL_TRUSTED_PROXIES: '127.0.0.1/32, ::1' });
  });
  afterAll(async () => Promise.all([direct?.dispose(), proxied?.dispose()]));

  const remoteOfPing = async (server: TestServer, headers: Record<string, string>) => {
    const { id } = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'fwd' } })).json()) as { id: string };
    expect((await fetch(`${server.url}/ping/${id}`, { headers })).status).toBe(200);
    const row = await server.ctx.db.selectFrom('pings').select(['remote_addr', 'scheme']).where('check_id', '=', id).executeTakeFirstOrThrow();
    return row;
  };

  it('ignores X-Forwarded-For and -Proto from a client that is not a trusted proxy', async () => {
    const row = await remoteOfPing(direct, { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' });
    expect(row.remote_addr).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    expect(row.scheme).toBe('http');
  });

  it('believes them from a configured proxy (VIGIL_TRUSTED_PROXIES)', async () => {
    const row = await remoteOfPing(proxied, { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' });
    expect(row).toEqual({ remote_addr: '203.0.113.9', scheme: 'https' });
  });

  it('marks session cookies Secure when the request came over HTTPS, and only then', async () => {
    const secure = (res: Response) => res.headers.getSetCookie().filter((c) => /;\s*secure/i.test(c)).length;
    const viaProxy = await login(proxied, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, { 'x-forwarded-proto': 'https' });
    expect(viaProxy.status).toBe(201);
    expect(secure(viaProxy)).toBe(2);
    const spoofed = await login(direct, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, { 'x-forwarded-proto': 'https' });
    expect(spoofed.status).toBe(201);
    expect(secure(spoofed)).toBe(0);
  });

  it('refuses a VIGIL_TRUSTED_PROXIES entry that is not an address or CIDR, naming it', async () => {
    await expect(startTestServer('pglite', { VIGIL_TRUSTED_PROXIES: '10.0.0.0/8,proxy.local' })).rejects.toThrow(/VIGIL_TRUSTED_PROXIES.*proxy\.local/);
  });
});

describe('slow clients', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', { VIGIL_REQUEST_TIMEOUT_MS: '3000' });
  });
  afterAll(async () => server?.dispose());

  /** Opens a raw connection, sends `head`, then `trickle` one byte per `everyMs`; resolves with what came back and when the server closed it. */
  const trickle = async (head: string, trickleBytes: string, everyMs: number) => {
    const { port } = new URL(server.url);
    const socket: Socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const started = Date.now();
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    socket.write(head);
    let i = 0;
    const timer = setInterval(() => {
      if (i < trickleBytes.length && !socket.destroyed) socket.write(trickleBytes[i++]!);
    }, everyMs);
    // Without a limit the trickle would take minutes; give up on the server after 20 s.
    const giveUp = setTimeout(() => socket.destroy(), 20_000);
    const elapsed = await closed;
    clearInterval(timer);
    clearTimeout(giveUp);
    return { elapsed, answer };
  };

  it('cuts off a body trickled one byte at a time (408 within the request timeout)', async () => {
    const { id } = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'slow' } })).json()) as { id: string };
    const body = 'x'.repeat(200);
    const { elapsed, answer } = await trickle(`POST /ping/${id} HTTP/1.1\r\nHost: vigil\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`, body, 1_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('cuts off headers trickled one byte at a time', async () => {
    const { elapsed } = await trickle('GET /healthz HTTP/1.1\r\n', `X-Slow: ${'y'.repeat(200)}\r\n\r\n`, 1_000);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('lets an ordinary request through, and a live stream stay open past the timeout (it limits receiving, not answering)', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const controller = new AbortController();
    const res = await server.api('/api/v1/events', { signal: controller.signal });
    const reader = res.body!.getReader();
    let open = true;
    void (async () => {
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return (open = false);
    })();
    await new Promise((r) => setTimeout(r, 5_000));
    expect(open).toBe(true);
    controller.abort();
  });
});

describe('security headers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => server?.dispose());

  it('sends CSP, framing, sniffing and referrer headers on the dashboard, the API docs and the API', async () => {
    for (const [path, init] of [
      ['/', { headers: { accept: 'text/html' } }],
      ['/api/docs/', {}],
      ['/api/v1/checks', { headers: { 'x-api-key': 'nobody' } }],
      ['/api/v1/me', {}],
    ] as const) {
      const res = await fetch(server.url + path, init);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
      if (!path.startsWith('/api/docs')) expect(csp, path).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('strict-origin-when-cross-origin');
    }
  });
});
