import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAFFIC_CONSUMER } from '../src/domains/stream/processor.js';
import { startInfluxSink } from '../src/domains/stream/influx/sink.js';
import { addHost, addLatency, emptyHosts, emptyLatency } from '../src/domains/stream/sketch.js';
import type { Worker } from '../src/platform/worker.js';
import { INFLUXD, startInfluxd, type Influxd, type InfluxSeries } from './support/influxd.js';
import { STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';
import { addTrafficCounts } from './support/traffic.js';

/**
 * The InfluxDB sink against a real InfluxDB 1.6 (Debian's `influxdb`, installed by .ci/run) with
 * authentication on, and the v2 framing against a recording HTTP server: InfluxDB 1.6 has no
 * /api/v2/write. Rows are written into traffic_counts/stream_progress directly, as the processor
 * would commit them, so the sink is tested on its own.
 */

const INFLUX_USER = 'vigil';
const INFLUX_PASSWORD = 'p@ss word';
const LATENESS_MS = 60_000;
/** A fast sink for tests; retries quickly too. */
const SINK_OPTIONS = { intervalMs: 200, write: { minBackoffMs: 50, maxBackoffMs: 200, timeoutMs: 5000 } };

/** A bucket label ten minutes ago, on a 10-second boundary. */
const T0 = Math.floor(Date.now() / 10_000) * 10_000 - 600_000;
const at = (offsetS: number) => new Date(T0 + offsetS * 1000);
const seconds = (offsetS: number) => T0 / 1000 + offsetS;

/** A section with everything line protocol has to escape, or cannot carry as is. */
const HOSTILE_SECTION = '/we ird,sec=tion "quoted"\nline\\';
/** How InfluxDB stores it: the newline as the two characters \n, the trailing backslash as %5C. */
const HOSTILE_STORED = '/we ird,sec=tion "quoted"\\nline%5C';

async function setWatermark(server: TestServer, watermark: Date): Promise<void> {
  await server.ctx.db
    .insertInto('stream_progress')
    .values({ consumer: TRAFFIC_CONSUMER, org_id: server.org.id, watermark })
    .onConflict((oc) => oc.columns(['consumer', 'org_id']).doUpdateSet({ watermark, updated_at: new Date() }))
    .execute();
}

// ---------------------------------------------------------------- a real InfluxDB 1.6

/** Rows of a query as objects keyed by column. */
const rowsOf = (series: InfluxSeries[]): Record<string, unknown>[] =>
  series.flatMap((s) => s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })));

