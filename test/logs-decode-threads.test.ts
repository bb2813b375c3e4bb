import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_PROTOCOLS, encodeBatch, poisonCases } from '../src/domains/logs/decoders/test-support.js';
import { freePort, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, TEST_DATABASE_URL, eventually, freshPostgresDatabase } from './support/server.js';

/**
 * Log ingest with its bodies decoded on worker threads answers exactly as with inline decoding.
 * Worker threads need the built server (dist/): under vitest the app runs from TypeScript and
 * decodes inline, so this test runs two real `vigil start` processes, VIGIL_DECODE_THREADS=1 and
 * =0, posts the same requests (large enough to go to a worker) to both and compares every answer
 * and every stored event. On PostgreSQL when TEST_DATABASE_URL is set, else on embedded stores.
 */

interface Target {
  proc: VigilProcess;
  cleanup: () => Promise<void>;
}

async function start(threads: number): Promise<Target> {
  const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_DECODE_THREADS: String(threads), LOG_LEVEL: 'info' };
  let drop: () => Promise<void>;
  if (TEST_DATABASE_URL) {
    const db = await freshPostgresDatabase();
    env.DATABASE_URL = db.url;
    drop = db.drop;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-decode-threads-'));
    env.VIGIL_DATA_DIR = dir;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  }
  const proc = await spawnVigil(env, await freePort());
  return {
    proc,
    cleanup: async () => {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        const exited = new Promise((r) => proc.child.once('exit', r));
        proc.child.kill('SIGKILL');
        await exited;
      }
      await drop();
    },
  };
}

interface Request {
  name: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Events of the last minute, `count` of them, some with something wrong. */
function accessEvents(count: number, tag: string): Record<string, unknown>[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    timestamp: i === 7 ? 'not a time' : new Date(now - i * 10).toISOString(),
    service: `svc-${i % 3}`,
    host: 'web-01',
    method: i % 4 === 0 ? 'POST' : 'GET',
    path: `/api/${tag}/${i}?page=${i % 5}`,
    status: i % 11 === 0 ? 503 : 200,
    bytes: 100 + i,
    duration_ms: i / 10,
    remote_addr: `10.0.0.${i % 250}`,
    user_agent: 'curl/8.5.0',
    ...(i % 9 === 0 ? { extra: { nested: [1, 'two', null], __proto__x: true } } : {}),
  }));
}

function requests(): Request[] {
  const json = (tag: string) => Buffer.from(JSON.stringify(accessEvents(200, tag)));
  const ndjson = Buffer.from(
    accessEvents(200, 'ndjson')
      .map((e, i) => (i === 3 ? '{"message": broken' : JSON.stringify(e)))
      .join('\n'),
  );
  const clfTime = new Date().toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
  const clf = Buffer.from(
    Array.from({ length: 300 }, (_, i) => (i === 5 ? 'garbage line' : `10.1.0.${i % 250} - - [${clfTime}] "GET /clf/${i} HTTP/1.1" ${i % 7 === 0 ? 404 : 200} ${i}`)).join('\n'),
  );
  const appJson = { 'content-type': 'application/json' };
  const big = Buffer.from(JSON.stringify(accessEvents(200, 'x')));
  const poison = INGEST_PROTOCOLS.map((protocol): Request => {
    const batch = encodeBatch(protocol, poisonCases(`threads-${protocol}`).map((c) => c.record), Date.now());
    return { name: `poison ${protocol}`, path: batch.path, headers: { 'content-type': batch.contentType }, body: batch.body };
  });
  return [
    { name: 'JSON array', path: '/api/v1/logs', headers: appJson, body: json('json') },
    { name: 'gzip JSON array', path: '/api/v1/logs?service=gz', headers: { ...appJson, 'content-encoding': 'gzip' }, body: gzipSync(json('gzip')) },
    { name: 'NDJSON with a bad line', path: '/api/v1/logs', headers: { 'content-type': 'application/x-ndjson' }, body: ndjson },
    { name: 'CLF with a bad line', path: '/api/v1/logs?format=clf&service=clf', headers: { 'content-type': 'text/plain' }, body: clf },
    { name: 'a small body (inline either way)', path: '/api/v1/logs', headers: appJson, body: Buffer.from(JSON.stringify(accessEvents(3, 'small'))) },
    { name: 'invalid JSON', path: '/api/v1/logs', headers: appJson, body: big.subarray(0, big.length - 40) },
    { name: 'corrupt gzip', path: '/api/v1/logs', headers: { ...appJson, 'content-encoding': 'gzip' }, body: big },
    { name: 'an unknown encoding', path: '/api/v1/logs', headers: { ...appJson, 'content-encoding': 'zstd' }, body: big },
    { name: 'too many events', path: '/api/v1/logs', headers: { 'content-type': 'application/x-ndjson' }, body: Buffer.from(Array.from({ length: 10_001 }, (_, i) => `{"message":"m${i}"}`).join('\n')) },
    { name: 'Datadog', path: '/api/v2/logs?ddtags=env:prod', headers: appJson, body: Buffer.from(JSON.stringify(accessEvents(150, 'dd').map((e) => ({ ...e, message: `dd ${String(e.path)}` })))) },
    ...poison,
  ];
}

