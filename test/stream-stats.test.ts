import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/platform/store/index.js';
import { ADMIN_TOKEN, STORE_KINDS, TEST_DATABASE_URL, eventually, freshPostgresDatabase, startTestServer, storeAvailable, type TestServer } from './support/server.js';

const NATS_URL = process.env.NATS_URL;

/** One access-log request as an agent would send it (native JSON). */
const request = (t: number, over: Record<string, unknown> = {}) => ({
  timestamp: new Date(t).toISOString(),
  message: 'request',
  source: 'agent-a',
  service: 'shop',
  method: 'GET',
  path: '/api/orders',
  status: 200,
  bytes: 100,
  duration_ms: 20,
  remote_addr: '10.0.0.1',
  ...over,
});

async function ingest(url: string, events: unknown[]): Promise<number> {
  const res = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { accepted: number }).accepted;
}

/** The statistics at 1 s and the recount of raw events that are request events and not too late. */
async function statsAndRecount(db: Db) {
  const counted = await sql<{ r: number; hits: string | null }>`SELECT resolution AS r, sum(hits) AS hits FROM traffic_counts GROUP BY resolution ORDER BY resolution`.execute(db);
  const recount = await sql<{ n: string }>`SELECT count(*) AS n FROM log_events WHERE NOT too_late AND (path IS NOT NULL OR status IS NOT NULL OR method IS NOT NULL)`.execute(db);
  return { byResolution: Object.fromEntries(counted.rows.map((row) => [row.r, Number(row.hits)])), recount: Number(recount.rows[0]!.n) };
}

describe.each(STORE_KINDS)('event-time statistics from ingest (%s, in-process bus)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind, { VIGIL_STATS_OUT_OF_ORDER_MS: '5000', VIGIL_STATS_LATENESS_MS: '60000' });
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  run('counts in event time, revises buckets with late events and stores too-late ones without counting them', async () => {
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    // 20 requests over 20 s, two sections, one server error.
    await ingest(
      server.url,
      Array.from({ length: 20 }, (_, i) => request(t0 + i * 1000, i % 4 === 0 ? { path: '/report/daily' } : i === 7 ? { status: 503 } : {})),
    );
    // A plain log line: stored, never counted.
    await ingest(server.url, [{ timestamp: new Date(t0).toISOString(), message: 'cache warmed', source: 'agent-a' }]);
    // Time moves to t0+100 s: the watermark is t0+95 s.
    await ingest(server.url, [request(t0 + 100_000)]);
    const db = server.ctx.db;
    const progress = await db.selectFrom('stream_progress').select(['watermark', 'too_late']).executeTakeFirstOrThrow();
    expect(progress.watermark?.getTime()).toBe(t0 + 95_000);

    // Late but within the 60 s lateness (bucket t0+40 s ≥ t0+95 s − 60 s): counted, revising the t0+40 s bucket.
    await ingest(server.url, [request(t0 + 40_000, { path: '/report/late' })]);
    // Too late (bucket t0+10 s < t0+35 s): stored and flagged, not counted.
    await ingest(server.url, [request(t0 + 10_000, { path: '/report/too-late' })]);

    const tenSecond = await db
      .selectFrom('traffic_counts')
      .select(['bucket', 'section', 'status_class', 'hits'])
      .where('resolution', '=', 10)
      .where('bucket', '=', new Date(t0 + 40_000))
      .execute();
    expect(tenSecond.map((r) => [r.section, Number(r.hits)])).toEqual([['/report', 1]]);

    const stored = await db.selectFrom('log_events').select(['path', 'too_late']).where('path', 'like', '/report/%late').orderBy('path').execute();
    expect(stored).toEqual([
      { path: '/report/late', too_late: false },
      { path: '/report/too-late', too_late: true },
    ]);
    expect(Number((await db.selectFrom('stream_progress').select('too_late').executeTakeFirstOrThrow()).too_late)).toBe(1);

    const { byResolution, recount } = await statsAndRecount(db);
    expect(recount).toBe(22);
    expect(byResolution).toEqual({ 1: 22, 10: 22, 60: 22, 3600: 22 });
    const byClass = await db.selectFrom('traffic_counts').select(['status_class', db.fn.sum<string>('hits').as('hits')]).where('resolution', '=', 60).groupBy('status_class').orderBy('status_class').execute();
    expect(byClass.map((r) => [r.status_class, Number(r.hits)])).toEqual([
      ['2xx', 21],
      ['5xx', 1],
    ]);
    const sketch = await db.selectFrom('traffic_sketches').select(['too_late']).where('resolution', '=', 10).where('bucket', '=', new Date(t0 + 10_000)).executeTakeFirstOrThrow();
    expect(Number(sketch.too_late)).toBe(1);
  });
});

