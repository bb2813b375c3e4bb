import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { ADMIN_TOKEN, STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';

/**
 * Healthchecks tooling, unchanged, against Vigil: the exact requests the Ansible collection
 * `community.healthchecksio` (1.5.1) sends — recorded from the real modules run against Vigil
 * through a logging proxy — and the curl examples of Healthchecks' API documentation.
 *
 * What the collection does: urllib, so every body goes out as application/x-www-form-urlencoded;
 * it asks for `checks` without the trailing slash (and follows the redirect); even its GETs and
 * its pause carry the body `null` (its `jsonify(None)`); it posts all of its own parameters
 * (`management_api_token`, `ping_api_token: null`, …) and decides "changed" by comparing the
 * returned check with what it asked for, `channels: "*"` resolved to the ids it lists itself.
 */

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

/** One HTTP request exactly as given (a GET may carry a body, no redirect is followed), as Python's urllib sends it. */
function raw(server: TestServer, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = httpRequest(url, { method, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Follows one redirect the way urllib does (relative Location resolved against the request URL). */
async function followed(server: TestServer, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw & { redirectedFrom?: number }> {
  const first = await raw(server, method, path, headers, body);
  if (first.status !== 301 && first.status !== 308) return first;
  const location = new URL(String(first.headers.location), new URL(path, server.url));
  // urllib drops the body and its Content-* headers when it re-sends a GET after a 301.
  const kept = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.toLowerCase().startsWith('content-')));
  const second = await raw(server, method, location.pathname + location.search, kept, first.status === 308 ? body : undefined);
  return { ...second, redirectedFrom: first.status };
}

interface HcCheck {
  uuid: string;
  name: string;
  slug: string;
  tags: string;
  desc: string;
  grace: number;
  timeout?: number;
  schedule?: string;
  tz?: string;
  status: string;
  started: boolean;
  manual_resume: boolean;
  methods: string;
  channels: string;
  ping_url: string;
  update_url: string;
  badge_url: string;
  next_ping: string | null;
  filter_http_body: boolean;
  filter_default_fail: boolean;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'ansible-httpget', 'accept-encoding': 'identity' };

describe.each(STORE_KINDS)('Healthchecks tooling against Vigil on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind);
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));
  const key = { 'x-api-key': ADMIN_TOKEN };

  /** The body the collection's `checks` module posts (module parameters, with its defaults). */
  const ansibleBody = (base: string, params: Record<string, unknown>) =>
    JSON.stringify({
      management_api_token: ADMIN_TOKEN,
      management_api_base_url: `${server.url}${base}`,
      ping_api_base_url: `${server.url}/ping`,
      name: '',
      unique: [],
      tags: '',
      desc: '',
      grace: 3600,
      manual_resume: false,
      methods: '',
      channels: '',
      slug: '',
      ping_api_token: null,
      ...params,
    });

  /** What the collection compares to decide a check is unchanged. */
  const unchanged = (check: HcCheck, asked: Record<string, unknown>, channelIds: string[]) => {
    const skip = new Set(['unique', 'management_api_token', 'management_api_base_url', 'ping_api_base_url', 'ping_api_token', 'channels', 'tags', 'grace', 'desc']);
    const params = Object.entries(asked).every(([k, v]) => skip.has(k) || (check as unknown as Record<string, unknown>)[k] === v);
    const channels = asked.channels === '*' ? channelIds.join(',') : String(asked.channels ?? '');
    return params && [...check.channels.split(',')].sort().join() === [...channels.split(',')].sort().join() && check.tags === asked.tags;
  };

  for (const base of ['/api/v3', '/api/v2', '/hc/api/v1']) {
    run(`the Ansible collection provisions checks idempotently through ${base}`, async () => {
      // The login probe and list: GET <base>/checks with the body "null" → 301 → <base>/checks/.
      const probe = await raw(server, 'GET', `${base}/checks`, { ...FORM, ...key }, 'null');
      expect([probe.status, probe.headers.location]).toEqual([301, 'checks/']);
      const listed = await followed(server, 'GET', `${base}/checks`, { ...FORM, ...key }, 'null');
      expect(listed.status).toBe(200);
      expect(listed.json()).toMatchObject({ checks: expect.any(Array) });

      const name = `ansible simple ${base}`;
      const simple = { name, desc: 'my simple test check', unique: ['name'], tags: 'test simple', timeout: 60 };
      const created = await raw(server, 'POST', `${base}/checks/`, { ...FORM, ...key }, ansibleBody(base, simple));
      expect(created.status).toBe(201);
      const check = created.json() as HcCheck;
      expect(check).toMatchObject({ name, desc: 'my simple test check', tags: 'test simple', timeout: 60, grace: 3600, slug: '', channels: '', methods: '', manual_resume: false });
      expect(check.update_url).toBe(`${server.url}${base}/checks/${check.uuid}`);
      expect(check.ping_url).toBe(`${server.url}/ping/${check.uuid}`);
      expect(unchanged(check, JSON.parse(ansibleBody(base, simple)) as Record<string, unknown>, [])).toBe(true);

      // The same task again: the module finds it by `unique` in the list and changes nothing;
      // posted anyway, Healthchecks' upsert answers 200 with the same check.
      const again = await raw(server, 'POST', `${base}/checks/`, { ...FORM, ...key }, ansibleBody(base, simple));
      expect([again.status, (again.json() as HcCheck).uuid]).toEqual([200, check.uuid]);

      // A cron check (timeout dropped by the module) and an OnCalendar one (Healthchecks accepts those since 2023).
      const cron = await raw(server, 'POST', `${base}/checks/`, { ...FORM, ...key }, ansibleBody(base, { name: `hourly ${base}`, unique: ['name'], tags: 'test hourly', schedule: '0 * * * *', tz: 'UTC' }));
      expect(cron.status).toBe(201);
      expect(cron.json()).toMatchObject({ schedule: '0 * * * *', tz: 'UTC' });
      expect(cron.json()).not.toHaveProperty('timeout');
      const oncalendar = await raw(server, 'POST', `${base}/checks/`, { ...FORM, ...key }, ansibleBody(base, { name: `weekdays ${base}`, unique: ['name'], schedule: 'Mon..Fri 09:00', tz: 'Europe/Paris', timeout: null }));
      expect(oncalendar.status).toBe(201);
      expect(oncalendar.json()).toMatchObject({ schedule: 'Mon..Fri 09:00', tz: 'Europe/Paris' });

      // The info modules: checks?tag=…, checks/<uuid>, channels, badges, checks/<uuid>/pings and /flips (redirected).
      const byTag = await followed(server, 'GET', `${base}/checks?tag=simple&tag=test`, { ...FORM, ...key }, 'null');
      expect([byTag.redirectedFrom, byTag.status]).toEqual([301, 200]);
      expect((byTag.json() as { checks: HcCheck[] }).checks.map((c) => c.name)).toContain(name);
      const one = await raw(server, 'GET', `${base}/checks/${check.uuid}`, { ...FORM, ...key }, 'null');
      expect([one.status, (one.json() as HcCheck).name]).toEqual([200, name]);
      for (const path of ['channels', 'badges', `checks/${check.uuid}/pings`, `checks/${check.uuid}/flips`]) {
        const res = await followed(server, 'GET', `${base}/${path}`, { ...FORM, ...key }, 'null');
        expect({ path, status: res.status, redirected: res.redirectedFrom }).toEqual({ path, status: 200, redirected: 301 });
      }

      // The ping module: HEAD <ping base>/<uuid>[/signal], no key.
      expect((await raw(server, 'HEAD', `/ping/${check.uuid}`, { 'user-agent': 'ansible-httpget' })).status).toBe(200);
      expect((await raw(server, 'HEAD', `/ping/${check.uuid}/start`, { 'user-agent': 'ansible-httpget' })).status).toBe(200);

      // state: pause (body "null", form-encoded) and state: absent (DELETE, no body).
      const paused = await raw(server, 'POST', `${base}/checks/${check.uuid}/pause`, { ...FORM, ...key }, 'null');
      expect([paused.status, (paused.json() as HcCheck).status]).toEqual([200, 'paused']);
      expect((await raw(server, 'DELETE', `${base}/checks/${check.uuid}`, { 'user-agent': 'ansible-httpget', ...key })).status).toBe(200);
      expect((await raw(server, 'DELETE', `${base}/checks/${check.uuid}`, { 'user-agent': 'ansible-httpget', ...key })).status).toBe(404);
    });
  }

  run('echoes channels as the resolved, sorted ids ("*" included), so `channels: "*"` is idempotent; refuses another organisation\'s channel', async () => {
    const made: string[] = [];
    for (const name of ['ops mail', 'oncall mail']) {
      const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'email', name, to: 'ops@example.com' } });
      expect(res.status).toBe(201);
      made.push(((await res.json()) as { id: string }).id);
    }
    const all = ((await (await server.api('/api/v3/channels/')).json()) as { channels: { id: string }[] }).channels.map((c) => c.id).sort();
    expect(all).toEqual(expect.arrayContaining(made));

    const star = await raw(server, 'POST', '/api/v3/checks/', { ...FORM, ...key }, ansibleBody('/api/v3', { name: 'all channels', unique: ['name'], timeout: 3600, channels: '*' }));
    const check = star.json() as HcCheck;
    expect(check.channels).toBe(all.join(','));
    expect(unchanged(check, JSON.parse(ansibleBody('/api/v3', { name: 'all channels', unique: ['name'], timeout: 3600, channels: '*' })) as Record<string, unknown>, all)).toBe(true);

    // By id or by name, stored as ids.
    const some = await server.api(`/api/v3/checks/${check.uuid}`, { method: 'POST', json: { channels: `oncall mail,${made[0]}` } });
    expect(((await some.json()) as HcCheck).channels).toBe([...made].sort().join(','));

    // Another organisation's channel id is unknown here: 400, on both APIs, and nothing is changed.
    const other = await createOrg(server.ctx.db, 'Other');
    const otherKey = await createApiKey(server.ctx.db, other.id, 'k', 'admin');
    const foreign = await server.api('/api/v1/channels', { key: otherKey.key, method: 'POST', json: { kind: 'email', name: 'theirs', to: 'x@example.com' } });
    const foreignId = ((await foreign.json()) as { id: string }).id;
    const v3 = await server.api(`/api/v3/checks/${check.uuid}`, { method: 'POST', json: { channels: foreignId } });
    expect(v3.status).toBe(400);
    expect(((await v3.json()) as { error: string }).error).toMatch(/invalid channel identifier/);
    const v1 = await server.api(`/api/v1/checks/${check.uuid}`, { method: 'PATCH', json: { channels: foreignId } });
    expect(v1.status).toBe(400);
    expect(((await v1.json()) as { error: { details: { field: string }[] } }).error.details[0]!.field).toBe('channels');
    expect(((await (await server.api(`/api/v3/checks/${check.uuid}`)).json()) as HcCheck).channels).toBe([...made].sort().join(','));
  });

  run("Healthchecks' documented curl examples work as written", async () => {
    // curl SITE_ROOT/api/v3/checks/ --header "X-Api-Key: …" --data '{"name": "Backups", …}'  (curl --data is form-encoded)
    const withHeader = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'curl/7.88.1', ...key }, '{"name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60}');
    expect(withHeader.status).toBe(201);
    const check = withHeader.json() as HcCheck;
    expect(check).toMatchObject({ name: 'Backups', tags: 'prod www', timeout: 3600, grace: 60, status: 'new' });
    // … or with the key in the body: --data '{"api_key": "…", "name": "Backups", …}'
    const inBody = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/x-www-form-urlencoded' }, `{"api_key": "${ADMIN_TOKEN}", "name": "Backups 2", "tags": "prod www", "timeout": 3600, "grace": 60}`);
    expect(inBody.status).toBe(201);
    const updateInBody = await raw(server, 'POST', `/api/v3/checks/${check.uuid}`, { 'content-type': 'application/x-www-form-urlencoded' }, `{"api_key": "${ADMIN_TOKEN}", "name": "Backups", "tags": "prod www", "timeout": 7200, "grace": 60}`);
    expect([updateInBody.status, (updateInBody.json() as HcCheck).timeout]).toEqual([200, 7200]);
    // --request POST --header "X-Api-Key: …" --data ""  (pause, resume)
    expect((await raw(server, 'POST', `/api/v3/checks/${check.uuid}/pause`, { 'content-type': 'application/x-www-form-urlencoded', ...key }, '')).status).toBe(200);
    expect((await raw(server, 'POST', `/api/v3/checks/${check.uuid}/resume`, { 'content-type': 'application/x-www-form-urlencoded', ...key }, '')).status).toBe(200);
    // --request DELETE --header "X-Api-Key: …"
    expect((await raw(server, 'DELETE', `/api/v3/checks/${check.uuid}`, key)).status).toBe(200);

    // Errors in Healthchecks' shape.
    expect([(await raw(server, 'GET', '/api/v3/checks/')).status, (await raw(server, 'GET', '/api/v3/checks/')).json()]).toEqual([401, { error: 'missing api key' }]);
    const wrong = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/x-www-form-urlencoded' }, '{"api_key": "not-a-key", "name": "x"}');
    expect([wrong.status, wrong.json()]).toEqual([401, { error: 'wrong api key' }]);
    // A read-only key in the body reads but never writes (the role is checked however the key came).
    const readOnly = (await createApiKey(server.ctx.db, server.org.id, 'hc reader', 'read-only')).key;
    const roWrite = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/x-www-form-urlencoded' }, `{"api_key": "${readOnly}", "name": "not allowed"}`);
    expect(roWrite.status).toBe(403);
    const garbage = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/x-www-form-urlencoded', ...key }, 'name=Backups');
    expect([garbage.status, garbage.json()]).toEqual([400, { error: 'could not parse request body' }]);
    const notObject = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/json', ...key }, '[1]');
    expect([notObject.status, notObject.json()]).toEqual([400, { error: 'json validation error: value is not an object' }]);
    // Without a key, at most a small body is read (the key might be in it), never megabytes.
    const big = await raw(server, 'POST', '/api/v3/checks/', { 'content-type': 'application/json' }, JSON.stringify({ name: 'x'.repeat(1_000_000) }));
    expect(big.status).toBe(413);
    // A query too long to echo into a redirect's Location is refused, not redirected unreadably.
    expect((await raw(server, 'GET', `/api/v3/checks?tag=${'x'.repeat(10_000)}`, key)).status).toBe(414);
  });

  run('answers CORS preflights on the API and on ping URLs, and allows any origin', async () => {
    const api = await raw(server, 'OPTIONS', '/api/v3/checks/', { origin: 'https://status.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' });
    expect(api.status).toBe(204);
    expect(api.headers['access-control-allow-origin']).toBe('*');
    expect(String(api.headers['access-control-allow-headers'])).toMatch(/X-Api-Key/i);
    expect((await raw(server, 'GET', '/api/v3/checks/', key)).headers['access-control-allow-origin']).toBe('*');
    const ping = await raw(server, 'OPTIONS', '/ping/5f0c8c3e-2b7a-4c1e-9f00-0123456789ab', { origin: 'https://app.example.com', 'access-control-request-method': 'POST' });
    expect(ping.status).toBe(204);
    expect(ping.headers['access-control-allow-origin']).toBe('*');
    expect(String(ping.headers['access-control-allow-methods'])).toMatch(/POST/);
  });

  run('serves badges: per check (badge_url, 2 and 3 states, SVG/JSON/Shields) and per tag (signed URLs from /badges/)', async () => {
    const created = (await (await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'badge me', tags: 'public-badge', timeout: 60, grace: 60 } })).json()) as HcCheck;
    expect(created.badge_url).toMatch(new RegExp(`^${server.url}/b/2/[0-9a-f-]{36}\\.svg$`));
    expect(created.badge_url).not.toContain(created.uuid);
    const svg = await fetch(created.badge_url);
    expect(svg.headers.get('content-type')).toMatch(/image\/svg\+xml/);
    expect(await svg.text()).toMatch(/<svg[\s\S]*badge me[\s\S]*up/);
    expect(await (await fetch(created.badge_url.replace(/\.svg$/, '.json'))).json()).toEqual({ status: 'up', total: 1, grace: 0, down: 0 });
    expect(await (await fetch(created.badge_url.replace('/b/2/', '/b/3/').replace(/\.svg$/, '.shields'))).json()).toEqual({ schemaVersion: 1, label: 'badge me', message: 'up', color: 'success' });
    await fetch(`${server.url}/ping/${created.uuid}/fail`);
    expect(((await (await fetch(created.badge_url.replace(/\.svg$/, '.json'))).json()) as { status: string }).status).toBe('down');

    const badges = ((await (await server.api('/api/v3/badges/')).json()) as { badges: Record<string, Record<string, string>> }).badges;
    expect(Object.keys(badges)).toEqual(expect.arrayContaining(['*', 'public-badge']));
    expect(Object.keys(badges['public-badge']!).sort()).toEqual(['json', 'json3', 'shields', 'shields3', 'svg', 'svg3']);
    expect(await (await fetch(badges['public-badge']!.json!)).json()).toEqual({ status: 'down', total: 1, grace: 0, down: 1 });
    expect((await fetch(badges['*']!.svg3!)).status).toBe(200);
    // A tag's signature does not open another tag's badge.
    const forged = badges['public-badge']!.json!.replace('/public-badge.json', '/secret.json');
    expect((await fetch(forged)).status).toBe(404);
  });

  run('filters pings by body keywords (filter_http_body, start/success/failure_kw, filter_default_fail)', async () => {
    const res = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'keyword job', timeout: 3600, filter_http_body: true, success_kw: 'SUCCESS', failure_kw: 'ERROR,FATAL', start_kw: 'STARTING' } });
    const check = (await res.json()) as HcCheck;
    expect(check).toMatchObject({ filter_http_body: true, filter_default_fail: false });
    const ping = (body: string) => fetch(`${server.url}/ping/${check.uuid}`, { method: 'POST', body });
    await ping('nothing of interest');
    expect(((await (await server.api(`/api/v3/checks/${check.uuid}`)).json()) as HcCheck).status).toBe('new');
    await ping('backup: SUCCESS');
    expect(((await (await server.api(`/api/v3/checks/${check.uuid}`)).json()) as HcCheck).status).toBe('up');
    await ping('FATAL: disk full (after SUCCESS of step 1)');
    expect(((await (await server.api(`/api/v3/checks/${check.uuid}`)).json()) as HcCheck).status).toBe('down');
    const pings = ((await (await server.api(`/api/v3/checks/${check.uuid}/pings/`)).json()) as { pings: { type: string }[] }).pings.map((p) => p.type);
    expect(pings).toEqual(['fail', 'success', 'ign']);
  });

  run('follows an OnCalendar schedule (next_ping in the check zone) and refuses a bad one in Healthchecks words', async () => {
    const check = (await (await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'weekday 9am', schedule: 'Mon..Fri 09:00', tz: 'Europe/Paris', grace: 600 } })).json()) as HcCheck;
    await fetch(`${server.url}/ping/${check.uuid}`);
    const next = ((await (await server.api(`/api/v3/checks/${check.uuid}`)).json()) as HcCheck).next_ping!;
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(next));
    expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
    const native = (await (await server.api(`/api/v1/checks/${check.uuid}`)).json()) as { schedule_text: string; schedule_syntax: string };
    expect(native).toMatchObject({ schedule_syntax: 'oncalendar', schedule_text: 'At 09:00, Monday through Friday (Europe/Paris), 10 minutes grace' });
    const bad = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'bad', schedule: 'Mon..Fri 25:00', tz: 'UTC' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/schedule: .*hour 25 is out of range/);
    const six = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'six', schedule: '0 0 9 * * *', tz: 'UTC' } });
    expect(((await six.json()) as { error: string }).error).toMatch(/six fields: a cron expression has five/);
  });

  run("answers Healthchecks' trailing-slash list paths on Vigil's own /api/v1 without touching the native API", async () => {
    const hc = await raw(server, 'POST', '/api/v1/checks/', { 'content-type': 'application/x-www-form-urlencoded', ...key }, '{"name": "From v1 Backups", "timeout": 3600}');
    expect(hc.status).toBe(201);
    const created = hc.json() as HcCheck;
    // API v1 and v2 derive the slug from the name; links point at the full Healthchecks v1 API under /hc.
    expect(created).toMatchObject({ slug: 'from-v1-backups', update_url: `${server.url}/hc/api/v1/checks/${created.uuid}` });
    const list = (await (await server.api('/api/v1/checks/')).json()) as { checks: HcCheck[] };
    expect(list.checks.some((c) => c.uuid === created.uuid && typeof c.tags === 'string')).toBe(true);
    const native = (await (await server.api('/api/v1/checks')).json()) as { checks: { id: string; tags: string[] }[] };
    expect(native.checks.some((c) => c.id === created.uuid && Array.isArray(c.tags))).toBe(true);
    expect((await server.api(`/hc/api/v1/checks/${created.uuid}`)).status).toBe(200);
  });
});