describe.skipIf(!INFLUXD)('InfluxDB sink against InfluxDB 1.6 (v1 /write, Basic auth)', () => {
  let influxd: Influxd;
  beforeAll(async () => {
    influxd = await startInfluxd({ admin: { user: INFLUX_USER, password: INFLUX_PASSWORD } });
  });
  afterAll(async () => influxd?.stop());

  describe.each(STORE_KINDS)('on %s', (kind) => {
    const db = `vigil_${kind}`;
    let server: TestServer;
    let sink: Worker | undefined;
    beforeAll(async () => {
      if (!storeAvailable(kind)) return;
      await influxd.query(`CREATE DATABASE ${db}`);
      const credentials = `${encodeURIComponent(INFLUX_USER)}:${encodeURIComponent(INFLUX_PASSWORD)}`;
      server = await startTestServer(
        kind,
        { VIGIL_INFLUX_URL: influxd.url.replace('http://', `http://${credentials}@`), VIGIL_INFLUX_DB: db, VIGIL_STATS_LATENESS_MS: String(LATENESS_MS) },
        { workers: false },
      );
      sink = startInfluxSink(server.ctx, SINK_OPTIONS);
    });
    afterAll(async () => {
      await sink?.stop();
      await server?.dispose();
    });
    const run = it.skipIf(!storeAvailable(kind));
    const points = async (where = '') => rowsOf(await influxd.query(`SELECT * FROM vigil_traffic ${where}`, db));

    run('writes the final 10-second buckets with their dimensions as tags and their counters as fields', async () => {
      const hosts = emptyHosts();
      for (const h of ['10.0.0.1', '10.0.0.2']) addHost(hosts, h);
      const latency = emptyLatency();
      addLatency(latency, 20, 4);
      await server.ctx.db.insertInto('traffic_sketches').values({ org_id: server.org.id, resolution: 10, bucket: at(0), hosts, latency }).execute();
      await addTrafficCounts(server.ctx.db, server.org.id, [
        { bucket: at(0), service: 'shop', section: '/cart', statusClass: '2xx', method: 'GET', hits: 5, bytes: 500, durationCount: 4, durationSumMs: 80.5 },
        { bucket: at(0), section: HOSTILE_SECTION, statusClass: '5xx', method: 'POST', hits: 2, bytes: 20 },
        { bucket: at(10), service: 'shop', section: '/cart', statusClass: '2xx', method: 'GET', hits: 3, bytes: 300 },
        // Not final at a watermark of +25 s: it holds seconds 20…29.
        { bucket: at(20), service: 'shop', section: '/cart', statusClass: '2xx', method: 'GET', hits: 4, bytes: 400 },
        // Other resolutions are not sent.
        { bucket: at(0), service: 'shop', section: '/cart', statusClass: '2xx', method: 'GET', hits: 999, resolution: 1 },
        { bucket: at(0), service: 'shop', section: '/cart', statusClass: '2xx', method: 'GET', hits: 999, resolution: 60 },
      ]);
      await setWatermark(server, at(25));

      const written = await eventually(async () => {
        const rows = await points();
        return rows.length === 3 ? rows : undefined;
      });
      const org = server.org.id;
      expect(written).toEqual(
        expect.arrayContaining([
          { time: seconds(0), org, service: 'shop', section: '/cart', status_class: '2xx', method: 'GET', hits: 5, bytes: 500, duration_count: 4, duration_sum_ms: 80.5 },
          { time: seconds(0), org, service: null, section: HOSTILE_STORED, status_class: '5xx', method: 'POST', hits: 2, bytes: 20, duration_count: 0, duration_sum_ms: 0 },
          { time: seconds(10), org, service: 'shop', section: '/cart', status_class: '2xx', method: 'GET', hits: 3, bytes: 300, duration_count: 0, duration_sum_ms: 0 },
        ]),
      );
      // Counters are integers in InfluxDB (so sums stay exact), the duration sum a float.
      const types = rowsOf(await influxd.query('SHOW FIELD KEYS FROM vigil_traffic', db));
      expect(Object.fromEntries(types.map((t) => [t.fieldKey, t.fieldType]))).toEqual({ hits: 'integer', bytes: 'integer', duration_count: 'integer', duration_sum_ms: 'float' });
      const summary = rowsOf(await influxd.query('SELECT * FROM vigil_traffic_summary', db));
      expect(summary).toEqual([expect.objectContaining({ time: seconds(0), org, hosts: 2, latency_p50_ms: expect.closeTo(20, -1) })]);
    });

    run('overwrites a bucket that late events revised, instead of adding to it', async () => {
      await server.ctx.db.transaction().execute(async (trx) => {
        // Late events for +0 (within the lateness) in one commit with a watermark that finalises +20.
        await trx
          .updateTable('traffic_counts')
          .set({ hits: sql`hits + 2`, bytes: sql`bytes + 200` })
          .where('bucket', '=', at(0))
          .where('resolution', '=', 10)
          .where('section', '=', '/cart')
          .execute();
        await trx
          .updateTable('stream_progress')
          .set({ watermark: at(35) })
          .where('org_id', '=', server.org.id)
          .execute();
      });
      await eventually(async () => (await points(`WHERE time = ${seconds(20)}s`)).length === 1);
      const cart = await points(`WHERE section = '/cart' AND time = ${seconds(0)}s`);
      expect(cart).toEqual([expect.objectContaining({ hits: 7, bytes: 700 })]);
      expect(await points(`WHERE time = ${seconds(20)}s`)).toEqual([expect.objectContaining({ hits: 4, bytes: 400 })]);
    });

    run('after a restart sends the last lateness window again, which changes nothing', async () => {
      await sink?.stop();
      await addTrafficCounts(server.ctx.db, server.org.id, [{ bucket: at(30), service: 'shop', section: '/cart', statusClass: '2xx', method: 'GET', hits: 1 }]);
      await setWatermark(server, at(45));
      sink = startInfluxSink(server.ctx, SINK_OPTIONS);
      // The restarted sink knows nothing: its first pass re-sends +0 … +30 (all within 60 s).
      await eventually(async () => (await points(`WHERE time = ${seconds(30)}s`)).length === 1);
      const totals = rowsOf(await influxd.query(`SELECT count(hits) AS points, sum(hits) AS hits FROM vigil_traffic WHERE section = '/cart' AND time >= ${seconds(0)}s AND time < ${seconds(60)}s GROUP BY time(10s) FILL(none)`, db));
      expect(totals.map((t) => [Number(t.time) - T0 / 1000, t.points, t.hits])).toEqual([
        [0, 1, 7],
        [10, 1, 3],
        [20, 1, 4],
        [30, 1, 1],
      ]);
    });
  });
});

// ---------------------------------------------------------------- v2 framing, retries, errors

