import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTED_DURATION_MAX_MS } from '../src/domains/stream/traffic-aggregate.js';
import { ADMIN_TOKEN, STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

const fixture = (name: string) => readFileSync(new URL(`../src/domains/logs/decoders/fixtures/${name}`, import.meta.url));

interface Search {
  events: { message: string; service: string | null; status: number | null; section: string | null; timestamp: string; host: string | null }[];
  next_cursor: string | null;
}

describe.each(STORE_KINDS)('log ingest and search on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    // The fixtures are real payloads from 2024: keep a hot window that reaches them.
    if (storeAvailable(kind)) server = await startTestServer(kind, { VIGIL_HOT_DAYS: '3650' });
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));
  const post = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(server.url + path, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, ...headers }, body });
  const search = async (query: string) => (await (await server.api(`/api/v1/logs?${query}`)).json()) as Search;

  run('stores a Vector HTTP sink batch (JSON array) and a Fluent Bit json_lines batch, gzip-compressed', async () => {
    const res = await post('/api/v1/logs?service=edge', gzipSync(fixture('vector-http-array.json')), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: unknown[] };
    expect(body.accepted).toBeGreaterThan(0);
    expect(body).toMatchObject({ accepted: 2, rejected: [] });
    const nd = await post('/api/v1/logs', fixture('fluentbit-http-json_lines.ndjson'), { 'content-type': 'application/x-ndjson' });
    expect(nd.status).toBe(200);
    expect(await nd.json()).toMatchObject({ accepted: 2, rejected: [] });
    const found = await search('section=/api&limit=50');
    expect(found.events.length).toBeGreaterThan(0);
    expect(found.events.every((e) => e.section === '/api')).toBe(true);
    // Vector's /api/user (service from ?service=), Fluent Bit's CLF line and its JSON line (/api/orders).
    expect(found.events.map((e) => [e.service, e.status, e.message.slice(0, 12)]).sort()).toEqual([
      [null, 200, '10.0.0.4 - -'],
      [null, 200, 'slow request'],
      ['edge', 200, '172.17.0.1 -'],
    ]);
  });

  run('keeps the good events of a batch and names the bad ones by index and by line', async () => {
    const now = new Date().toISOString();
    const array = JSON.stringify([{ timestamp: now, message: 'ok one', service: 'partial' }, { timestamp: 'yesterday-ish', message: 'bad ts' }, 42, { timestamp: now, message: 'ok two', service: 'partial' }]);
    const res = await post('/api/v1/logs', array, { 'content-type': 'application/json' });
    const body = (await res.json()) as { accepted: number; rejected: { index?: number; line?: number; reason: string }[] };
    expect(res.status).toBe(200);
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 2]);
    const ndjson = `{"message":"line one","service":"partial-nd"}\nnot json at all\n{"message":"line three","service":"partial-nd"}\n`;
    const nd = (await (await post('/api/v1/logs', ndjson, { 'content-type': 'application/x-ndjson' })).json()) as typeof body;
    expect(nd.accepted).toBe(2);
    expect(nd.rejected).toEqual([expect.objectContaining({ line: 2 })]);
    expect((await search('service=partial')).events.map((e) => e.message).sort()).toEqual(['ok one', 'ok two']);
    const allBad = await post('/api/v1/logs', '[1, 2]', { 'content-type': 'application/json' });
    expect(allBad.status).toBe(400);
  });

  run('accepts access-log lines as plain text with ?format=clf and ?format=csv', async () => {
    const t = new Date().toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
    const clf = `10.0.0.1 - - [${t}] "GET /report/daily HTTP/1.1" 503 120\n10.0.0.2 - - [${t}] "POST /api/orders HTTP/1.1" 201 42\ngarbage line\n`;
    const res = await post('/api/v1/logs?format=clf&service=nginx-clf', clf, { 'content-type': 'text/plain' });
    const body = (await res.json()) as { accepted: number; rejected: { line: number }[] };
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => r.line)).toEqual([3]);
    const s = await search('service=nginx-clf&status=503');
    expect(s.events).toEqual([expect.objectContaining({ section: '/report', status: 503 })]);
    const unix = Math.floor(Date.now() / 1000);
    const csv = `"remotehost","rfc931","authuser","date","request","status","bytes"\n"10.0.0.2","-","apache",${unix},"GET /api/user HTTP/1.0",200,1234\n`;
    expect(((await (await post('/api/v1/logs?format=csv&service=csv-svc', csv, { 'content-type': 'text/csv' })).json()) as { accepted: number }).accepted).toBe(1);
  });

  run('speaks the Datadog intake (DD-API-KEY), Loki push (basic auth) and OTLP/HTTP JSON', async () => {
    const dd = await fetch(`${server.url}/api/v2/logs`, { method: 'POST', headers: { 'dd-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: fixture('vector-datadog-logs.json') });
    expect(dd.status).toBe(202);
    expect(await dd.json()).toEqual({});
    const loki = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`vigil:${ADMIN_TOKEN}`).toString('base64')}`, 'content-type': 'application/json' },
      body: fixture('fluentbit-loki.json'),
    });
    expect(loki.status).toBe(204);
    const otlp = await post('/v1/logs', fixture('otel-collector-logs.json'), { 'content-type': 'application/json' });
    expect(otlp.status).toBe(200);
    expect(otlp.headers.get('content-type')).toMatch(/application\/json/);
    expect((await search('service=storefront')).events.length).toBeGreaterThan(0);
    // Every good event of each payload is stored, not only answered for.
    expect((await search('service=storefront')).events.map((e) => [e.host, e.status]).sort()).toEqual([
      ['web-1', 200],
      ['web-2', null],
    ]);
    expect((await search('service=fluent-bit')).events.map((e) => e.message).sort()).toEqual(['plain text line', expect.stringContaining('"path":"/api/user"')]);
    expect((await search('service=billing')).events.map((e) => e.message)).toEqual(['payment ok']);
    expect((await search('service=checkout')).events.map((e) => e.message).sort()).toEqual(['GET /api/cart 200', 'checkout failed']);
  });

  run('answers OTLP partial success with the count and reasons', async () => {
    const record = (ts: string, body: string) => ({ timeUnixNano: ts, body: { stringValue: body } });
    const payload = {
      resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-partial' } }] }, scopeLogs: [{ logRecords: [record(`${Date.now()}000000`, 'fine'), record('not-a-number', 'broken')] }] }],
    };
    const res = await post('/v1/logs', JSON.stringify(payload), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedLogRecords).toBe('1');
    expect((await search('service=otlp-partial')).events.map((e) => e.message)).toEqual(['fine']);
  });

  run('refuses over-limit requests with 413 and events outside the hot window with a reason', async () => {
    const many = Array.from({ length: 10_001 }, () => ({ message: 'x' }));
    expect((await post('/api/v1/logs', JSON.stringify(many), { 'content-type': 'application/json' })).status).toBe(413);
    const huge = Buffer.alloc(6 * 1024 * 1024, 'a');
    expect((await post('/api/v1/logs', huge, { 'content-type': 'application/json' })).status).toBe(413);
    const old = await post('/api/v1/logs', JSON.stringify([{ timestamp: '1990-01-01T00:00:00Z', message: 'ancient' }]), { 'content-type': 'application/json' });
    expect(old.status).toBe(400);
    expect(((await old.json()) as { error: { message: string } }).error.message).toMatch(/older than the 3650-day hot retention/);
    expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: '[]' })).status).toBe(401);
  });

  run('pages through results with a cursor, newest first, with no duplicates or gaps', async () => {
    const base = Date.now() - 60_000;
    const events = Array.from({ length: 25 }, (_, i) => ({ timestamp: new Date(base + i * 1000).toISOString(), message: `paged ${i}`, service: 'pager' }));
    await post('/api/v1/logs', JSON.stringify(events), { 'content-type': 'application/json' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Search = await search(`service=pager&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.events.map((e) => e.message));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(events.map((e) => e.message).reverse());
    expect((await search('service=pager&q=PAGED 1')).events.map((e) => e.message).sort()).toEqual(['paged 1', 'paged 10', 'paged 11', 'paged 12', 'paged 13', 'paged 14', 'paged 15', 'paged 16', 'paged 17', 'paged 18', 'paged 19']);
    expect((await server.api('/api/v1/logs?cursor=bogus')).status).toBe(400);
  });

  run('stores an event carrying NUL characters (which PostgreSQL refuses) with U+FFFD in their place, and counts it', async () => {
    const body = JSON.stringify([{ message: 'nul\u0000inside', service: 'nul-test', path: '/nul\u0000path', status: 200, tag: 'x\u0000y' }]);
    const res = await post('/api/v1/logs', body, { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const [found] = (await search('service=nul-test')).events as (Search['events'][number] & { attributes: Record<string, unknown>; path: string })[];
    expect(found!.message).toBe('nul\ufffdinside');
    expect(found!.path).toBe('/nul\ufffdpath');
    expect(found!.attributes.tag).toBe('x\ufffdy');
    const counted = await server.ctx.db.selectFrom('traffic_counts').select('hits').where('service', '=', 'nul-test').where('resolution', '=', 1).execute();
    expect(counted.map((r) => Number(r.hits))).toEqual([1]);
  });

  run('counts events whose duration or byte sums no column can hold, and goes on with the next request', async () => {
    const at = new Date(Date.now() - 5000).toISOString();
    // Ingest takes any finite duration; two of 1e308 ms in one bucket sum to Infinity in JavaScript,
    // which could not be written: the batch failed on every retry and every organisation's
    // statistics stopped behind it.
    const infinite = JSON.stringify([1, 2].map(() => ({ timestamp: at, service: 'sums-test', path: '/inf', status: 200, duration_ms: 1e308 })));
    expect((await post('/api/v1/logs', infinite, { 'content-type': 'application/json' })).status).toBe(200);
    // 1,100 events of 2^53 − 1 bytes in one bucket pass the bigint maximum: the total saturates there.
    const huge = Array.from({ length: 1100 }, () => ({ timestamp: at, service: 'sums-test', path: '/big', status: 200, bytes: Number.MAX_SAFE_INTEGER }));
    expect((await post('/api/v1/logs', JSON.stringify(huge), { 'content-type': 'application/json' })).status).toBe(200);
    const after = JSON.stringify([{ timestamp: at, service: 'sums-test', path: '/after', status: 200, duration_ms: 3 }]);
    expect((await post('/api/v1/logs', after, { 'content-type': 'application/json' })).status).toBe(200);

    const rows = await eventually(async () => {
      const r = await server.ctx.db.selectFrom('traffic_counts').select(['section', 'hits', 'bytes', 'duration_sum_ms']).where('service', '=', 'sums-test').where('resolution', '=', 1).orderBy('section').execute();
      return r.length === 3 ? r : undefined;
    }, 20_000);
    expect(rows.map((r) => [r.section, Number(r.hits), String(r.bytes), Number(r.duration_sum_ms)])).toEqual([
      ['/after', 1, '0', 3],
      ['/big', 1100, '9223372036854775807', 0],
      ['/inf', 2, '0', 2 * COUNTED_DURATION_MAX_MS],
    ]);
    // The raw event keeps what was sent.
    const raw = await server.ctx.db.selectFrom('log_events').select('duration_ms').where('service', '=', 'sums-test').where('path', '=', '/inf').execute();
    expect(raw.map((r) => Number(r.duration_ms))).toEqual([1e308, 1e308]);
  });
});
