import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Db } from '../src/platform/store/index.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, TEST_DATABASE_URL, eventually, freshPostgresDatabase } from './support/server.js';

const NATS_URL = process.env.NATS_URL;

/**
 * One POST on a fresh connection, never retried: fetch (undici) may transparently resend a request
 * whose kept-alive connection died, which would make a crash look like a duplicate the server made.
 */
function postOnce(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, timeout: 10_000, headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json', connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

/**
 * Clients that keep posting batches of uniquely named request events and remember which batches
 * were acknowledged (2xx). Failures (refused connections while the server is down, resets when it
 * dies mid-request) are expected and simply not acknowledged.
 */
function continuousIngest(target: () => string, clients: number, batchSize: number, hostPerEvent = false) {
  const acknowledged = new Set<string>();
  let sent = 0;
  let running = true;
  const loop = async (client: number) => {
    for (let batch = 0; running; batch++) {
      const ids = Array.from({ length: batchSize }, (_, i) => `c${client}-b${batch}-e${i}`);
      const now = Date.now();
      const events = ids.map((id, i) => ({
        timestamp: new Date(now - (i % 7) * 300).toISOString(),
        message: id,
        // Full load: every event from a host never seen before and no source, so the watermark sources fold.
        ...(hostPerEvent ? { host: `h-${id}` } : { source: `client-${client}` }),
        method: i % 5 === 0 ? 'POST' : 'GET',
        path: `/section${i % 4}/item/${batch}`,
        status: i % 13 === 0 ? 500 : 200,
        bytes: 100 + i,
        duration_ms: 5 + (i % 20),
        remote_addr: `10.0.${client}.${i}`,
      }));
      sent += ids.length;
      try {
        if ((await postOnce(`${target()}/api/v1/logs`, JSON.stringify(events))) === 200) for (const id of ids) acknowledged.add(id);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  return {
    acknowledged,
    sent: () => sent,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function verify(db: Db, acknowledged: Set<string>): Promise<void> {
  const copies = await sql<{ message: string; n: string }>`SELECT message, count(*) AS n FROM log_events GROUP BY message`.execute(db);
  const stored = new Map(copies.rows.map((r) => [r.message, Number(r.n)]));
  const missing = [...acknowledged].filter((id) => !stored.has(id));
  const doubled = [...stored].filter(([, n]) => n > 1);
  expect(missing, 'acknowledged events missing after the crash').toEqual([]);
  expect(doubled, 'events stored twice').toEqual([]);
  // Under load the statistics are written about once a second, and 50 ms after the last batch
  // (processor.ts): a live processor's may lag the rows by that much, never for good.
  const statistics = async () => {
    const counted = await sql<{ r: number; hits: string }>`SELECT resolution AS r, sum(hits) AS hits FROM traffic_counts GROUP BY resolution`.execute(db);
    const recount = await sql<{ n: string }>`SELECT count(*) AS n FROM log_events WHERE NOT too_late`.execute(db);
    const expected = Number(recount.rows[0]!.n);
    return { counted: Object.fromEntries(counted.rows.map((r) => [r.r, Number(r.hits)])), recounted: { 1: expected, 10: expected, 60: expected, 3600: expected } };
  };
  let last = await statistics();
  for (const deadline = Date.now() + 5_000; JSON.stringify(last.counted) !== JSON.stringify(last.recounted) && Date.now() < deadline; last = await statistics()) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(last.counted).toEqual(last.recounted);
}

/**
 * Light: 4 clients × 50 events. Full load: 8 clients × 1,000 events (the ingest bench's shape, as
 * fast as Vigil takes them), each event from a new host, so batches are large and watermark
 * sources fold when the process is killed.
 */
const LIGHT = { load: 'light', clients: 4, batchSize: 50, hostPerEvent: false, ackedPerPhase: 2_000 };
const FULL = { load: 'full load', clients: 8, batchSize: 1000, hostPerEvent: true, ackedPerPhase: 40_000 };

const deployments = [
  { name: 'embedded (PGlite on disk, in-process bus)', available: true, jetstream: false, postgres: false, ...LIGHT },
  { name: 'PostgreSQL, in-process bus', available: Boolean(TEST_DATABASE_URL), jetstream: false, postgres: true, ...LIGHT },
  { name: 'PostgreSQL + NATS JetStream', available: Boolean(TEST_DATABASE_URL && NATS_URL), jetstream: true, postgres: true, ...LIGHT },
  { name: 'PostgreSQL, in-process bus', available: Boolean(TEST_DATABASE_URL), jetstream: false, postgres: true, ...FULL },
  { name: 'PostgreSQL + NATS JetStream', available: Boolean(TEST_DATABASE_URL && NATS_URL), jetstream: true, postgres: true, ...FULL },
];

describe.each(deployments)('kill -9 under continuous ingest ($load): $name', ({ available, jetstream, postgres, clients, batchSize, hostPerEvent, ackedPerPhase }) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(!available)('every acknowledged event is stored exactly once and the statistics equal a recount', async () => {
    const env: Record<string, string> = { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN };
    let openDb: () => Promise<{ db: Db; close: () => Promise<void> }>;
    if (postgres) {
      const pgdb = await freshPostgresDatabase();
      cleanups.push(pgdb.drop);
      env.DATABASE_URL = pgdb.url;
      if (jetstream) {
        const stream = `VIGILCRASH_${randomUUID().slice(0, 8)}`;
        Object.assign(env, { NATS_URL: NATS_URL!, VIGIL_NATS_STREAM: stream });
        cleanups.push(async () => {
          const nc = await connect({ servers: NATS_URL! });
          await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
          await nc.close();
        });
      }
      openDb = async () => {
        const store = await openStore({ untenanted: 'system', databaseUrl: pgdb.url, dataDir: 'memory://' });
        return { db: store.db, close: () => store.close() };
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-logs-crash-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      env.VIGIL_DATA_DIR = dir;
      openDb = async () => {
        const store = await openStore({ untenanted: 'system', dataDir: dir });
        return { db: store.db, close: () => store.close() };
      };
    }
    const port = await freePort();
    let proc: VigilProcess = await spawnVigil(env, port);
    cleanups.push(() => killHard(proc));

    const ingest = continuousIngest(() => proc.url, clients, batchSize, hostPerEvent);
    await eventually(async () => ingest.acknowledged.size >= ackedPerPhase, 30_000, 50);
    await killHard(proc);
    const ackedBeforeCrash = ingest.acknowledged.size;
    proc = await spawnVigil(env, port);
    await eventually(async () => ingest.acknowledged.size >= ackedBeforeCrash + ackedPerPhase, 30_000, 50);
    await ingest.stop();
    expect(ingest.sent()).toBeGreaterThan(ingest.acknowledged.size);

    if (jetstream) {
      // Acknowledged means stored in JetStream; the processor stores them shortly after.
      const { db, close } = await openDb();
      await eventually(async () => {
        const n = await sql<{ n: string }>`SELECT count(DISTINCT message) AS n FROM log_events WHERE message = ANY(${[...ingest.acknowledged]})`.execute(db);
        return Number(n.rows[0]!.n) === ingest.acknowledged.size;
      }, 30_000);
      // Let in-flight redeliveries settle before checking for doubles.
      await new Promise((r) => setTimeout(r, 1000));
      await verify(db, ingest.acknowledged);
      await close();
      await killHard(proc);
    } else if (postgres) {
      const { db, close } = await openDb();
      await verify(db, ingest.acknowledged);
      await close();
      await killHard(proc);
    } else {
      // The embedded store belongs to one process: stop Vigil gracefully, then read its files.
      const exited = new Promise((r) => proc.child.once('exit', r));
      proc.child.kill('SIGTERM');
      await exited;
      const { db, close } = await openDb();
      await verify(db, ingest.acknowledged);
      await close();
    }
  }, 120_000);
});