interface Recorded {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  lines: string[];
  at: number;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An HTTP server that records every request (gunzipping the body) and answers from a queue, else 204. */
async function startRecorder(): Promise<{ url: string; requests: Recorded[]; replies: Reply[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const replies: Reply[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const url = new URL(req.url ?? '/', 'http://recorder');
      requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers, lines: body.toString().split('\n').filter(Boolean), at: Date.now() });
      const reply = replies.shift() ?? { status: 204 };
      res.writeHead(reply.status, reply.headers).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    replies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('InfluxDB sink, v2 API (against a recording HTTP server: InfluxDB 1.6 has no /api/v2/write)', () => {
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let server: TestServer;
  let sink: Worker | undefined;
  beforeAll(async () => {
    recorder = await startRecorder();
    server = await startTestServer(
      'pglite',
      {
        VIGIL_INFLUX_URL: `${recorder.url}/influx`,
        VIGIL_INFLUX_ORG: 'acme corp',
        VIGIL_INFLUX_BUCKET: 'traffic',
        VIGIL_INFLUX_TOKEN: 'tok-123',
        VIGIL_STATS_LATENESS_MS: String(LATENESS_MS),
      },
      { workers: false },
    );
    sink = startInfluxSink(server.ctx, SINK_OPTIONS);
  });
  afterAll(async () => {
    await sink?.stop();
    await server?.dispose();
    await recorder?.close();
  });
  /** Waits for the requests after the first `seen` ones, until `count` of them arrived. */
  const requestsAfter = (seen: number, count: number) => eventually(async () => (recorder.requests.length >= seen + count ? recorder.requests.slice(seen) : undefined));

  it('posts gzip-compressed line protocol to /api/v2/write with org, bucket, precision and the token', async () => {
    await addTrafficCounts(server.ctx.db, server.org.id, [{ bucket: at(0), service: 'api', section: '/v1', statusClass: '4xx', method: 'DELETE', hits: 3, bytes: 30 }]);
    await setWatermark(server, at(10));
    const [request] = await requestsAfter(0, 1);
    expect(request!.path).toBe('/influx/api/v2/write');
    expect(Object.fromEntries(request!.query)).toEqual({ org: 'acme corp', bucket: 'traffic', precision: 's' });
    expect(request!.headers.authorization).toBe('Token tok-123');
    expect(request!.headers['content-encoding']).toBe('gzip');
    expect(request!.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(request!.lines).toEqual([
      `vigil_traffic,method=DELETE,org=${server.org.id},section=/v1,service=api,status_class=4xx hits=3i,bytes=30i,duration_count=0i,duration_sum_ms=0 ${seconds(0)}`,
    ]);
  });

  it('sends at most 5,000 lines per request, and only the buckets that changed', async () => {
    const seen = recorder.requests.length;
    await sql`INSERT INTO traffic_counts SELECT ${server.org.id}::uuid, 10, ${at(10).toISOString()}::timestamptz, 'bulk', '/p' || n, '2xx', 'GET', 1, 10, 0, 0
      FROM generate_series(1, 6001) AS n`.execute(server.ctx.db);
    await setWatermark(server, at(20));
    const requests = await requestsAfter(seen, 2);
    expect(requests.map((r) => r.lines.length)).toEqual([5000, 1001]);
    // The bucket sent before did not change: it is not sent again.
    expect(requests.flatMap((r) => r.lines).filter((line) => line.endsWith(` ${seconds(0)}`))).toEqual([]);
    expect(new Set(requests.flatMap((r) => r.lines).map((line) => /section=([^,]+)/.exec(line)?.[1])).size).toBe(6001);
  });

  it('waits as long as a 429 answer’s Retry-After asks, then sends the same points again', async () => {
    const seen = recorder.requests.length;
    recorder.replies.push({ status: 429, headers: { 'retry-after': '1', 'content-type': 'application/json' }, body: '{"code":"too many requests","message":"slow down"}' });
    await addTrafficCounts(server.ctx.db, server.org.id, [{ bucket: at(20), service: 'api', section: '/v1', statusClass: '2xx', method: 'GET', hits: 1 }]);
    await setWatermark(server, at(30));
    const [refused, accepted] = await requestsAfter(seen, 2);
    expect(accepted!.lines).toEqual(refused!.lines);
    expect(accepted!.at - refused!.at).toBeGreaterThanOrEqual(1000);
  });

  it('stops at a 401 with an error that says what to check, and tries again only at its next run', async () => {
    await sink?.stop();
    const logs: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
    const seen = recorder.requests.length;
    recorder.replies.push({ status: 401, headers: { 'content-type': 'application/json' }, body: '{"code":"unauthorized","message":"unauthorized access"}' });
    // A restarted sink re-sends the lateness window at once; its next run is a minute away.
    sink = startInfluxSink({ ...server.ctx, logger }, { ...SINK_OPTIONS, intervalMs: 60_000 });
    const error = await eventually(async () => logs.find((l) => l.level >= 50));
    expect(error.msg).toContain(`${recorder.url}/influx/api/v2/write`);
    expect(error.msg).toContain('HTTP 401: unauthorized access');
    expect(error.msg).toContain('Check VIGIL_INFLUX_TOKEN');
    expect(error.msg).not.toContain('tok-123');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(recorder.requests.length - seen).toBe(1);
  });
});
