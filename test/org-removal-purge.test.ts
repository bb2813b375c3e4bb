/**
 * Removing an organisation removes its log data too. The ingest tables (events, statistics,
 * processor progress, rejections) have no foreign key to orgs, and the archive is files: the
 * retention pass finds what a removed organisation left and deletes it, and nothing of the others.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import type { LogEvent } from '../src/domains/logs/event.js';
import { runRetention } from '../src/domains/logs/retention.js';
import { PartitionManager, insertEvents } from '../src/domains/logs/store.js';
import { statisticsPruner, statisticsPurger } from '../src/domains/stream/index.js';
import { STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

const DAY = 86_400_000;
const TABLES = ['log_events', 'log_rejections', 'traffic_counts', 'traffic_sketches', 'stream_progress', 'stream_sources'] as const;

function oldEvent(ts: number, i: number): LogEvent {
  return {
    timestamp: ts,
    receivedAt: ts,
    service: 'web',
    host: 'h1',
    source: 'nginx',
    level: 'info',
    message: `GET /old/${i} 200`,
    method: 'GET',
    path: `/old/${i}`,
    section: '/old',
    status: 200,
    bytes: 10,
    durationMs: 1,
    remoteAddr: '10.0.0.1',
    userAgent: 'curl/8.5',
    attributes: {},
  };
}

describe.each(STORE_KINDS)('removing an organisation on %s', (kind) => {
  const run = it.skipIf(!storeAvailable(kind));
  let server: TestServer | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  run('deletes its events, statistics, progress, rejections and archive at the next retention pass, and nothing of other organisations', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-purge-it-'));
    // The processor runs (statistics and progress are real); retention is run by the test.
    server = await startTestServer(kind, { VIGIL_HOT_DAYS: '30', VIGIL_ARCHIVE_DIR: dir, VIGIL_RETENTION_INTERVAL_MS: '3600000' });
    const db = server.ctx.db;
    const orgs = { gone: await createOrg(db, 'Gone Freight'), kept: await createOrg(db, 'Kept Cargo') };
    const keys = { gone: (await createApiKey(db, orgs.gone.id, 'agent', 'admin')).key, kept: (await createApiKey(db, orgs.kept.id, 'agent', 'admin')).key };

    const now = Date.now();
    for (const who of ['gone', 'kept'] as const) {
      const events = Array.from({ length: 50 }, (_, i) => ({ timestamp: new Date(now - 60_000 + i * 100).toISOString(), message: `GET /p/${i} 200`, service: 'web', host: `h${i % 3}`, status: 200, path: `/p/${i}` }));
      // One event two days ahead: refused, and recorded as a rejection.
      events.push({ timestamp: new Date(now + 2 * DAY).toISOString(), message: 'from the future', service: 'web', host: 'h0', status: 200, path: '/f' });
      const res = await server.api('/api/v1/logs', { method: 'POST', json: events, key: keys[who] });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ accepted: 50 });
      // Older than the hot window (stored directly; ingest refuses them): the retention pass archives them.
      await insertEvents(db, new PartitionManager(db), orgs[who].id, [oldEvent(now - 40 * DAY, 1), oldEvent(now - 40 * DAY + 1000, 2)]);
    }
    const rowsOf = async (orgId: string) => {
      const counts = {} as Record<(typeof TABLES)[number], number>;
      for (const table of TABLES) counts[table] = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE org_id = ${orgId}::uuid`.execute(db)).rows[0]!.n);
      return counts;
    };
    const hits = async (orgId: string) =>
      Number((await sql<{ n: string | null }>`SELECT sum(hits) AS n FROM traffic_counts WHERE org_id = ${orgId}::uuid AND resolution = 1`.execute(db)).rows[0]!.n ?? 0);
    await eventually(async () => (await hits(orgs.gone.id)) === 50 && (await hits(orgs.kept.id)) === 50, 20_000);

    const ctx = { ...server.ctx, pruneStatistics: statisticsPruner(server.ctx), statistics: statisticsPurger(server.ctx) };
    const pass = () => eventually(async () => {
      const r = await runRetention(ctx);
      return !r.skipped && r;
    });
    // First pass: both organisations exist; their old day is archived, nothing is purged.
    const first = await pass();
    expect(first.purged).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([`org=${orgs.gone.id}`, `org=${orgs.kept.id}`].sort());
    const before = { gone: await rowsOf(orgs.gone.id), kept: await rowsOf(orgs.kept.id) };
    for (const table of TABLES) expect(before.gone[table], table).toBeGreaterThan(0);

    expect((await server.api(`/api/v1/orgs/${orgs.gone.id}`, { method: 'DELETE' })).status).toBe(204);
    const second = await pass();
    expect(second.purged).toEqual([{ orgId: orgs.gone.id, events: 50, rejections: 1, statistics: expect.any(Number) as number, archive: true }]);
    expect(second.purged[0]!.statistics).toBe(before.gone.traffic_counts + before.gone.traffic_sketches + before.gone.stream_progress + before.gone.stream_sources);
    expect(await rowsOf(orgs.gone.id)).toEqual(Object.fromEntries(TABLES.map((t) => [t, 0])));
    expect(await readdir(dir)).toEqual([`org=${orgs.kept.id}`]);
    // The other organisation keeps everything, and a pass with nothing removed deletes nothing.
    expect(await rowsOf(orgs.kept.id)).toEqual(before.kept);
    expect((await pass()).purged).toEqual([]);
  }, 60_000);
});
