/**
 * Vigil under a restart of its database or of NATS: the process stays up, clients are told to come
 * back (503 + Retry-After) while the dependency is away, service resumes within seconds of its
 * return, and everything acknowledged is stored exactly once. Vigil runs as a separate process so
 * that a crash (an unhandled 'error' event of a pg client, say) fails the test instead of the runner.
 */
import { createServer, type Server } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { LiveHub } from '../src/platform/live.js';
import { startLiveBridge } from '../src/platform/live-bridge.js';
import { openStore, type Db } from '../src/platform/store/index.js';
import { adminPoster, postOnce } from './support/post-once.js';
import { freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, eventually } from './support/server.js';
import {
  startThrowawayNats,
  startThrowawayPostgres,
  throwawayNatsUnavailable,
  throwawayPostgresUnavailable,
  type ThrowawayNats,
  type ThrowawayPostgres,
} from './support/throwaway.js';

const pgMissing = await throwawayPostgresUnavailable();
const natsMissing = throwawayNatsUnavailable();

/** What one request got back; `at` is when it was sent. */
interface Outcome {
  kind: 'ingest' | 'ping';
  at: number;
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/**
 * Clients that keep posting uniquely named log events and uniquely labelled pings, remembering what
 * was acknowledged (2xx) and every answer. A failed request is not retried with the same content:
 * anything stored twice can only be Vigil's doing.
 */
const EVENTS_PER_REQUEST = 1000;

function continuousTraffic(url: string, checkId: string) {
  const ackedEvents = new Set<string>();
  const ackedPings = new Set<string>();
  const outcomes: Outcome[] = [];
  const transportErrors: string[] = [];
  let running = true;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ingest = async (client: number) => {
    for (let batch = 0; running; batch++) {
      // Full load: requests of 1,000 events as fast as they are answered, each from a new host.
      const ids = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => `c${client}-b${batch}-e${i}`);
      const now = Date.now();
      const events = ids.map((id, i) => ({
        timestamp: new Date(now - (i % 5) * 100).toISOString(),
        message: id,
        host: `h-${id}`,
        method: 'GET',
        path: `/section${i % 3}/item`,
        status: i % 11 === 0 ? 500 : 200,
        duration_ms: 3 + i,
      }));
      const at = Date.now();
      try {
        const answer = await postOnce(`${url}/api/v1/logs`, JSON.stringify(events), { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' });
        outcomes.push({ kind: 'ingest', at, ...answer });
        if (answer.status === 200) for (const id of ids) ackedEvents.add(id);
        else await pause(100);
      } catch (error) {
        transportErrors.push(`ingest: ${(error as Error).message}`);
        await pause(100);
      }
    }
  };
  const pings = async (client: number) => {
    for (let n = 0; running; n++) {
      const label = `p${client}-${n}`;
      const at = Date.now();
      try {
        const answer = await postOnce(`${url}/ping/${checkId}`, label, { 'content-type': 'text/plain' });
        outcomes.push({ kind: 'ping', at, ...answer });
        if (answer.status === 200) ackedPings.add(label);
        else await pause(100);
      } catch (error) {
        transportErrors.push(`ping: ${(error as Error).message}`);
        await pause(100);
      }
      await pause(20);
    }
  };
  const done = Promise.all([ingest(0), ingest(1), ingest(2), ingest(3), pings(0), pings(1)]);
  return {
    ackedEvents,
    ackedPings,
    outcomes,
    transportErrors,
    /** Waits for an acknowledged answer of each kind to a request sent at or after `since`. */
    servedSince(since: number): boolean {
      const ok = (kind: Outcome['kind']) => outcomes.some((o) => o.kind === kind && o.at >= since && o.status === 200);
      return ok('ingest') && ok('ping');
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

/** A loopback webhook receiver: the alert that reaches it shows the sweeper and notifier resumed. */
async function receiver(): Promise<{ server: Server; url: string; kinds: string[] }> {
  const kinds: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { type: string; alert?: { kind: string } };
      kinds.push(`${parsed.type}:${parsed.alert?.kind ?? ''}`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`, kinds };
}

async function verifyStoredOnce(db: Db, ackedEvents: Set<string>, ackedPings: Set<string>, checkId: string): Promise<void> {
  // Events: JetStream acknowledges on storing in the stream, so the processor may still be catching up.
  let storedCount = 0;
  await eventually(async () => {
    const n = await sql<{ n: string }>`SELECT count(DISTINCT message) AS n FROM log_events WHERE message = ANY(${[...ackedEvents]})`.execute(db);
    storedCount = Number(n.rows[0]!.n);
    return storedCount === ackedEvents.size;
  }, 30_000).catch((error: unknown) => {
    throw new Error(`${storedCount} of ${ackedEvents.size} acknowledged events stored: ${(error as Error).message}`);
  });
  await new Promise((r) => setTimeout(r, 1000)); // a redelivery in flight would show up now
  const events = await sql<{ message: string; n: string }>`SELECT message, count(*) AS n FROM log_events GROUP BY message`.execute(db);
  const stored = new Map(events.rows.map((r) => [r.message, Number(r.n)]));
  expect([...ackedEvents].filter((id) => !stored.has(id)), 'acknowledged events missing').toEqual([]);
  expect([...stored].filter(([, n]) => n > 1), 'events stored twice').toEqual([]);
  const counted = await sql<{ r: number; hits: string }>`SELECT resolution AS r, sum(hits) AS hits FROM traffic_counts GROUP BY resolution`.execute(db);
  const recount = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM log_events WHERE NOT too_late`.execute(db)).rows[0]!.n);
  expect(Object.fromEntries(counted.rows.map((r) => [r.r, Number(r.hits)])), 'statistics equal a recount of stored events').toEqual({ 1: recount, 10: recount, 60: recount, 3600: recount });

  const pings = await sql<{ body: string; n: string }>`SELECT body, count(*) AS n FROM pings WHERE check_id = ${checkId} GROUP BY body`.execute(db);
  const pingCopies = new Map(pings.rows.map((r) => [r.body, Number(r.n)]));
  expect([...ackedPings].filter((label) => !pingCopies.has(label)), 'acknowledged pings missing').toEqual([]);
  expect([...pingCopies].filter(([, n]) => n > 1), 'pings stored twice').toEqual([]);
}

const scenarios = [
  { name: 'PostgreSQL restart, in-process bus', restart: 'postgres', jetstream: false, missing: pgMissing },
  { name: 'PostgreSQL restart, NATS JetStream bus', restart: 'postgres', jetstream: true, missing: pgMissing ?? natsMissing },
  { name: 'NATS restart, JetStream bus', restart: 'nats', jetstream: true, missing: pgMissing ?? natsMissing },
] as const;

const RESTARTS = 2;

describe.each(scenarios)('$name under continuous ingest and pings', ({ restart, jetstream, missing }) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(missing !== undefined)(
    `Vigil stays up, answers 503 + Retry-After meanwhile, resumes within 5 s and stores every acknowledged event and ping once${missing ? ` (skipped: ${missing})` : ''}`,
    async () => {
      const pg: ThrowawayPostgres = await startThrowawayPostgres();
      cleanups.push(() => pg.destroy());
      let nats: ThrowawayNats | undefined;
      if (jetstream) {
        nats = await startThrowawayNats();
        cleanups.push(() => nats!.destroy());
      }
      const hook = await receiver();
      cleanups.push(() => new Promise<void>((r) => hook.server.close(() => r())));
      const env: Record<string, string> = {
        DATABASE_URL: pg.url,
        VIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
        VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true',
        VIGIL_SWEEP_INTERVAL_MS: '200',
        VIGIL_NOTIFY_INTERVAL_MS: '200',
        // The retention job runs (and fails) during the outage too; it must come back by itself.
        VIGIL_RETENTION_INTERVAL_MS: '2000',
        ...(nats ? { NATS_URL: nats.url } : {}),
      };
      const proc: VigilProcess = await spawnVigil(env, await freePort());
      cleanups.push(() => killHard(proc));
      const api = adminPoster(proc.url, ADMIN_TOKEN);
      await api('/api/v1/channels', { kind: 'webhook', url: hook.url });
      const check = await api('/api/v1/checks', { name: 'busy job', timeout: 3600, grace: 3600 });

      const traffic = continuousTraffic(proc.url, check.id);
      const alive = () => proc.child.exitCode === null && proc.child.signalCode === null;
      const resumedAfter: number[] = [];
      try {
        await eventually(async () => traffic.servedSince(0) && traffic.ackedEvents.size >= 10_000, 30_000, 50);
        for (let i = 0; i < RESTARTS; i++) {
          const down = Date.now();
          if (restart === 'postgres') await pg.stop();
          else await nats!.stop();
          // Clients are told to come back while the dependency is away (not left hanging, not 500).
          await eventually(async () => !alive() || traffic.outcomes.some((o) => o.at >= down && o.status === 503), 15_000, 50);
          await new Promise((r) => setTimeout(r, 1000));
          expect(alive(), `Vigil exited while ${restart} was down:\n${proc.output()}`).toBe(true);
          if (restart === 'postgres') await pg.start();
          else await nats!.start();
          const up = Date.now();
          await eventually(async () => traffic.servedSince(up), 20_000, 25);
          resumedAfter.push(Date.now() - up);
          // Keep traffic flowing for a while before the next restart.
          const acked = traffic.ackedEvents.size;
          await eventually(async () => traffic.ackedEvents.size >= acked + 10_000, 20_000, 50);
        }
      } finally {
        await traffic.stop();
      }
      expect(alive(), `Vigil exited:\n${proc.output()}`).toBe(true);
      expect(proc.output()).not.toMatch(/Unhandled 'error' event|uncaught exception|unhandled rejection/i);
      // Every answer is a success or a 503 telling the client when to retry; no 500s, no dropped connections.
      const unexpected = traffic.outcomes.filter((o) => o.status !== 200 && !(o.status === 503 && /^\d+$/.test(o.retryAfter ?? '')));
      expect(unexpected.map((o) => `${o.kind} ${o.status} retry-after=${o.retryAfter}: ${o.body.slice(0, 200)}`)).toEqual([]);
      expect(traffic.transportErrors).toEqual([]);
      const pings503 = traffic.outcomes.filter((o) => o.kind === 'ping' && o.status === 503);
      if (restart === 'postgres') {
        expect(pings503.length, 'pings answered 503 while the database was down').toBeGreaterThan(0);
        // Healthchecks clients read ping answers as plain text.
        expect(pings503[0]!.body).not.toMatch(/^\{/);
      }
      expect(traffic.outcomes.some((o) => o.kind === 'ingest' && o.status === 503), 'ingest answered 503 meanwhile').toBe(true);
      for (const ms of resumedAfter) expect(ms, `service resumed ${resumedAfter.join(', ')} ms after ${restart} returned`).toBeLessThan(5000);
      // Logged once per outage, not once per failed request (hundreds were refused).
      const logLines = proc.output().split('\n').filter((l) => l.trim().startsWith('{'));
      expect(logLines.length, `log lines:\n${logLines.join('\n')}`).toBeLessThan(15 * RESTARTS);

      // The background workers came back by themselves: a missed deadline after the restarts is
      // found by the sweeper and delivered by the notifier.
      const late = await api('/api/v1/checks', { name: 'after the outage', timeout: 1, grace: 1 });
      const ping = await fetch(`${proc.url}/ping/${late.id}`, { method: 'POST' });
      expect(ping.status).toBe(200);
      await eventually(async () => hook.kinds.some((k) => k.startsWith('alert.firing')), 20_000);

      const store = await openStore({ untenanted: 'system', databaseUrl: pg.url, dataDir: 'memory://' });
      try {
        await verifyStoredOnce(store.db, traffic.ackedEvents, traffic.ackedPings, check.id);
      } catch (error) {
        // What the stream and its consumer say helps tell a lost message from a stuck consumer.
        let consumer = '';
        if (nats) {
          const nc = await connect({ servers: nats.url });
          const jsm = await jetstreamManager(nc);
          const info = await jsm.consumers.info('VIGIL', 'logs__traffic');
          consumer = JSON.stringify({ pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered, delivered: info.delivered, ackFloor: info.ack_floor, waiting: info.num_waiting });
          const stream = await jsm.streams.info('VIGIL');
          consumer += JSON.stringify(stream.state);
          await nc.close();
        }
        const { rows } = await sql<{ message: string }>`SELECT message FROM log_events`.execute(store.db);
        const have = new Set(rows.map((r) => r.message));
        const missing = [...traffic.ackedEvents].filter((m) => !have.has(m));
        throw new Error(`${(error as Error).message}\nmissing: ${missing.slice(0, 30).join(' ')}\nconsumer: ${consumer}\nVigil's output:\n${proc.output()}`, { cause: error });
      } finally {
        await store.close();
      }
      expect(alive(), `Vigil exited:\n${proc.output()}`).toBe(true);
    },
    240_000,
  );
});

describe('live updates between instances (LISTEN/NOTIFY) across a PostgreSQL restart', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it.skipIf(pgMissing !== undefined)(`the listener reconnects by itself and announcements flow again within 5 s${pgMissing ? ` (skipped: ${pgMissing})` : ''}`, async () => {
    const pg = await startThrowawayPostgres();
    cleanups.push(() => pg.destroy());
    const logger = pino({ level: 'silent' });
    const [a, b] = [new LiveHub(), new LiveHub()];
    const bridgeA = await startLiveBridge(a, pg.url, logger);
    cleanups.push(() => bridgeA.stop());
    const bridgeB = await startLiveBridge(b, pg.url, logger);
    cleanups.push(() => bridgeB.stop());
    const received: string[] = [];
    b.onRemoteChange('check', async (_orgId, id) => void received.push(id));
    b.subscribe('org-1', () => undefined);
    /** Announces `id` on A every 100 ms until B has it. */
    const crosses = (id: string, timeoutMs: number) =>
      eventually(async () => {
        a.announce('org-1', { topic: 'check', id });
        return received.includes(id);
      }, timeoutMs, 100);

    await crosses('before', 5000);
    for (let i = 0; i < 2; i++) {
      await pg.stop();
      a.announce('org-1', { topic: 'check', id: `while-down-${i}` }); // lost: live updates are hints
      await new Promise((r) => setTimeout(r, 500));
      await pg.start();
      const up = Date.now();
      await crosses(`after-${i}`, 10_000);
      expect(Date.now() - up, 'announcements flow again after the restart').toBeLessThan(5000);
    }
    // One listener after the reconnects, not one per lost connection: an announcement arrives once.
    await new Promise((r) => setTimeout(r, 500));
    a.announce('org-1', { topic: 'check', id: 'once' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.filter((id) => id === 'once')).toEqual(['once']);
  }, 120_000);
});