describe.skipIf(!TEST_DATABASE_URL || !NATS_URL)('scaled out: ingest and processor in separate instances over NATS JetStream', () => {
  let db: { url: string; drop: () => Promise<void> };
  let ingestNode: TestServer;
  let processNode: TestServer;
  const stream = `VIGILTEST_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    const env = { DATABASE_URL: db.url, NATS_URL: NATS_URL!, VIGIL_NATS_STREAM: stream };
    ingestNode = await startTestServer('pglite', { ...env, VIGIL_ROLES: 'web,ingest' });
    processNode = await startTestServer('pglite', { ...env, VIGIL_ROLES: 'process' });
  });
  afterAll(async () => {
    await ingestNode?.close();
    await processNode?.close();
    await db?.drop();
    const nc = await connect({ servers: NATS_URL! });
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  it('acknowledges once JetStream stored the events, and the processor instance stores and counts them', async () => {
    const t0 = Date.now() - 60_000;
    let accepted = 0;
    for (let batch = 0; batch < 5; batch++) accepted += await ingest(ingestNode.url, Array.from({ length: 200 }, (_, i) => request(t0 + batch * 1000 + i)));
    expect(accepted).toBe(1000);
    const totals = await eventually(async () => {
      const s = await statsAndRecount(ingestNode.ctx.db);
      return s.recount === 1000 && s.byResolution[1] === 1000 ? s : undefined;
    }, 20_000);
    expect(totals.byResolution).toEqual({ 1: 1000, 10: 1000, 60: 1000, 3600: 1000 });
    // The web instance answers searches from the shared store.
    const found = (await (await ingestNode.api('/api/v1/logs?limit=5')).json()) as { events: unknown[] };
    expect(found.events).toHaveLength(5);
  });

  it('a processor that was down catches up from the durable consumer without losing or double-counting', async () => {
    await processNode.close();
    const t0 = Date.now() - 30_000;
    expect(await ingest(ingestNode.url, Array.from({ length: 300 }, (_, i) => request(t0 + i)))).toBe(300);
    processNode = await startTestServer('pglite', { DATABASE_URL: db.url, NATS_URL: NATS_URL!, VIGIL_NATS_STREAM: stream, VIGIL_ROLES: 'process' });
    const totals = await eventually(async () => {
      const s = await statsAndRecount(ingestNode.ctx.db);
      return s.recount === 1300 ? s : undefined;
    }, 20_000);
    expect(totals.byResolution[1]).toBe(1300);
  });

  it('refuses, with the reason, an event that fits the ingest limit but not one JetStream message, and keeps the rest', async () => {
    // ~1,047,700 bytes: under the 1 MiB event limit, over the bus's 1 MiB − 1 KiB once normalised.
    const big = { message: 'x'.repeat(1_047_700), service: 'too-big' };
    const res = await fetch(`${ingestNode.url}/api/v1/logs`, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body: JSON.stringify([request(Date.now() - 1000), big]) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: { reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([{ index: 1, reason: expect.stringMatching(/more than the event bus carries in one message .*max_payload/) }]);
  });
});

describe('deployment checks', () => {
  it('refuses split roles that could never process what they accept', async () => {
    await expect(startTestServer('pglite', { VIGIL_ROLES: 'ingest' })).rejects.toThrow(/NATS_URL/);
  });

  it('refuses InfluxDB settings that do not fit together before it starts listening', async () => {
    await expect(startTestServer('pglite', { VIGIL_INFLUX_URL: 'http://127.0.0.1:8086' })).rejects.toThrow(/VIGIL_INFLUX_DB: missing/);
  });
});