interface Answer {
  status: number;
  contentType: string | null;
  body: string;
}

async function post(proc: VigilProcess, request: Request): Promise<Answer> {
  const res = await fetch(proc.url + request.path, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, ...request.headers }, body: request.body });
  const body = Buffer.from(await res.arrayBuffer());
  // OTLP/protobuf answers are bytes.
  return { status: res.status, contentType: res.headers.get('content-type'), body: res.headers.get('content-type')?.includes('protobuf') ? body.toString('base64') : body.toString('utf8') };
}

/** Every stored event, without what differs between two servers (ids, arrival times), in a stable order. */
async function stored(proc: VigilProcess): Promise<unknown[]> {
  const events: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const res: Response = await fetch(`${proc.url}/api/v1/logs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { 'x-api-key': ADMIN_TOKEN } });
    const page = (await res.json()) as { events: Record<string, unknown>[]; next_cursor: string | null };
    events.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  const stripped = events.map(({ id: _id, received_at: _receivedAt, receivedAt: _at, ...rest }) => rest);
  // Events without a timestamp are stamped with their arrival time: not comparable either.
  return stripped.map((e) => JSON.stringify(e)).sort();
}

describe('log bodies decoded on worker threads (built server)', () => {
  let threaded: Target;
  let inline: Target;
  beforeAll(async () => {
    [threaded, inline] = await Promise.all([start(1), start(0)]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([threaded?.cleanup(), inline?.cleanup()]);
  });

  it('uses its thread only when asked', async () => {
    // Said once the pool's first task came back, which may be after the server reported ready.
    await eventually(async () => threaded.proc.output().includes('log bodies are decoded on worker threads'), 10_000, 50).catch(() => undefined);
    expect(threaded.proc.output()).toContain('log bodies are decoded on worker threads');
    expect(inline.proc.output()).not.toContain('decoded on worker threads');
  });

  it('answers every request as inline decoding does, and stores the same events', async () => {
    const statuses: Record<string, number> = {};
    for (const request of requests()) {
      const [a, b] = [await post(threaded.proc, request), await post(inline.proc, request)];
      expect({ name: request.name, ...a }).toEqual({ name: request.name, ...b });
      statuses[request.name] = b.status;
    }
    // The cases cover both accepted batches and whole-body refusals.
    expect(statuses).toMatchObject({ 'JSON array': 200, 'invalid JSON': 400, 'corrupt gzip': 400, 'an unknown encoding': 415, 'too many events': 413, Datadog: 202 });
    const [a, b] = [await stored(threaded.proc), await stored(inline.proc)];
    expect(a.length).toBeGreaterThan(1000);
    expect(a).toEqual(b);
  }, 120_000);

  it('stops gracefully, threads included', async () => {
    const exited = new Promise<number | null>((r) => threaded.proc.child.once('exit', (code) => r(code)));
    const started = Date.now();
    threaded.proc.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);
});
