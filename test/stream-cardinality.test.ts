import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/platform/store/index.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, TEST_DATABASE_URL, eventually, freshPostgresDatabase } from './support/server.js';

/**
 * What senders put in `host` must not grow Vigil's state: a million events, each from a host never
 * seen before (pods that come and go, a client address in `host`), through a real `vigil start` on
 * PostgreSQL. The processor's memory and what it writes per batch stay flat from the first hundred
 * thousand events to the last; the watermark sources stay at the cap; every event is stored and
 * counted once.
 */
const EVENTS = 1_000_000;
const PER_REQUEST = 1000;
const SEGMENT = 200_000;
const MAX_SOURCES = 1000;

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** Rows written to the watermark-source table so far (inserted + updated + deleted). */
async function sourceWrites(store: Store): Promise<number> {
  await sql`SELECT pg_stat_force_next_flush()`.execute(store.db);
  const row = await sql<{ n: string }>`SELECT coalesce(n_tup_ins + n_tup_upd + n_tup_del, 0) AS n FROM pg_stat_user_tables WHERE relname = 'stream_sources'`.execute(store.db);
  return Number(row.rows[0]?.n ?? 0);
}

describe.skipIf(!TEST_DATABASE_URL)('a million distinct hosts', () => {
  let db: { url: string; drop: () => Promise<void> };
  let proc: VigilProcess;
  let store: Store;
  beforeAll(async () => {
    db = await freshPostgresDatabase();
    proc = await spawnVigil({ DATABASE_URL: db.url, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_STATS_MAX_SOURCES: String(MAX_SOURCES) }, await freePort());
    store = await openStore({ untenanted: 'system', databaseUrl: db.url, dataDir: 'memory://' });
  });
  afterAll(async () => {
    await store?.close();
    if (proc) await killHard(proc);
    await db?.drop();
  });

  it('keeps memory and per-batch writes flat, sources at the cap, and counts every event once', async () => {
    const pool = new Pool(proc.url, { connections: 8 });
    let next = 0;
    /** One request of events from hosts `10.a.b.c` never used before. */
    const body = (request: number): string => {
      const now = Date.now();
      const events = Array.from({ length: PER_REQUEST }, (_, i) => {
        const n = request * PER_REQUEST + i;
        return { timestamp: new Date(now - (i % 900)).toISOString(), host: `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`, method: 'GET', path: `/item/${n % 5000}`, status: 200, bytes: 100 };
      });
      return JSON.stringify(events);
    };
    const send = async (until: number): Promise<void> => {
      const client = async () => {
        for (let r = next++; r < until / PER_REQUEST; r = next++) {
          const res = await pool.request({ path: '/api/v1/logs', method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_TOKEN }, body: body(r) });
          const text = await res.body.text();
          expect(res.statusCode, text).toBe(200);
        }
      };
      await Promise.all(Array.from({ length: 8 }, client));
      next = Math.min(next, until / PER_REQUEST);
    };

    const segments: { rss: number; writes: number }[] = [];
    for (let sent = SEGMENT; sent <= EVENTS; sent += SEGMENT) {
      await send(sent);
      segments.push({ rss: await rssMb(proc.child.pid!), writes: await sourceWrites(store) });
    }
    await pool.close();

    const sources = await sql<{ n: string }>`SELECT count(*) AS n FROM stream_sources`.execute(store.db);
    expect(Number(sources.rows[0]!.n)).toBeLessThanOrEqual(MAX_SOURCES);

    // Writes per segment: the first fills the slots; later ones touch at most what a batch changed.
    const perSegment = segments.map((s, i) => s.writes - (i ? segments[i - 1]!.writes : 0));
    const later = perSegment.slice(1);
    expect(Math.max(...later), `source rows written per ${SEGMENT.toLocaleString('en')} events: ${perSegment.join(', ')}`).toBeLessThanOrEqual(Math.max(perSegment[0]!, 5 * MAX_SOURCES));
    // Memory after a million hosts is within a margin of memory after 400,000 (the first segments
    // also warm up the heaps of the server and its decode thread). Keeping every host, as before the
    // cap, grew it by well over 100 MB between those points.
    const rss = segments.map((s) => Math.round(s.rss));
    console.info(`a million distinct hosts: RSS (MB) per ${SEGMENT.toLocaleString('en')} events ${rss.join(', ')}; source rows written ${perSegment.join(', ')}`);
    expect(rss.at(-1)! - rss[1]!, `RSS (MB) after each ${SEGMENT.toLocaleString('en')} events: ${rss.join(', ')}`).toBeLessThan(64);

    await eventually(
      async () => {
        const stored = await sql<{ n: string }>`SELECT count(*) AS n FROM log_events`.execute(store.db);
        const counted = await sql<{ n: string | null }>`SELECT sum(hits) AS n FROM traffic_counts WHERE resolution = 1`.execute(store.db);
        return Number(stored.rows[0]!.n) === EVENTS && Number(counted.rows[0]!.n) === EVENTS;
      },
      15_000,
      100,
    );
  }, 180_000);
});
