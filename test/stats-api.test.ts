import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { mergeSketches } from '../src/domains/stream/processor-store.js';
import { addHost, addLatency, emptyHosts, emptyLatency } from '../src/domains/stream/sketch.js';
import type { SketchDelta } from '../src/domains/stream/traffic-aggregate.js';
import type { Db } from '../src/platform/store/index.js';
import { STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';
import { addTrafficCounts, type TrafficCounts } from './support/traffic.js';

/**
 * `GET /api/v1/stats` against rows written the way the stream processor writes them: every request
 * counted at 1 s, 10 s, 1 min and 1 h, sketches at 10 s, 1 min and 1 h. The answers must sum those
 * rows right whichever resolution a range reads.
 */

interface Request {
  /** Event time, unix seconds. */
  t: number;
  section: string;
  /** HTTP status, or null for an event without one. */
  status: number | null;
  service?: string;
  method?: string;
  host?: string;
  bytes?: number;
  durationMs?: number;
}

const RESOLUTIONS = [1, 10, 60, 3600];
const SKETCH_RESOLUTIONS = [10, 60, 3600];

/**
 * Aggregates requests into the processor's rows at every resolution still kept (older ones are
 * pruned by retention) and adds them to what is stored, as the processor does.
 */
async function writeRequests(db: Db, orgId: string, requests: Request[], resolutions = RESOLUTIONS): Promise<void> {
  const counts = new Map<string, Required<TrafficCounts>>();
  const sketches = new Map<string, SketchDelta>();
  for (const r of requests) {
    const statusClass = r.status === null ? '' : `${Math.floor(r.status / 100)}xx`;
    for (const resolution of resolutions) {
      const bucket = Math.floor(r.t / resolution) * resolution;
      const key = [resolution, bucket, r.service ?? 'web', r.section, statusClass, r.method ?? 'GET'].join('|');
      const row = counts.get(key) ?? { resolution, bucket: new Date(bucket * 1000), service: r.service ?? 'web', section: r.section, statusClass, method: r.method ?? 'GET', hits: 0, bytes: 0, durationCount: 0, durationSumMs: 0 };
      row.hits++;
      row.bytes += r.bytes ?? 0;
      if (r.durationMs !== undefined) {
        row.durationCount++;
        row.durationSumMs += r.durationMs;
      }
      counts.set(key, row);
    }
    for (const resolution of SKETCH_RESOLUTIONS.filter((s) => resolutions.includes(s))) {
      const bucket = Math.floor(r.t / resolution) * resolution;
      const key = `${resolution}|${bucket}`;
      const sketch = sketches.get(key) ?? { orgId, resolution, bucket: bucket * 1000, hosts: emptyHosts(), latency: emptyLatency(), tooLate: 0 };
      if (r.host) addHost((sketch.hosts ??= emptyHosts()), r.host);
      if (r.durationMs !== undefined) addLatency((sketch.latency ??= emptyLatency()), r.durationMs);
      sketches.set(key, sketch);
    }
  }
  await addTrafficCounts(db, orgId, [...counts.values()]);
  // Sketches merge element-wise (max of registers, sum of counts) with what is stored, as the processor's commit does.
  await mergeSketches(db, [...sketches.values()]);
}

interface Stats {
  from: string;
  to: string;
  step: number;
  resolution: number;
  watermark: string | null;
  timestamps: number[];
  series: { key: string; other: boolean; hits: number[] }[];
  requests_per_second: number[];
  error_rate: (number | null)[];
  totals: {
    hits: number;
    requests_per_second: number;
    bytes: number;
    status: Record<string, number>;
    errors: number;
    error_rate: number | null;
    distinct_hosts: number | null;
    latency_ms: { mean: number | null; p50: number | null; p90: number | null; p99: number | null } | null;
    too_late: number | null;
  };
  top_sections: { section: string; hits: number; errors: number; bytes: number; share: number }[];
}

const HOUR = 3600;
const DAY = 86_400;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe.each(STORE_KINDS)('statistics API on %s', (kind) => {
  let server: TestServer;
  /** Start of the hour two hours ago: every case writes into its own hour-aligned window before it. */
  const base = Math.floor(Date.now() / 1000 / HOUR) * HOUR - 2 * HOUR;

  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind);
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  async function stats(query: string, key?: string): Promise<Stats> {
    const res = await server.api(`/api/v1/stats?${query}`, key ? { key } : {});
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Stats;
  }

  run('sums 1 s rows into 5 s and 15 s steps, reads 10 s rows for 10 s steps, and agrees on the totals', async () => {
    const start = base;
    // One minute: /api gets 2 requests each second, a 503 every 10th second; /web one request every 3 s.
    const requests: Request[] = [];
    for (let s = 0; s < 60; s++) {
      requests.push({ t: start + s, section: '/api', status: 200, bytes: 100, host: `10.1.0.${s % 7}` });
      requests.push({ t: start + s, section: '/api', status: s % 10 === 0 ? 503 : 200, bytes: 100, host: `10.1.0.${s % 7}` });
      if (s % 3 === 0) requests.push({ t: start + s, section: '/web', status: 200, bytes: 1000, host: '10.2.0.1' });
    }
    await writeRequests(server.ctx.db, server.org.id, requests);
    const range = `from=${start}&to=${start + 60}`;

    const five = await stats(`${range}&step=5`);
    expect(five).toMatchObject({ step: 5, resolution: 1, from: new Date(start * 1000).toISOString(), to: new Date((start + 60) * 1000).toISOString() });
    expect(five.timestamps).toEqual(Array.from({ length: 12 }, (_, i) => start + 5 * i));
    expect(five.series.find((s) => s.key === '/api')?.hits).toEqual(new Array(12).fill(10));
    // /web at seconds 0, 3, 6, ...: 2 of them in [0,5), then 2, 1, 2, 2, 1, ...
    expect(five.series.find((s) => s.key === '/web')?.hits).toEqual([2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2, 1]);

    const ten = await stats(`${range}&step=10s`);
    expect(ten).toMatchObject({ step: 10, resolution: 10 });
    expect(ten.series.find((s) => s.key === '/api')?.hits).toEqual(new Array(6).fill(20));
    expect(ten.requests_per_second).toEqual([2.4, 2.3, 2.3, 2.4, 2.3, 2.3]);
    // 1 error in each 10 s among the hits with a status.
    expect(ten.error_rate).toEqual([1 / 24, 1 / 23, 1 / 23, 1 / 24, 1 / 23, 1 / 23]);

    const fifteen = await stats(`${range}&step=15`);
    expect(fifteen).toMatchObject({ step: 15, resolution: 1 });
    expect(fifteen.series.find((s) => s.key === '/api')?.hits).toEqual([30, 30, 30, 30]);

    for (const answer of [five, ten, fifteen]) {
      expect(answer.totals).toMatchObject({ hits: 140, bytes: 140 * 100 + 20 * 900, errors: 6, status: { '2xx': 134, '5xx': 6, none: 0 } });
      expect(answer.totals.requests_per_second).toBeCloseTo(140 / 60);
      expect(answer.totals.error_rate).toBeCloseTo(6 / 140);
      expect(answer.top_sections).toEqual([
        { section: '/api', hits: 120, errors: 6, bytes: 12_000, share: 120 / 140 },
        { section: '/web', hits: 20, errors: 0, bytes: 20_000, share: 20 / 140 },
      ]);
    }
    // 7 API clients and one web client, counted once however many buckets they appear in.
    expect(ten.totals.distinct_hosts).toBe(8);
  });

  run('reads a 30-day range from hourly rows, zero-filled where nothing happened', async () => {
    const to = Math.floor(base / (2 * HOUR)) * 2 * HOUR - 2 * HOUR;
    const from = to - 30 * DAY;
    // Every 5th hour has one request per 100 s of it (36), on /batch, from a batch host.
    const requests: Request[] = [];
    for (let hour = from; hour < to; hour += 5 * HOUR) {
      for (let s = 0; s < HOUR; s += 100) requests.push({ t: hour + s, section: '/batch', service: 'batch', status: 200, bytes: 10, host: `batch-${(hour / HOUR) % 13}`, durationMs: 40 });
    }
    // Seconds and 10 s rows that old are pruned: only minutes and hours are left.
    await writeRequests(server.ctx.db, server.org.id, requests, [60, 3600]);

    const started = performance.now();
    const month = await stats(`from=${new Date(from * 1000).toISOString()}&to=${new Date(to * 1000).toISOString()}&service=batch`);
    const elapsed = performance.now() - started;
    expect(month).toMatchObject({ resolution: 3600, step: 7200 });
    expect(month.timestamps).toHaveLength(360);
    expect(month.totals.hits).toBe(requests.length);
    const batch = month.series.find((s) => s.key === '/batch')!;
    expect(sum(batch.hits)).toBe(requests.length);
    expect(batch.hits.filter((h) => h === 0).length).toBeGreaterThan(200);
    expect(month.totals.latency_ms?.mean).toBe(40);
    expect(elapsed).toBeLessThan(2000);

    const hourly = await stats(`from=${from}&to=${to}&step=1h&by=none`);
    expect(hourly).toMatchObject({ resolution: 3600, step: 3600 });
    expect(hourly.timestamps).toHaveLength(720);
    expect(hourly.series).toEqual([{ key: 'all', other: false, hits: expect.any(Array) }]);
    expect(hourly.series[0]!.hits.filter((h) => h === 36)).toHaveLength(144);
    // Unfiltered, the hourly sketches answer hosts and percentiles too.
    expect(hourly.totals.distinct_hosts).toBe(13);
    expect(hourly.totals.latency_ms?.p50).toBeGreaterThan(30);
    expect(hourly.totals.latency_ms?.p50).toBeLessThan(50);
  });

  run('keeps the top N groups and folds the rest into "other"; groups by status class, method and service', async () => {
    const start = base + 10 * 60;
    const requests: Request[] = [];
    // Section /s1 gets 1 hit, /s2 2 hits, ... /s12 12 hits, all within one minute.
    for (let n = 1; n <= 12; n++) {
      for (let i = 0; i < n; i++) requests.push({ t: start + i, section: `/s${n}`, status: i === 0 ? 404 : 200, method: n % 2 ? 'GET' : 'POST', service: n <= 6 ? 'low' : 'high' });
    }
    requests.push({ t: start + 30, section: '/s1', status: null });
    await writeRequests(server.ctx.db, server.org.id, requests);
    const range = `from=${start}&to=${start + 60}&step=60`;

    const top3 = await stats(`${range}&top=3`);
    expect(top3.series.map((s) => [s.key, s.other, s.hits])).toEqual([
      ['/s12', false, [12]],
      ['/s11', false, [11]],
      ['/s10', false, [10]],
      ['other', true, [45 + 1]],
    ]);
    expect(top3.top_sections.map((s) => s.section)).toEqual(['/s12', '/s11', '/s10']);
    expect(top3.top_sections[0]!.share).toBeCloseTo(12 / 79);

    const byStatus = await stats(`${range}&by=status_class`);
    expect(Object.fromEntries(byStatus.series.map((s) => [s.key, s.hits[0]]))).toEqual({ '2xx': 66, '4xx': 12, '': 1 });
    expect(byStatus.totals.status).toMatchObject({ '2xx': 66, '4xx': 12, none: 1 });
    expect(byStatus.totals.error_rate).toBe(0);

    const byMethod = await stats(`${range}&by=method`);
    expect(Object.fromEntries(byMethod.series.map((s) => [s.key, s.hits[0]]))).toEqual({ POST: 2 + 4 + 6 + 8 + 10 + 12, GET: 1 + 3 + 5 + 7 + 9 + 11 + 1 });
    const byService = await stats(`${range}&by=service&top=1`);
    expect(byService.series.map((s) => [s.key, s.hits[0]])).toEqual([
      ['high', 7 + 8 + 9 + 10 + 11 + 12],
      ['other', 1 + 2 + 3 + 4 + 5 + 6 + 1],
    ]);
  });

  run('filters by service and section; sketches (hosts, percentiles) are left unknown under a filter', async () => {
    const start = base + 20 * 60;
    const requests: Request[] = [];
    for (let s = 0; s < 30; s++) {
      requests.push({ t: start + s, section: '/api', service: 'shop', status: 200, host: 'a', durationMs: 10 });
      requests.push({ t: start + s, section: '/img', service: 'shop', status: 500, host: 'b', durationMs: 30 });
      requests.push({ t: start + s, section: '/api', service: 'blog', status: 200, host: 'c' });
    }
    await writeRequests(server.ctx.db, server.org.id, requests);
    const range = `from=${start}&to=${start + 30}&step=10`;

    const shop = await stats(`${range}&service=shop`);
    expect(shop.totals).toMatchObject({ hits: 60, errors: 30, error_rate: 0.5, distinct_hosts: null, too_late: null, latency_ms: { mean: 20, p50: null, p99: null } });
    expect(shop.error_rate).toEqual([0.5, 0.5, 0.5]);
    const shopApi = await stats(`${range}&service=shop&section=/api`);
    expect(shopApi.totals).toMatchObject({ hits: 30, errors: 0, error_rate: 0 });
    expect(shopApi.series).toEqual([{ key: '/api', other: false, hits: [10, 10, 10] }]);
    const api = await stats(`${range}&section=${encodeURIComponent('/api')}&by=service`);
    expect(Object.fromEntries(api.series.map((s) => [s.key, sum(s.hits)]))).toEqual({ shop: 30, blog: 30 });

    const all = await stats(range);
    expect(all.totals).toMatchObject({ hits: 90, errors: 30, distinct_hosts: 3 });
    expect(all.totals.error_rate).toBeCloseTo(1 / 3);
  });

  run('says which buckets are final (watermark), counts too-late events, and keeps organisations apart', async () => {
    const start = base + 30 * 60;
    await writeRequests(server.ctx.db, server.org.id, [{ t: start + 5, section: '/mine', status: 200 }]);
    await server.ctx.db
      .updateTable('traffic_sketches')
      .set({ too_late: 4 })
      .where('org_id', '=', server.org.id)
      .where('resolution', 'in', [10, 60])
      .where('bucket', '=', new Date(start * 1000))
      .execute();
    const before = await stats(`from=${start}&to=${start + 60}&step=10`);
    expect(before.totals.too_late).toBe(4);

    const watermark = new Date((start + 20) * 1000);
    await server.ctx.db.insertInto('stream_progress').values({ consumer: 'stats-test-a', org_id: server.org.id, watermark }).execute();
    await server.ctx.db.insertInto('stream_progress').values({ consumer: 'stats-test-b', org_id: server.org.id, watermark: new Date((start + 50) * 1000) }).execute();
    const after = await stats(`from=${start}&to=${start + 60}&step=10`);
    // Two processors: a bucket is final once both have passed it.
    expect(after.watermark).toBe(watermark.toISOString());

    const other = await createOrg(server.ctx.db, 'Other org (stats)');
    await writeRequests(server.ctx.db, other.id, [{ t: start + 5, section: '/theirs', status: 500 }]);
    const otherKey = await createApiKey(server.ctx.db, other.id, 'viewer', 'read-only');
    const mine = await stats(`from=${start}&to=${start + 60}&step=10`);
    expect(mine.top_sections.map((s) => s.section)).toEqual(['/mine']);
    const theirs = await stats(`from=${start}&to=${start + 60}&step=10`, otherKey.key);
    expect(theirs.top_sections.map((s) => s.section)).toEqual(['/theirs']);
    expect(theirs.watermark).toBeNull();
    // A read-only key is enough to read statistics.
    expect(theirs.totals.errors).toBe(1);
  });

  run('answers 400 naming the parameter for bad ranges, steps and dimensions, and 401 without a key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp][] = [
      [`from=${now}&to=${now - 60}`, 'from', /not before to/],
      [`from=${now - 401 * DAY}&to=${now}`, 'from', /400 days/],
      [`from=${now - DAY - 60}&to=${now - 60}&step=1`, 'step', /86,400 points.*at least 18 s/],
      [`from=${now - 600}&step=0`, 'step', /at least 1/],
      [`from=${now - 600}&step=soon`, 'step', /not a duration/],
      ['from=yesterday', 'from', /not an instant/],
      ['to=2026-03-01T12:00:00', 'to', /not an instant/],
      ['by=colour', 'querystring.by', /./],
      ['top=0', 'querystring.top', /./],
    ];
    for (const [query, field, message] of cases) {
      const res = await server.api(`/api/v1/stats?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; details: { field: string }[] } };
      expect(body.error.details[0]?.field, query).toBe(field);
      expect(body.error.message, query).toMatch(message);
    }
    expect((await server.api('/api/v1/stats', { key: null })).status).toBe(401);
  });

  run('documents the endpoint and its error rate in the OpenAPI description', async () => {
    const spec = (await (await server.api('/api/openapi.json')).json()) as { paths: Record<string, { get?: { description?: string } }> };
    expect(spec.paths['/api/v1/stats']?.get?.description).toMatch(/Error rate = 5xx hits \/ hits that carry an HTTP status/);
  });
});
