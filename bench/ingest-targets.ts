/**
 * One ingest run against one target, each on a fresh server and database: Vigil (`vigil start` from
 * dist/ on PostgreSQL, JSON over /api/v1/logs) or InfluxDB 1.x (a throwaway influxd, line protocol
 * over /write). Both get the same events through the same closed-loop client and are measured the
 * same way (CPU time and RSS of the server process from /proc), and both must have stored every
 * event they acknowledged, once.
 */
import pg from 'pg';
import { startInfluxd } from '../test/support/influxd.js';
import { EVENTS_PER_REQUEST, distinctHostsSent, stampJson, stampLines, type Precision, type ShapeData } from './ingest-data.js';
import { load, percentile, type LoadResult, type LoadTarget } from './load.js';
import { cpuSeconds, procStatusKb, watchRss, type RssWatch } from './proc.js';
import { BENCH_TOKEN, fmt, startBenchServer } from './support.js';

export const TARGETS = ['vigil', 'influx'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface RunOptions {
  connections: number;
  warmup: number;
  duration: number;
  /** Seconds to wait for Vigil's statistics to count every stored event. */
  statsWait: number;
  /** Line-protocol timestamp precision (see `nsSuffix` in ingest-data.ts). */
  precision: Precision;
  /** Prints progress on stderr. */
  progress: boolean;
}

export interface StatsCheck {
  status: 'ok' | 'mismatch' | 'not available';
  detail: string;
  hits?: number;
  countable?: number;
  tooLate?: number;
  /** Seconds after the load stopped until the statistics equalled the raw events. */
  catchUpSeconds?: number;
}

export interface TargetFigures {
  target: TargetName;
  eventsPerSec: number;
  requestsPerSec: number;
  seconds: number;
  requests: number;
  accepted: number;
  rejected: number;
  overloaded: number;
  failed: number;
  firstFailure?: string;
  latencyMs: { p50: number; p99: number; max: number };
  /** During the measured load (sampled every 250 ms), and over the process's life until the checks were done (VmHWM). */
  serverPeakRssMb: { duringRun: number; lifetime: number };
  serverCores?: number;
  eventsPerServerCpuSecond?: number;
  /** Vigil only: CPU of the PostgreSQL backends serving its database. */
  postgresCores?: number;
  clientCores: number;
  /** Distinct `host` values in the requests sent (warm-up included). */
  distinctHostsSent: number;
  /** Events stored (rows in log_events, or points counted by InfluxDB) against events acknowledged, warm-up included. */
  rows: { stored: number; acknowledged: number; ok: boolean };
  /** Vigil only. */
  stats?: StatsCheck;
}

interface Measured {
  run: LoadResult;
  serverCpu?: number;
  clientCpu: number;
  duringRunKb: number;
  /** Still sampling: stopped by the caller once its checks are done, so their memory counts too. */
  rss: RssWatch;
}

/** The measured load: server CPU time and client CPU time around it, server RSS sampled during it. */
async function measure(pid: number, url: string, target: LoadTarget, o: RunOptions, label: string): Promise<Measured> {
  const progress = o.progress
    ? (r: LoadResult) => process.stderr.write(`\r  ${label}: ${fmt(r.accepted)} events accepted, ${r.requests} requests, ${r.overloaded} overloaded, ${r.failed} failed   `)
    : undefined;
  const cpuBefore = await cpuSeconds(pid);
  const rss = watchRss(pid);
  const clientBefore = process.cpuUsage();
  const run = await load(url, target, o.connections, o.duration, progress);
  const clientUsage = process.cpuUsage(clientBefore);
  const cpuAfter = await cpuSeconds(pid);
  if (progress) process.stderr.write('\n');
  return {
    run,
    serverCpu: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
    clientCpu: (clientUsage.user + clientUsage.system) / 1e6,
    duringRunKb: rss.peakKb(),
    rss,
  };
}

function figures(
  target: TargetName,
  m: Measured,
  lifetimeKb: number,
  extra: Pick<TargetFigures, 'distinctHostsSent' | 'rows' | 'stats' | 'postgresCores'>,
): TargetFigures {
  const { run, serverCpu } = m;
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  return {
    target,
    eventsPerSec: run.accepted / run.seconds,
    requestsPerSec: run.requests / run.seconds,
    seconds: run.seconds,
    requests: run.requests,
    accepted: run.accepted,
    rejected: run.rejected,
    overloaded: run.overloaded,
    failed: run.failed,
    ...(run.firstFailure ? { firstFailure: run.firstFailure } : {}),
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN },
    serverPeakRssMb: { duringRun: m.duringRunKb / 1024, lifetime: Math.max(lifetimeKb, m.rss.peakKb()) / 1024 },
    ...(serverCpu ? { serverCores: serverCpu / run.seconds, eventsPerServerCpuSecond: run.accepted / serverCpu } : {}),
    clientCores: m.clientCpu / run.seconds,
    ...extra,
  };
}

