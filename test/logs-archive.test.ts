import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { RETENTION_LOCK_KEY, runRetention } from '../src/domains/logs/retention.js';
import type { LogEvent } from '../src/domains/logs/event.js';
import { PartitionManager, insertEventGroups, insertEvents } from '../src/domains/logs/store.js';
import { statisticsPruner } from '../src/domains/stream/index.js';
import { STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const dayStart = (daysAgo: number) => Math.floor((Date.now() - daysAgo * DAY) / DAY) * DAY;
const dayName = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const tableOf = (ms: number) => `log_events_p${dayName(ms).replaceAll('-', '')}`;

interface Event {
  id: string | null;
  timestamp: string;
  message: string;
  service: string | null;
  status: number | null;
  section: string | null;
  too_late?: boolean;
  [key: string]: unknown;
}
interface Page {
  events: Event[];
  next_cursor: string | null;
}
interface ArchiveFile {
  day: string;
  part: number;
  from: string | null;
  to: string | null;
  rows: number;
  bytes: number;
  created: string;
}

function event(ts: number, i: number, over: Partial<LogEvent> = {}): LogEvent {
  const status = [200, 200, 404, 503][i % 4]!;
  const section = ['/api', '/report', '/static'][i % 3]!;
  return {
    timestamp: ts,
    receivedAt: ts + 250,
    service: i % 2 === 0 ? 'web' : 'worker',
    host: `host-${i % 5}`,
    source: 'nginx',
    level: status >= 500 ? 'error' : 'info',
    message: i % 10 === 0 ? `Upstream timeout talking to Zürich #${i}` : `GET ${section}/item${i} ${status}`,
    method: 'GET',
    path: `${section}/item${i}`,
    section,
    status,
    bytes: 100 + i,
    durationMs: i / 4,
    remoteAddr: `10.0.${i % 256}.1`,
    userAgent: 'curl/8.5',
    attributes: i % 7 === 0 ? { 'url.query': `a=${i}`, nested: { n: i } } : {},
    ...over,
  };
}

describe.each(STORE_KINDS)('log retention and the archive on %s', (kind) => {
  let server: TestServer;
  let archiveDir: string;
  let partitions: PartitionManager;
  let otherKey: string;
  let readOnlyKey: string;
  const run = it.skipIf(!storeAvailable(kind));

  const D1 = dayStart(40);
  const D2 = dayStart(41);
  const today = dayStart(0);

  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    archiveDir = await mkdtemp(join(tmpdir(), 'vigil-archive-it-'));
    // Workers off: the test runs retention itself, at the moments it chooses.
    server = await startTestServer(kind, { VIGIL_HOT_DAYS: '30', VIGIL_ARCHIVE_DIR: archiveDir }, { workers: false });
    partitions = new PartitionManager(server.ctx.db);
    const other = await createOrg(server.ctx.db, 'Other org (archive)');
    otherKey = (await createApiKey(server.ctx.db, other.id, 'other', 'admin')).key;
    readOnlyKey = (await createApiKey(server.ctx.db, server.org.id, 'reader', 'read-only')).key;

    // Ingest refuses events older than the hot window: they go straight into old partitions.
    // 600 events share one timestamp so that pages of the export split a run of equal times.
    const d1 = Array.from({ length: 1_200 }, (_, i) => event(i < 600 ? D1 + 12 * HOUR : D1 + ((i * 7_919_000) % DAY), i));
    await insertEvents(server.ctx.db, partitions, server.org.id, d1.slice(0, 700));
    await insertEventGroups(server.ctx.db, [{ orgId: server.org.id, events: d1.slice(700), tooLate: d1.slice(700).map((_, i) => i % 50 === 0) }]);
    await insertEvents(server.ctx.db, partitions, server.org.id, Array.from({ length: 30 }, (_, i) => event(D2 + i * HOUR / 2, i)));
    await insertEvents(server.ctx.db, partitions, other.id, Array.from({ length: 20 }, (_, i) => event(D1 + i * HOUR, i, { service: 'web', message: `Upstream timeout (other org) #${i}` })));
    await insertEvents(server.ctx.db, partitions, server.org.id, [event(Date.now() - 60_000, 1, { message: 'still hot' })]);
  });
  afterAll(async () => {
    await server?.dispose();
    if (archiveDir) await rm(archiveDir, { recursive: true, force: true });
  });

  const getJson = async <T>(path: string, key?: string): Promise<T> => {
    const res = await server.api(path, key === undefined ? {} : { key });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  async function allPages(base: string, query: string, key?: string): Promise<Event[]> {
    const out: Event[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await getJson<Page>(`${base}?${query}&limit=97${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key);
      out.push(...page.events);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return out;
  }
  const tables = async (): Promise<string[]> =>
    (await sql<{ relname: string }>`SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE 'log\\_events\\_p%' ORDER BY relname`.execute(server.ctx.db)).rows.map((r) => r.relname);
  const archiveSearch = (query: string, key?: string) => allPages('/api/v1/archive/logs', query, key);

  const QUERIES = ['', 'q=TIMEOUT', 'service=web&status=503', 'section=/report', `from=${new Date(D1 + 6 * HOUR).toISOString()}&to=${new Date(D1 + 18 * HOUR).toISOString()}`];
  const hotAnswers = new Map<string, Event[]>();

  run('exports expired day partitions to Parquet, checks them and drops them from the hot store', async () => {
    const range = `from=${new Date(D2).toISOString()}&to=${new Date(D1 + DAY).toISOString()}`;
    for (const q of QUERIES) hotAnswers.set(q, await allPages('/api/v1/logs', q.startsWith('from=') ? q : `${range}&${q}`));
    expect(hotAnswers.get('')).toHaveLength(1_230);
    expect(await tables()).toEqual(expect.arrayContaining([tableOf(D2), tableOf(D1), tableOf(today)]));

    const result = await runRetention(server.ctx, { pageSize: 250 });
    expect(result.failed).toEqual([]);
    expect(result.archived.map((p) => [p.day, p.rows])).toEqual([
      [dayName(D2), 30],
      [dayName(D1), 1_220],
    ]);
    const after = await tables();
    expect(after).not.toContain(tableOf(D1));
    expect(after).not.toContain(tableOf(D2));
    expect(after).toContain(tableOf(today));
    expect((await getJson<Page>('/api/v1/logs?limit=10')).events.map((e) => e.message)).toEqual(['still hot']);

    // One file per organisation and day, in Hive-style folders, readable by a standard Parquet reader.
    const file = join(archiveDir, `org=${server.org.id}`, `day=${dayName(D1)}`, 'part-00000.parquet');
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), columns: ['org_id', 'ts', 'id', 'too_late', 'message', 'status'] });
    expect(rows).toHaveLength(1_200);
    expect(new Set(rows.map((r) => r.org_id))).toEqual(new Set([server.org.id]));
    expect(new Set(rows.map((r) => String(r.id))).size).toBe(1_200);
    expect(rows.filter((r) => r.too_late === true)).toHaveLength(10);
    const times = rows.map((r) => (r.ts as Date).getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b)); // written in time order
    expect(await readdir(join(archiveDir, `org=${server.org.id}`, `day=${dayName(D1)}`))).toEqual(['part-00000.parquet']);
  });

  run('lists the caller organisation\'s archived files, to read-only keys too', async () => {
    const { files } = await getJson<{ files: ArchiveFile[] }>('/api/v1/archive', readOnlyKey);
    expect(files.map((f) => [f.day, f.part, f.rows])).toEqual([
      [dayName(D2), 0, 30],
      [dayName(D1), 0, 1_200],
    ]);
    const d1 = files[1]!;
    expect(Date.parse(d1.from!)).toBeGreaterThanOrEqual(D1);
    expect(Date.parse(d1.to!)).toBeLessThan(D1 + DAY);
    expect(d1.bytes).toBe((await stat(join(archiveDir, `org=${server.org.id}`, `day=${d1.day}`, 'part-00000.parquet'))).size);
    expect(Math.abs(Date.parse(d1.created) - Date.now())).toBeLessThan(10 * 60_000);
    expect((await getJson<{ files: ArchiveFile[] }>(`/api/v1/archive?from=${dayName(D1)}&to=${dayName(D1)}`)).files).toHaveLength(1);
    expect((await getJson<{ files: ArchiveFile[] }>('/api/v1/archive', otherKey)).files.map((f) => [f.day, f.rows])).toEqual([[dayName(D1), 20]]);
    expect((await server.api('/api/v1/archive', { key: null })).status).toBe(401);
    expect((await server.api(`/api/v1/archive?from=${dayName(D1)}&to=${dayName(D2)}`)).status).toBe(400);
  });

  run('searches the archive with the filters, order, pages and answer of the hot search', async () => {
    for (const q of QUERIES) {
      const cold = await archiveSearch(q);
      expect(cold, `archive search "${q}"`).toEqual(hotAnswers.get(q));
    }
    const timeouts = await archiveSearch('q=timeout');
    expect(timeouts.length).toBeGreaterThan(0);
    expect(timeouts.every((e) => /timeout/i.test(e.message))).toBe(true);
    const errors = await archiveSearch('status=5xx&service=worker');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.status === 503 && e.service === 'worker')).toBe(true);
    expect((await archiveSearch('')).filter((e) => e.too_late)).toHaveLength(10);
    expect((await server.api('/api/v1/archive/logs?cursor=not-a-cursor')).status).toBe(400);
  });

  run('never shows one organisation the events of another', async () => {
    const mine = await archiveSearch('q=timeout');
    const theirs = await archiveSearch('q=timeout', otherKey);
    expect(theirs.map((e) => e.message).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `Upstream timeout (other org) #${i}`).sort());
    expect(mine.some((e) => e.message.includes('other org'))).toBe(false);
  });

  run('changes nothing when run again', async () => {
    const before = (await readdir(archiveDir, { recursive: true })).sort();
    const mtimes = await Promise.all(before.filter((p) => p.endsWith('.parquet')).map(async (p) => (await stat(join(archiveDir, p))).mtimeMs));
    const again = await runRetention(server.ctx);
    expect(again).toEqual({ skipped: false, archived: [], failed: [], pruned: [], purged: [] });
    const afterFiles = (await readdir(archiveDir, { recursive: true })).sort();
    expect(afterFiles).toEqual(before);
    expect(await Promise.all(afterFiles.filter((p) => p.endsWith('.parquet')).map(async (p) => (await stat(join(archiveDir, p))).mtimeMs))).toEqual(mtimes);
    expect(await archiveSearch('')).toHaveLength(1_230);
  });

  run('survives a crash between export and drop: the next run rewrites the same file, nothing is duplicated', async () => {
    const D3 = dayStart(42);
    await insertEvents(server.ctx.db, partitions, server.org.id, Array.from({ length: 40 }, (_, i) => event(D3 + i * 60_000, i, { service: 'crash' })));
    const crashed = await runRetention(server.ctx, {
      beforeDetach: async () => {
        throw new Error('simulated crash');
      },
    });
    expect(crashed.failed).toEqual([{ table: tableOf(D3), error: 'simulated crash' }]);
    expect(await tables()).toContain(tableOf(D3));
    expect(await readdir(join(archiveDir, `org=${server.org.id}`, `day=${dayName(D3)}`))).toEqual(['part-00000.parquet']);

    const resumed = await runRetention(server.ctx);
    expect(resumed.archived.map((p) => [p.day, p.rows])).toEqual([[dayName(D3), 40]]);
    expect(await tables()).not.toContain(tableOf(D3));
    expect(await readdir(join(archiveDir, `org=${server.org.id}`, `day=${dayName(D3)}`))).toEqual(['part-00000.parquet']);
    const found = await archiveSearch('service=crash');
    expect(found).toHaveLength(40);
    expect(new Set(found.map((e) => e.id)).size).toBe(40);
  });

  run('archives rows written into a partition while it was being exported', async () => {
    const D4 = dayStart(43);
    await insertEvents(server.ctx.db, partitions, server.org.id, Array.from({ length: 10 }, (_, i) => event(D4 + i * HOUR, i, { service: 'straggler' })));
    const result = await runRetention(server.ctx, {
      beforeDetach: async () => {
        await insertEvents(server.ctx.db, partitions, server.org.id, [event(D4 + 30 * 60_000, 99, { service: 'straggler', message: 'written during the export' })]);
      },
    });
    expect(result.archived.map((p) => [p.day, p.rows])).toEqual([[dayName(D4), 11]]);
    expect((await archiveSearch('service=straggler')).map((e) => e.message)).toContain('written during the export');
    expect(await archiveSearch('service=straggler')).toHaveLength(11);
  });

  run('finishes a partition that a crashed run detached but did not drop', async () => {
    const D5 = dayStart(44);
    await insertEvents(server.ctx.db, partitions, server.org.id, Array.from({ length: 5 }, (_, i) => event(D5 + i * HOUR, i, { service: 'detached' })));
    // As the owner (the application's role changes no schema), as retention itself does.
    await sql`SELECT vigil_detach_log_partition(${dayName(D5)}::date)`.execute(server.ctx.db);
    const result = await runRetention(server.ctx);
    expect(result.archived.map((p) => [p.day, p.rows])).toEqual([[dayName(D5), 5]]);
    expect(await tables()).not.toContain(tableOf(D5));
    expect(await archiveSearch('service=detached')).toHaveLength(5);
  });

  run('keeps both files when a day is written again after it was archived', async () => {
    // A process with a slow clock can still accept an event for a day that was archived: the day's
    // partition comes back, and the next run archives it as a second part.
    await insertEvents(server.ctx.db, new PartitionManager(server.ctx.db), server.org.id, [event(D1 + HOUR, 3, { service: 'late-writer', message: 'after the archive' })]);
    const result = await runRetention(server.ctx);
    expect(result.archived.map((p) => [p.day, p.rows])).toEqual([[dayName(D1), 1]]);
    expect((await readdir(join(archiveDir, `org=${server.org.id}`, `day=${dayName(D1)}`))).sort()).toEqual(['part-00000.parquet', 'part-00001.parquet']);
    const all = await archiveSearch(`from=${new Date(D1).toISOString()}&to=${new Date(D1 + DAY).toISOString()}`);
    expect(all).toHaveLength(1_201);
    expect(new Set(all.map((e) => e.id)).size).toBe(1_201);
  });

  run('runs once at a time: a second run while one is going is skipped', async () => {
    const D6 = dayStart(45);
    await insertEvents(server.ctx.db, partitions, server.org.id, Array.from({ length: 3_000 }, (_, i) => event(D6 + i * 1000, i, { service: 'concurrent' })));
    const [a, b] = await Promise.all([runRetention(server.ctx), runRetention(server.ctx)]);
    expect([a.skipped, b.skipped].sort()).toEqual([false, true]);
    expect([...a.archived, ...b.archived].map((p) => p.rows)).toEqual([3_000]);
    expect(await archiveSearch('service=concurrent')).toHaveLength(3_000);
  });

  it.skipIf(kind !== 'postgres' || !storeAvailable(kind))('leaves partitions to the instance holding the advisory lock', async () => {
    const D7 = dayStart(46);
    await insertEvents(server.ctx.db, partitions, server.org.id, [event(D7 + HOUR, 1, { service: 'locked' })]);
    const other = new pg.Client({ connectionString: server.config.DATABASE_URL });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1::bigint)', [RETENTION_LOCK_KEY]);
      expect(await runRetention(server.ctx)).toMatchObject({ skipped: true, archived: [] });
      expect(await tables()).toContain(tableOf(D7));
      await other.query('SELECT pg_advisory_unlock($1::bigint)', [RETENTION_LOCK_KEY]);
      expect((await runRetention(server.ctx)).archived.map((p) => p.day)).toEqual([dayName(D7)]);
    } finally {
      await other.end();
    }
  });

  run('prunes 1 s statistics after 2 days, 10 s after 14, 1 min after 90, and keeps hourly ones', async () => {
    const now = Date.now();
    const ages = [
      [1, 3],
      [1, 1],
      [10, 15],
      [10, 13],
      [60, 91],
      [60, 89],
      [3600, 400],
    ] as const;
    const bucketOf = (resolution: number, daysAgo: number) => new Date(Math.floor((now - daysAgo * DAY) / (resolution * 1000)) * resolution * 1000);
    for (const [resolution, daysAgo] of ages) {
      const bucket = bucketOf(resolution, daysAgo);
      await server.ctx.db
        .insertInto('traffic_counts')
        .values({ org_id: server.org.id, resolution, bucket, service: 'web', section: '/api', status_class: '2xx', method: 'GET', hits: 1, bytes: 10, duration_count: 1, duration_sum_ms: 2 })
        .execute();
      await server.ctx.db.insertInto('traffic_sketches').values({ org_id: server.org.id, resolution, bucket, hosts: new Uint8Array(16), latency: [1, 0, 2] }).execute();
    }
    const result = await runRetention({ ...server.ctx, pruneStatistics: statisticsPruner(server.ctx) }, { now });
    expect(result.pruned).toEqual(
      expect.arrayContaining([
        { table: 'traffic_counts', resolution: 1, rows: 1 },
        { table: 'traffic_counts', resolution: 10, rows: 1 },
        { table: 'traffic_counts', resolution: 60, rows: 1 },
        { table: 'traffic_sketches', resolution: 1, rows: 1 },
        { table: 'traffic_sketches', resolution: 10, rows: 1 },
        { table: 'traffic_sketches', resolution: 60, rows: 1 },
      ]),
    );
    const left = async (table: 'traffic_counts' | 'traffic_sketches') =>
      (await server.ctx.db.selectFrom(table).select(['resolution', 'bucket']).where('org_id', '=', server.org.id).orderBy('resolution').execute()).map((r) => [r.resolution, r.bucket.getTime()]);
    const kept = [
      [1, bucketOf(1, 1).getTime()],
      [10, bucketOf(10, 13).getTime()],
      [60, bucketOf(60, 89).getTime()],
      [3600, bucketOf(3600, 400).getTime()],
    ];
    expect(await left('traffic_counts')).toEqual(kept);
    expect(await left('traffic_sketches')).toEqual(kept);
  });

  run('archives on its own schedule when the worker runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-archive-worker-'));
    const second = await startTestServer(kind, { VIGIL_HOT_DAYS: '30', VIGIL_ARCHIVE_DIR: dir, VIGIL_RETENTION_INTERVAL_MS: '1000' });
    try {
      const old = dayStart(50);
      await insertEvents(second.ctx.db, new PartitionManager(second.ctx.db), second.org.id, [event(old + HOUR, 1, { message: 'archived by the worker' })]);
      await eventually(async () => (await second.api('/api/v1/archive').then((r) => r.json() as Promise<{ files: ArchiveFile[] }>)).files.length === 1, 20_000, 250);
      const found = (await (await second.api('/api/v1/archive/logs?q=worker')).json()) as Page;
      expect(found.events.map((e) => e.message)).toEqual(['archived by the worker']);
    } finally {
      await second.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
