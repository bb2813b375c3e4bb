/**
 * Shipments in (issue 10): bulk intake as JSON, NDJSON and CSV against a real server, on PGlite and
 * PostgreSQL (COPY): bad rows reported with line and field while good rows are stored, idempotency
 * by external_id, 100,000 rows in one request, tenancy, unknown currencies, and rate updates.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUANTITY, MAX_USD_PER_UNIT } from '../src/contracts/shipments.js';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { ADMIN_TOKEN, STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';

const execFileAsync = promisify(execFile);

interface Answer {
  stored: number;
  duplicates: number;
  rejected: number;
  errors: { line: number; field: string; message: string }[];
  errors_omitted: number;
}

const shipment = (id: string, extra: Record<string, unknown> = {}) => ({
  external_id: id,
  created_at: '2026-05-01T12:00:00Z',
  declared_value: 100,
  currency: 'EUR',
  weight_kg: 1.5,
  dimensions_cm: { length: 30, width: 20, height: 10 },
  pieces: 1,
  origin_country: 'DE',
  destination_country: 'NG',
  sender_id: 's-1',
  sender_email: 'shop@example.com',
  hs_code: '851712',
  attributes: { channel_ref: 'abc' },
  ...extra,
});

describe.each(STORE_KINDS)('shipments on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind);
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });
  const run = it.skipIf(!storeAvailable(kind));

  const send = (body: string, contentType: string, key?: string) => server.api('/api/v1/shipments', { method: 'POST', body, headers: { 'content-type': contentType }, ...(key ? { key } : {}) });

  run('takes a JSON array in, reports bad rows by position and field, keeps the good ones, and derives declared_value_usd', async () => {
    const res = await server.api('/api/v1/shipments', {
      method: 'POST',
      json: [shipment('j-1'), shipment('j-2', { destination_country: 'XX' }), shipment('j-3', { currency: 'ZZZ' }), shipment('j-4', { declared_value_usd: 1 }), shipment('j-5')],
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Answer;
    expect(answer).toMatchObject({ stored: 2, duplicates: 0, rejected: 3, errors_omitted: 0 });
    expect(answer.errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'destination_country'],
      [3, 'currency'],
      [4, 'declared_value_usd'],
    ]);
    expect(answer.errors[1]!.message).toMatch(/unknown currency/);

    const one = (await (await server.api('/api/v1/shipments/j-1')).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ external_id: 'j-1', created_at: '2026-05-01T12:00:00.000Z', declared_value: 100, currency: 'EUR', declared_value_usd: 108, dimensions_cm: { length: 30, width: 20, height: 10 }, destination_country: 'NG', attributes: { channel_ref: 'abc' } });
    expect((await server.api('/api/v1/shipments/j-2')).status).toBe(404);

    // Any external id can be read back, URL-encoded.
    const odd = 'order/42 #ü?';
    expect(((await (await server.api('/api/v1/shipments', { method: 'POST', json: [shipment(odd)] })).json()) as Answer).stored).toBe(1);
    expect(((await (await server.api(`/api/v1/shipments/${encodeURIComponent(odd)}`)).json()) as { external_id: string }).external_id).toBe(odd);
  });

  run('takes NDJSON and CSV in, with the line of each bad row', async () => {
    const ndjson = [JSON.stringify(shipment('n-1')), '{broken', JSON.stringify(shipment('n-2', { created_at: 'yesterday' })), JSON.stringify(shipment('n-3'))].join('\n');
    const a = (await (await send(ndjson, 'application/x-ndjson')).json()) as Answer;
    expect(a).toMatchObject({ stored: 2, rejected: 2 });
    expect(a.errors.map((e) => [e.line, e.field])).toEqual([
      [2, ''],
      [3, 'created_at'],
    ]);

    const csv = [
      'external_id,created_at,declared_value,currency,destination_country,dimensions_cm.length,dimensions_cm.width,dimensions_cm.height,attributes',
      'c-1,2026-05-02T08:00:00+02:00,10,USD,US,1,2,3,"{""k"":1}"',
      'c-2,2026-05-02T08:00:00+02:00,ten,USD,US,,,,',
      'c-3,2026-05-02T08:00:00+02:00,5,GBP,GB,,,,',
    ].join('\r\n');
    const res = await send(csv, 'text/csv');
    expect(res.status).toBe(200);
    const c = (await res.json()) as Answer;
    expect(c).toMatchObject({ stored: 2, rejected: 1 });
    expect(c.errors).toEqual([{ line: 3, field: 'declared_value', message: expect.any(String) }]);
    const c1 = (await (await server.api('/api/v1/shipments/c-1')).json()) as Record<string, unknown>;
    expect(c1).toMatchObject({ created_at: '2026-05-02T06:00:00.000Z', declared_value_usd: 10, dimensions_cm: { length: 1, width: 2, height: 3 }, attributes: { k: 1 } });
  });

  run('stores a row carrying NUL or a lone surrogate in NDJSON, with U+FFFD, without failing the batch', async () => {
    const ndjson = [String.raw`{"external_id":"nul-1","created_at":"2026-05-01T12:00:00Z","description":"a\u0000b","attributes":{"k\u0000":"\ud800"}}`, JSON.stringify(shipment('nul-2'))].join('\n');
    const a = (await (await send(ndjson, 'application/x-ndjson')).json()) as Answer;
    expect(a).toMatchObject({ stored: 2, rejected: 0 });
    const one = (await (await server.api('/api/v1/shipments/nul-1')).json()) as { description: string; attributes: Record<string, string> };
    expect(one.description).toBe('a\ufffdb');
    expect(one.attributes).toEqual({ 'k\ufffd': '\ufffd' });
  });

  run('refuses a row whose attributes nest 100,000 deep (it was a 500 in every format), keeping the rest of the batch', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const row = (id: string) => `{"external_id":"${id}","created_at":"2026-05-01T12:00:00Z","attributes":${deep}}`;
    // The line of the bad row: its position in the array or NDJSON, its line in the CSV (after the header).
    const bodies: [string, string, number][] = [
      [`[${row('deep-json')},${JSON.stringify(shipment('deep-ok-1'))}]`, 'application/json', 1],
      [`${row('deep-ndjson')}\n${JSON.stringify(shipment('deep-ok-2'))}\n`, 'application/x-ndjson', 1],
      [`external_id,created_at,attributes\ndeep-csv,2026-05-01T12:00:00Z,"${deep.replaceAll('"', '""')}"\ndeep-ok-3,2026-05-01T12:00:00Z,{}\n`, 'text/csv', 2],
    ];
    for (const [body, type, line] of bodies) {
      const res = await send(body, type);
      expect(res.status).toBe(200);
      const a = (await res.json()) as Answer;
      expect(a).toMatchObject({ stored: 1, rejected: 1 });
      expect(a.errors[0]).toMatchObject({ line, field: 'attributes' });
    }
    expect((await server.api('/healthz')).status).toBe(200);
  });

  run('treats hostile rows sent without a declared format (sniffed) as the declared formats do: 100,000-deep attributes, NUL, __proto__', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const row = (id: string) => `{"external_id":"${id}","created_at":"2026-05-01T12:00:00Z","attributes":${deep}}`;
    const bodies: [string, number][] = [
      [`[${row('sniff-deep-json')},${JSON.stringify(shipment('sniff-ok-1'))}]`, 1],
      [`${row('sniff-deep-ndjson')}\n${JSON.stringify(shipment('sniff-ok-2'))}\n`, 1],
      [`external_id,created_at,attributes\nsniff-deep-csv,2026-05-01T12:00:00Z,"${deep.replaceAll('"', '""')}"\nsniff-ok-3,2026-05-01T12:00:00Z,{}\n`, 2],
    ];
    for (const [body, line] of bodies) {
      const res = await send(body, 'application/octet-stream');
      expect(res.status).toBe(200);
      const a = (await res.json()) as Answer;
      expect(a).toMatchObject({ stored: 1, rejected: 1 });
      expect(a.errors[0]).toMatchObject({ line, field: 'attributes' });
    }
    const hostile = [
      String.raw`{"external_id":"sniff-nul","created_at":"2026-05-01T12:00:00Z","description":"a\u0000b"}`,
      `{"external_id":"sniff-proto","created_at":"2026-05-01T12:00:00Z","__proto__":{"polluted":true}}`,
      '{"external_id":["not","text"],"created_at":"2026-05-01T12:00:00Z"}',
    ].join('\n');
    const a = (await (await send(hostile, 'text/plain')).json()) as Answer;
    expect(a).toMatchObject({ stored: 1, rejected: 2 });
    expect(a.errors).toEqual([expect.objectContaining({ line: 2, field: '__proto__' }), expect.objectContaining({ line: 3, field: 'external_id' })]);
    expect(((await (await server.api('/api/v1/shipments/sniff-nul')).json()) as { description: string }).description).toBe('a\ufffdb');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await server.api('/healthz')).status).toBe(200);
  });

  run('refuses a "__proto__" row of a declared JSON array by its line and stores the others (fastify\'s JSON parser refused the whole body)', async () => {
    const body = [
      JSON.stringify(shipment('json-proto-ok-1')),
      `{"external_id":"json-proto","created_at":"2026-05-01T12:00:00Z","__proto__":{"polluted":true}}`,
      `{"external_id":"json-constructor","created_at":"2026-05-01T12:00:00Z","constructor":{"prototype":{"polluted":true}}}`,
      JSON.stringify(shipment('json-proto-ok-2')),
    ];
    const res = await send(`[${body.join(',')}]`, 'application/json; charset=utf-8');
    expect(res.status).toBe(200);
    const a = (await res.json()) as Answer;
    expect(a).toMatchObject({ stored: 2, rejected: 2 });
    expect(a.errors).toEqual([expect.objectContaining({ line: 2, field: '__proto__' }), expect.objectContaining({ line: 3, field: 'constructor' })]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const broken = await send('[{"external_id":', 'application/json');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { message: string } }).error.message).toMatch(/is not JSON .*send a JSON array, NDJSON or CSV/);
  });

  run('is idempotent by external_id: the same body twice stores nothing the second time', async () => {
    const body = [shipment('i-1'), shipment('i-2'), shipment('i-2')];
    const first = (await (await server.api('/api/v1/shipments', { method: 'POST', json: body })).json()) as Answer;
    expect(first).toMatchObject({ stored: 2, duplicates: 1, rejected: 0 });
    const second = (await (await server.api('/api/v1/shipments', { method: 'POST', json: body })).json()) as Answer;
    expect(second).toMatchObject({ stored: 0, duplicates: 3, rejected: 0 });
  });

  run('refuses a body whose every row is bad, and an unsupported type', async () => {
    const res = await server.api('/api/v1/shipments', { method: 'POST', json: [{ external_id: 'x' }] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { details: Answer } };
    expect(body.error.details.errors).toEqual([{ line: 1, field: 'created_at', message: expect.any(String) }]);
    const refused = await send('<shipments/>', 'application/xml');
    expect(refused.status).toBe(415);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/application\/xml is not accepted here: this endpoint takes application\/json .*text\/csv, or no Content-Type/);
    // A header fastify cannot parse (empty) is refused before the intake runs; the answer still says what the intake takes.
    const empty = await send('x', '');
    expect(empty.status).toBe(415);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toMatch(/\(none\) is not accepted here: this endpoint takes application\/json .*x-ndjson or text\/csv/);
  });

  // What an outsider types first: curl with --data-binary @file and no Content-Type sends
  // application/x-www-form-urlencoded, -T sends none; both were a bare 415 (the exact bytes of a
  // real curl, not a request written by hand).
  run('takes a file sent by curl without a Content-Type, telling CSV, NDJSON and a JSON array by its first character', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-curl-'));
    try {
      const files = {
        'shipments.csv': '\uFEFFexternal_id,created_at,declared_value,currency\r\ncurl-csv-1,2026-05-01T12:00:00Z,10,EUR\r\ncurl-csv-2,not a date,10,EUR\r\n',
        'shipments.ndjson': `${JSON.stringify(shipment('curl-nd-1'))}\n${JSON.stringify(shipment('curl-nd-2'))}\n`,
        'shipments.json': `\n ${JSON.stringify([shipment('curl-json-1')])}`,
      };
      for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
      const curl = async (...args: string[]): Promise<{ status: number; body: Answer }> => {
        const { stdout } = await execFileAsync('curl', ['-sS', '-w', '\n%{http_code}', '-H', `X-Api-Key: ${ADMIN_TOKEN}`, ...args, `${server.url}/api/v1/shipments`]);
        const lines = stdout.trimEnd().split('\n');
        return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) as Answer };
      };
      const csv = await curl('--data-binary', `@${join(dir, 'shipments.csv')}`);
      expect(csv.status).toBe(200);
      expect(csv.body).toMatchObject({ stored: 1, rejected: 1, errors: [{ line: 3, field: 'created_at' }] });
      expect(await curl('--data-binary', `@${join(dir, 'shipments.ndjson')}`)).toMatchObject({ status: 200, body: { stored: 2, rejected: 0 } });
      expect(await curl('-T', join(dir, 'shipments.json'), '-X', 'POST')).toMatchObject({ status: 200, body: { stored: 1, rejected: 0 } });
      expect(await curl('-H', 'content-type: text/plain', '--data-binary', '[{"external_id": "curl-bad", ')).toMatchObject({ status: 400 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  run('another organisation sees none of them, and keeps its own external ids', async () => {
    const other = await createOrg(server.ctx.db, `other-${kind}`);
    const { key } = await createApiKey(server.ctx.db, other.id, 'other', 'member');
    expect((await server.api('/api/v1/shipments/j-1', { key })).status).toBe(404);
    const list = (await (await server.api('/api/v1/shipments', { key })).json()) as { shipments: unknown[] };
    expect(list.shipments).toEqual([]);
    // The same external id in another organisation is another shipment.
    const a = (await (await send(JSON.stringify([shipment('j-1', { declared_value: 1 })]), 'application/json', key)).json()) as Answer;
    expect(a.stored).toBe(1);
    expect(((await (await server.api('/api/v1/shipments/j-1')).json()) as { declared_value: number }).declared_value).toBe(100);
  });

  run('refuses quantities above MAX_QUANTITY and rates above MAX_USD_PER_UNIT by line and field, keeping the good rows', async () => {
    // A velocity sum over values near Number.MAX_VALUE was Infinity (fraud aggregates).
    const res = await server.api('/api/v1/shipments', {
      method: 'POST',
      json: [shipment('q-1', { declared_value: MAX_QUANTITY }), shipment('q-2', { declared_value: 1e300 }), shipment('q-3', { weight_kg: Number.MAX_VALUE }), shipment('q-4')],
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Answer;
    expect(answer).toMatchObject({ stored: 2, rejected: 2 });
    expect(answer.errors).toEqual([
      { line: 2, field: 'declared_value', message: 'must be at most 1,000,000,000,000,000' },
      { line: 3, field: 'weight_kg', message: 'must be at most 1,000,000,000,000,000' },
    ]);
    expect(((await (await server.api('/api/v1/shipments/q-1')).json()) as { declared_value: number }).declared_value).toBe(MAX_QUANTITY);
    expect((await server.api('/api/v1/shipments/q-2')).status).toBe(404);
    // CSV numbers are checked the same way.
    const csv = ['external_id,created_at,declared_value,currency,dimensions_cm.length,dimensions_cm.width,dimensions_cm.height', 'qc-1,2026-05-01T12:00:00Z,1e16,EUR,1,1,1', 'qc-2,2026-05-01T12:00:00Z,10,EUR,1,1e300,1', 'qc-3,2026-05-01T12:00:00Z,10,EUR,1,1,1'].join('\n');
    const c = (await (await send(csv, 'text/csv')).json()) as Answer;
    expect(c).toMatchObject({ stored: 1, rejected: 2 });
    expect(c.errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'declared_value'],
      [3, 'dimensions_cm.width'],
    ]);
    // A rate whose product with a declared value could overflow is refused.
    const put = await server.api('/api/v1/currency-rates', { method: 'PUT', json: { rates: [{ currency: 'EUR', usd_per_unit: MAX_USD_PER_UNIT * 10 }] } });
    expect(put.status).toBe(400);
    expect(JSON.stringify(await put.json())).toContain('usd_per_unit');
  });

  run('lists the newest first, page by page', async () => {
    const page1 = (await (await server.api('/api/v1/shipments?limit=2')).json()) as { shipments: { external_id: string; created_at: string }[]; next_before: string };
    expect(page1.shipments).toHaveLength(2);
    expect(page1.shipments[0]!.external_id).toMatch(/^c-/);
    const page2 = (await (await server.api(`/api/v1/shipments?limit=2&before=${encodeURIComponent(page1.next_before)}`)).json()) as { shipments: { external_id: string }[] };
    expect(page2.shipments.map((s) => s.external_id)).not.toContain(page1.shipments[0]!.external_id);
    expect((await server.api('/api/v1/shipments?before=garbage')).status).toBe(400);
  });

  run('a platform admin updates rates; new intakes use them, stored shipments keep theirs; others may not', async () => {
    const put = await server.api('/api/v1/currency-rates', { method: 'PUT', json: { rates: [{ currency: 'EUR', usd_per_unit: 2 }, { currency: 'ZZZ', usd_per_unit: 0.5 }] } });
    expect(put.status).toBe(200);
    const rates = (await put.json()) as { rates: { currency: string; usd_per_unit: number }[] };
    expect(rates.rates).toContainEqual(expect.objectContaining({ currency: 'USD', usd_per_unit: 1 }));
    expect(rates.rates).toContainEqual(expect.objectContaining({ currency: 'EUR', usd_per_unit: 2 }));

    const a = (await (await server.api('/api/v1/shipments', { method: 'POST', json: [shipment('r-1'), shipment('r-2', { currency: 'ZZZ' })] })).json()) as Answer;
    expect(a).toMatchObject({ stored: 2, rejected: 0 });
    expect(((await (await server.api('/api/v1/shipments/r-1')).json()) as { declared_value_usd: number }).declared_value_usd).toBe(200);
    expect(((await (await server.api('/api/v1/shipments/r-2')).json()) as { declared_value_usd: number }).declared_value_usd).toBe(50);
    expect(((await (await server.api('/api/v1/shipments/j-1')).json()) as { declared_value_usd: number }).declared_value_usd).toBe(108);

    const { key } = await createApiKey(server.ctx.db, server.org.id, 'org-admin', 'admin');
    expect((await server.api('/api/v1/currency-rates', { method: 'PUT', key, json: { rates: [{ currency: 'EUR', usd_per_unit: 3 }] } })).status).toBe(403);
    expect((await server.api('/api/v1/currency-rates', { method: 'PUT', json: { rates: [{ currency: 'eur', usd_per_unit: 3 }] } })).status).toBe(400);
    // The intake's leniency about Content-Type is the intake's own: the rates take JSON only.
    const form = await server.api('/api/v1/currency-rates', { method: 'PUT', body: JSON.stringify({ rates: [{ currency: 'EUR', usd_per_unit: 3 }] }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(((await form.json()) as { error: { message: string } }).error.message).toMatch(/application\/x-www-form-urlencoded is not accepted here: this endpoint takes JSON/);
  });

  run('takes 100,000 rows in one request', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) lines.push(JSON.stringify(shipment(`bulk-${i}`, { sender_id: `s-${i % 997}`, declared_value: i % 5000 })));
    const body = lines.join('\n');
    const started = performance.now();
    const res = await send(body, 'application/x-ndjson');
    const ms = performance.now() - started;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Answer).stored).toBe(100_000);
    console.log(`shipments (${kind}): 100,000 rows (${(body.length / 1e6).toFixed(1)} MB NDJSON) stored in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(120_000);
  }, 180_000);
});