// ---------------------------------------------------------------- Vigil

/**
 * CPU seconds used so far by the PostgreSQL backends serving the bench database (the server's pool),
 * per backend pid. Only readable when PostgreSQL runs on this machine, as in the bench setup.
 */
async function backendCpu(client: pg.Client): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const seconds = await cpuSeconds(pid);
    if (seconds !== undefined) cpu.set(pid, seconds);
  }
  return cpu;
}

/**
 * The statistics must eventually count every stored event that was not too late. Until the
 * stream processor exists, the tables are there but nothing fills them: that is reported, not failed.
 */
async function checkStats(client: pg.Client, waitSeconds: number): Promise<StatsCheck> {
  const exists = (await client.query<{ t: string | null }>(`SELECT to_regclass('traffic_counts')::text AS t`)).rows[0]!.t;
  if (!exists) return { status: 'not available', detail: 'no traffic_counts table' };
  const started = Date.now();
  let hits = 0;
  let countable = 0;
  let tooLate = 0;
  while (Date.now() - started < waitSeconds * 1000) {
    // Read each time: the processor marks events too late as it reaches them.
    const { rows } = await client.query<{ countable: string; too_late: string }>(
      'SELECT count(*) FILTER (WHERE NOT too_late) AS countable, count(*) FILTER (WHERE too_late) AS too_late FROM log_events',
    );
    countable = Number(rows[0]!.countable);
    tooLate = Number(rows[0]!.too_late);
    hits = Number((await client.query<{ n: string | null }>('SELECT sum(hits) AS n FROM traffic_counts WHERE resolution = 1')).rows[0]!.n ?? 0);
    if (hits === countable) return { status: 'ok', detail: '', hits, countable, tooLate, catchUpSeconds: (Date.now() - started) / 1000 };
    const progress = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM stream_progress')).rows[0]!.n);
    // Nothing written after the load has stopped for a while: no processor is running.
    if (hits === 0 && progress === 0 && Date.now() - started > 10_000) return { status: 'not available', detail: 'traffic_counts and stream_progress stay empty: no stream processor is running' };
    await new Promise((r) => setTimeout(r, 500));
  }
  return { status: 'mismatch', detail: `after waiting ${waitSeconds} s`, hits, countable, tooLate };
}

/**
 * Rows in log_events once the stream processor has stored what was acknowledged. On the in-process
 * bus a 2xx comes after the processor's commit, so the first count is final; on NATS it comes once
 * JetStream holds the events, and the processor may still be working off a backlog when the load
 * stops (counting at once reported acknowledged events as missing). Waits for the count to reach
 * `acknowledged`, or to stop growing for 5 s, within `waitSeconds`.
 */
async function storedRows(client: pg.Client, acknowledged: number, waitSeconds: number): Promise<number> {
  const count = async () => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM log_events')).rows[0]!.n);
  const started = Date.now();
  let stored = await count();
  let grewAt = Date.now();
  while (stored < acknowledged && Date.now() - started < waitSeconds * 1000 && Date.now() - grewAt < 5_000) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await count();
    if (now > stored) grewAt = Date.now();
    stored = now;
  }
  return stored;
}

/** `vigil start` on a fresh PostgreSQL database (statistics on, whatever the build wires into ingest), JSON events over /api/v1/logs. */
export async function runVigil(data: ShapeData, o: RunOptions): Promise<TargetFigures> {
  const server = await startBenchServer({ NATS_URL: process.env.NATS_URL ?? '' });
  try {
    const pid = server.proc.child.pid!;
    const { templates } = data;
    let sent = 0;
    const target: LoadTarget = {
      path: '/api/v1/logs',
      headers: { 'content-type': 'application/json', 'x-api-key': BENCH_TOKEN },
      nextBody: () => stampJson(templates[sent++ % templates.length]!, Date.now()),
      acknowledged: (status, text) => {
        if (status !== 200) return undefined;
        const answer = JSON.parse(text) as { accepted: number; rejected: unknown[] };
        return { accepted: answer.accepted, rejected: answer.rejected.length };
      },
    };
    const warm = o.warmup > 0 ? await load(server.url, target, o.connections, o.warmup) : undefined;
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      const backendsBefore = await backendCpu(client);
      const m = await measure(pid, server.url, target, o, `vigil, ${data.shape}`);
      const backendsAfter = await backendCpu(client);
      try {
        // Backends opened during the run count from zero; ones closed during it are missed (the pool keeps them under load).
        const databaseCpu = backendsAfter.size ? [...backendsAfter].reduce((sum, [p, after]) => sum + after - (backendsBefore.get(p) ?? 0), 0) : undefined;
        const acknowledged = m.run.accepted + (warm?.accepted ?? 0);
        const stored = await storedRows(client, acknowledged, o.statsWait);
        const stats = await checkStats(client, o.statsWait);
        return figures('vigil', m, (await procStatusKb(pid, 'VmHWM')) ?? 0, {
          distinctHostsSent: distinctHostsSent(templates, sent),
          rows: { stored, acknowledged, ok: stored === acknowledged },
          stats,
          ...(databaseCpu !== undefined ? { postgresCores: databaseCpu / m.run.seconds } : {}),
        });
      } finally {
        m.rss.stop();
      }
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- InfluxDB

const INFLUX_DB = 'bench';

/**
 * Settings of the bench's influxd beyond the defaults of 1.6, which would refuse the `many` shape:
 * at most 100,000 values per tag (it has 250,000 hosts) and 1,000,000 series per database. Both are
 * guards an operator lifts for such data; the index stays the default in-memory one.
 */
export const INFLUXD_DATA_SETTINGS = { 'max-values-per-tag': 0, 'max-series-per-database': 0 } as const;

/** A throwaway influxd (WAL fsynced before each answer), line protocol over /write, points counted with InfluxQL. */
export async function runInflux(data: ShapeData, o: RunOptions): Promise<TargetFigures> {
  const influxd = await startInfluxd({ data: INFLUXD_DATA_SETTINGS });
  try {
    await influxd.query(`CREATE DATABASE ${INFLUX_DB}`);
    const { templates } = data;
    let sent = 0;
    const target: LoadTarget = {
      path: `/write?db=${INFLUX_DB}&precision=${o.precision === 'ms' ? 'ms' : 'n'}`,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      nextBody: () => {
        const k = sent++ % templates.length;
        return stampLines(templates[k]!, k, Date.now(), o.precision);
      },
      // 204: every point of the body is written (a partial write is a 400 naming what was dropped).
      acknowledged: (status) => (status === 204 ? { accepted: EVENTS_PER_REQUEST, rejected: 0 } : undefined),
    };
    const warm = o.warmup > 0 ? await load(influxd.url, target, o.connections, o.warmup) : undefined;
    const m = await measure(influxd.pid, influxd.url, target, o, `influx, ${data.shape}`);
    try {
      const [series] = await influxd.query('SELECT count(bytes) FROM access', INFLUX_DB);
      const stored = Number(series?.values[0]?.[1] ?? 0);
      const acknowledged = m.run.accepted + (warm?.accepted ?? 0);
      return figures('influx', m, (await procStatusKb(influxd.pid, 'VmHWM')) ?? 0, {
        distinctHostsSent: distinctHostsSent(templates, sent),
        rows: { stored, acknowledged, ok: stored === acknowledged },
      });
    } finally {
      m.rss.stop();
    }
  } finally {
    await influxd.stop();
  }
}
