import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { VIGIL_BIN } from '../test/support/process.js';
import { BENCH_TOKEN, fmt, prng, startBenchServer } from './support.js';

const AIM = 100_000;
const EVENTS_PER_REQUEST = 1000;

const SERVICES = ['web', 'api', 'checkout', 'search', 'auth'];
const HOSTS = Array.from({ length: 50 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}.eu-west-1`);
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'okhttp/4.12.0',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];
/** [value, weight]: mostly reads, mostly 2xx, a tail of redirects and errors. */
const METHODS: [string, number][] = [['GET', 80], ['POST', 12], ['PUT', 4], ['DELETE', 2], ['PATCH', 1], ['HEAD', 1]];
const STATUSES: [number, number][] = [[200, 80], [201, 4], [204, 4], [301, 1], [302, 2], [304, 3], [400, 1], [401, 1], [403, 0.5], [404, 2], [429, 0.5], [500, 0.5], [502, 0.3], [503, 0.2]];

function weighted<T>(rnd: () => number, table: [T, number][]): () => T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  return () => {
    let r = rnd() * total;
    for (const [value, w] of table) if ((r -= w) < 0) return value;
    return table[0]![0];
  };
}

/**
 * One request's worth of events, minus their timestamps: each event is `{"timestamp":"<ISO>` +
 * `tails[i]`, so a body can be stamped with the current time at send. Pre-stamped payloads replayed
 * for 20 s would arrive ever later in event time and exercise the late-event path instead of the
 * normal one.
 */
interface Template {
  tails: string[];
  /** How long before the send each event happened: about one second of traffic, slightly out of order. */
  lagMs: Int32Array;
}

/**
 * Access-log events as Vector's http sink (json codec) sends them after parsing nginx logs:
 * high-cardinality paths (ids, asset hashes, search terms) and ~100k client addresses over 50 hosts.
 */
function templates(count: number): Template[] {
  const rnd = prng(42);
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (len: number) => Array.from({ length: len }, () => '0123456789abcdef'[int(16)]).join('');
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const method = weighted(rnd, METHODS);
  const status = weighted(rnd, STATUSES);
  const clients = Array.from({ length: 100_000 }, () =>
    rnd() < 0.1 ? `2001:db8:${hex(4)}::${hex(4)}` : `${1 + int(223)}.${int(256)}.${int(256)}.${1 + int(254)}`,
  );
  const paths: (() => string)[] = [
    () => `/api/users/${int(1_000_000)}/orders/${int(10_000_000)}`,
    () => `/api/v2/items/${int(500_000)}`,
    () => `/static/${hex(12)}.${rnd() < 0.7 ? 'js' : 'css'}`,
    () => `/img/products/${int(200_000)}/${pick(['thumb', 'large', 'zoom'])}.webp`,
    () => `/products/${pick(['shoes', 'shirts', 'bags', 'hats', 'watches'])}-${int(100_000)}`,
    () => `/search?q=${pick(['red', 'blue', 'sale', 'new', 'gift'])}+${int(5000)}&page=${1 + int(20)}`,
    () => pick(['/', '/login', '/logout', '/cart', '/checkout', '/account', '/healthz', '/favicon.ico']),
  ];
  const pathOf = weighted(rnd, paths.map((p, i) => [p, [30, 15, 20, 10, 12, 8, 5][i]!]));

  return Array.from({ length: count }, () => {
    const tails: string[] = [];
    const lagMs = new Int32Array(EVENTS_PER_REQUEST);
    for (let i = 0; i < EVENTS_PER_REQUEST; i++) {
      const code = status();
      const verb = method();
      lagMs[i] = Math.round((1 - i / EVENTS_PER_REQUEST) * 1000 + rnd() * 500);
      const rest = {
        service: pick(SERVICES),
        host: pick(HOSTS),
        source: 'nginx',
        remote_addr: pick(clients),
        method: verb,
        path: pathOf()(),
        status: code,
        bytes: code === 204 || code === 304 || verb === 'HEAD' ? 0 : Math.round(Math.exp(5 + rnd() * 7)),
        duration_ms: Math.round(Math.exp(rnd() * 6.5) * 1000) / 1000,
        user_agent: pick(AGENTS),
      };
      // `{"service":…}` → `","service":…}`: what follows the timestamp value.
      tails.push(`",${JSON.stringify(rest).slice(1)}`);
    }
    return { tails, lagMs };
  });
}

const MILLIS = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);

/**
 * A request body from a template, every event timestamped relative to `now`. The ISO text is put
 * together from a per-second prefix: a `toISOString()` per event made the bench client cost a tenth
 * of a core, taken from the server it measures.
 */
function stamp(template: Template, now: number): string {
  let body = '[';
  let second = Number.NaN;
  let prefix = '';
  for (let i = 0; i < template.tails.length; i++) {
    const ts = now - template.lagMs[i]!;
    const s = Math.floor(ts / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 19);
    }
    body += `${i ? ',' : ''}{"timestamp":"${prefix}${MILLIS[ts - s * 1000]}${template.tails[i]}`;
  }
  return `${body}]`;
}

interface LoadResult {
  seconds: number;
  requests: number;
  accepted: number;
  rejected: number;
  /** 429/503 answers: the server asking the client to come back later. */
  overloaded: number;
  /** Other non-2xx answers and transport errors, with the first one seen. */
  failed: number;
  firstFailure?: string;
  latenciesMs: number[];
}

/**
 * `connections` closed-loop clients, each posting one batch at a time until `seconds` have passed
 * (as Vector's http sink does with request concurrency), then waiting for the answers in flight so
 * every acknowledged event is counted. 429/503 are honoured with the server's Retry-After.
 */
async function load(url: string, bodies: Template[], connections: number, seconds: number, onProgress?: (r: LoadResult) => void): Promise<LoadResult> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const result: LoadResult = { seconds: 0, requests: 0, accepted: 0, rejected: 0, overloaded: 0, failed: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  const ticker = onProgress ? setInterval(() => onProgress(result), 1000) : undefined;

  async function client(): Promise<void> {
    while (performance.now() < deadline) {
      const body = stamp(bodies[next++ % bodies.length]!, Date.now());
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: '/api/v1/logs',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': BENCH_TOKEN },
          body,
        });
        const text = await res.body.text();
        result.latenciesMs.push(performance.now() - t0);
        result.requests++;
        if (res.statusCode === 200) {
          const answer = JSON.parse(text) as { accepted: number; rejected: unknown[] };
          result.accepted += answer.accepted;
          result.rejected += answer.rejected.length;
        } else if (res.statusCode === 429 || res.statusCode === 503) {
          result.overloaded++;
          const retryAfter = Number(res.headers['retry-after'] ?? 1);
          await new Promise((r) => setTimeout(r, (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000));
        } else {
          result.failed++;
          result.firstFailure ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
        }
      } catch (error) {
        result.failed++;
        result.firstFailure ??= error instanceof Error ? error.message : String(error);
        // A server that is gone refuses at once: do not spin.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  await Promise.all(Array.from({ length: connections }, client));
  if (ticker) clearInterval(ticker);
  result.seconds = (performance.now() - started) / 1000;
  await pool.close();
  return result;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Events/s one thread reaches doing nothing but `JSON.parse` on the same bodies: the ceiling for a single-process server. */
function parseCeiling(bodies: string[], seconds: number): { eventsPerSec: number; mbPerSec: number } {
  let events = 0;
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; performance.now() - started < seconds * 1000; i++) {
    const body = bodies[i % bodies.length]!;
    events += (JSON.parse(body) as unknown[]).length;
    bytes += body.length;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { eventsPerSec: events / elapsed, mbPerSec: bytes / 1e6 / elapsed };
}

/** Kilobytes from a `/proc/<pid>/status` line such as `VmHWM:  123456 kB`. */
async function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : undefined;
}

/**
 * CPU seconds (user + system) a process has used, from `/proc/<pid>/stat` (in USER_HZ ticks, 100 on
 * Linux). On a machine shared with other work, events per server CPU-second says more than events/s.
 */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / 100 : undefined;
}

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

/** Source files newer than their build: the bench runs `dist/`, so it would measure old code. */
async function staleBuild(): Promise<string[]> {
  const root = join(VIGIL_BIN, '..', '..');
  const src = join(root, 'src');
  const stale: string[] = [];
  for (const entry of await readdir(src, { recursive: true })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.test.ts') || entry.endsWith('.d.ts')) continue;
    const built = join(root, 'dist', entry.replace(/\.ts$/, '.js'));
    const [s, d] = await Promise.all([stat(join(src, entry)), stat(built).catch(() => undefined)]);
    if (!d || d.mtimeMs < s.mtimeMs) stale.push(relative(root, join(src, entry)));
  }
  return stale;
}

interface StatsCheck {
  status: 'ok' | 'mismatch' | 'not available';
  detail: string;
  hits?: number;
  countable?: number;
  tooLate?: number;
  /** Seconds after the load stopped until the statistics equalled the raw events. */
  catchUpSeconds?: number;
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
 * Sustained HTTP ingest of realistic access-log events into PostgreSQL through a separate
 * `vigil start` process (statistics on, whatever the build wires into ingest), compared with the
 * single-thread `JSON.parse` ceiling of the same bodies and with the 100,000 events/s aim.
 *
 * Flags (with `=`, since bare words are benchmark names): --duration=20 --warmup=3 --connections=8
 * --payloads=64 --parse-seconds=3 --stats-wait=90 --json.
 */
export async function benchIngest(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    allowPositionals: true,
    options: {
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '8' },
      payloads: { type: 'string', default: '64' },
      'parse-seconds': { type: 'string', default: '3' },
      'stats-wait': { type: 'string', default: '90' },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}=${String(values[name])}: expected a number ≥ ${min}`);
    return n;
  };
  const duration = num('duration', 1);
  const warmup = num('warmup', 0);
  const connections = Math.floor(num('connections', 1));
  const payloadCount = Math.floor(num('payloads', 1));
  const parseSeconds = num('parse-seconds', 0.5);
  const statsWait = num('stats-wait', 0);
  const json = values.json === true;
  const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

  const stale = await staleBuild();
  if (stale.length) console.error(`warning: dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): run \`npm run build\` to measure the current code`);

  const bodies = templates(payloadCount);
  const sample = bodies.map((t) => stamp(t, Date.now()));
  const avgKb = sample.reduce((s, b) => s + Buffer.byteLength(b), 0) / sample.length / 1024;
  say(`payloads: ${payloadCount} × ${EVENTS_PER_REQUEST} events, ${fmt(avgKb)} KB each; ${connections} connections, ${warmup} s warm-up + ${duration} s`);

  // Before the server starts, so the ceiling is measured on a machine not busy with our own load.
  const ceiling = parseCeiling(sample, parseSeconds);

  const server = await startBenchServer({ NATS_URL: process.env.NATS_URL ?? '' });
  try {
    const pid = server.proc.child.pid!;
    const progress = process.stderr.isTTY
      ? (r: LoadResult) => process.stderr.write(`\r  ${fmt(r.accepted)} events accepted, ${r.requests} requests, ${r.overloaded} overloaded, ${r.failed} failed   `)
      : undefined;
    const warm = warmup > 0 ? await load(server.url, bodies, connections, warmup) : undefined;
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    let stored: number;
    let stats: StatsCheck;
    let serverCpu: number | undefined;
    let databaseCpu: number | undefined;
    let clientCpu: number;
    let run: LoadResult;
    let peakRssKb = 0;
    let lifetimePeakKb = 0;
    try {
      const cpuBefore = await cpuSeconds(pid);
      const backendsBefore = await backendCpu(client);
      const sampler = setInterval(() => void procStatusKb(pid, 'VmRSS').then((kb) => (peakRssKb = Math.max(peakRssKb, kb ?? 0))), 250);
      const clientBefore = process.cpuUsage();
      run = await load(server.url, bodies, connections, duration, progress);
      const clientUsage = process.cpuUsage(clientBefore);
      clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
      clearInterval(sampler);
      const cpuAfter = await cpuSeconds(pid);
      const backendsAfter = await backendCpu(client);
      if (progress) process.stderr.write('\n');
      serverCpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
      // Backends opened during the run count from zero; ones closed during it are missed (the pool keeps them under load).
      databaseCpu = backendsAfter.size ? [...backendsAfter].reduce((sum, [p, after]) => sum + after - (backendsBefore.get(p) ?? 0), 0) : undefined;
      lifetimePeakKb = Math.max((await procStatusKb(pid, 'VmHWM')) ?? 0, peakRssKb);

      stored = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM log_events')).rows[0]!.n);
      stats = await checkStats(client, statsWait);
    } finally {
      await client.end();
    }

    const acknowledged = run.accepted + (warm?.accepted ?? 0);
    const eventsPerSec = run.accepted / run.seconds;
    const sorted = [...run.latenciesMs].sort((a, b) => a - b);
    const figures = {
      eventsPerSec: Math.round(eventsPerSec),
      aim: AIM,
      ratioToAim: eventsPerSec / AIM,
      parseCeilingEventsPerSec: Math.round(ceiling.eventsPerSec),
      parseCeilingMbPerSec: ceiling.mbPerSec,
      ratioToParseCeiling: eventsPerSec / ceiling.eventsPerSec,
      requestsPerSec: run.requests / run.seconds,
      latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN },
      serverPeakRssMb: { duringRun: peakRssKb / 1024, lifetime: lifetimePeakKb / 1024 },
      ...(serverCpu ? { serverCores: serverCpu / run.seconds, eventsPerServerCpuSecond: Math.round(run.accepted / serverCpu) } : {}),
      ...(databaseCpu !== undefined ? { postgresCores: databaseCpu / run.seconds } : {}),
      clientCores: clientCpu / run.seconds,
      requests: run.requests,
      seconds: run.seconds,
      accepted: run.accepted,
      rejected: run.rejected,
      overloaded: run.overloaded,
      failed: run.failed,
      ...(run.firstFailure ? { firstFailure: run.firstFailure } : {}),
      connections,
      payloadKb: avgKb,
      eventsPerRequest: EVENTS_PER_REQUEST,
      store: 'postgres',
      bus: process.env.NATS_URL ? 'nats' : 'in-process',
      rows: { stored, acknowledged, ok: stored === acknowledged },
      stats,
    };

    if (json) {
      console.log(JSON.stringify(figures));
      return;
    }
    const rows: [string, string][] = [
      ['ingest', `${fmt(eventsPerSec)} events/s (${fmt(figures.requestsPerSec, 1)} requests/s over ${fmt(run.seconds, 1)} s)`],
      ['latency', `p50 ${fmt(figures.latencyMs.p50, 1)} ms, p99 ${fmt(figures.latencyMs.p99, 1)} ms, max ${fmt(figures.latencyMs.max, 1)} ms`],
      ['answers', `${run.requests} (rejected events ${run.rejected}, 429/503 ${run.overloaded}, failed ${run.failed})`],
      ['server peak RSS', `${fmt(figures.serverPeakRssMb.duringRun)} MB during the run, ${fmt(figures.serverPeakRssMb.lifetime)} MB lifetime (VmHWM)`],
      ...(serverCpu
        ? ([['CPU', `${fmt(serverCpu / run.seconds, 2)} cores used by the vigil process (${fmt(run.accepted / serverCpu)} events per CPU-second)${databaseCpu !== undefined ? `, ${fmt(databaseCpu / run.seconds, 2)} by its PostgreSQL backends` : ''}, ${fmt(clientCpu / run.seconds, 2)} by this client`]] as [string, string][])
        : []),
      ['JSON.parse ceiling', `${fmt(ceiling.eventsPerSec)} events/s (${fmt(ceiling.mbPerSec)} MB/s, one thread)`],
      ['ratios', `${figures.ratioToAim.toFixed(2)}× the ${fmt(AIM)} events/s aim; ${figures.ratioToParseCeiling.toFixed(2)}× the JSON.parse ceiling`],
      ['rows', `${stored === acknowledged ? 'OK' : 'MISMATCH'}: ${fmt(stored)} stored, ${fmt(acknowledged)} acknowledged (warm-up included)`],
      [
        'stats',
        stats.status === 'not available'
          ? `not available (${stats.detail})`
          : `${stats.status === 'ok' ? 'OK' : 'MISMATCH'}: sum(hits) at 1 s = ${fmt(stats.hits ?? 0)}, countable events ${fmt(stats.countable ?? 0)}, too late ${fmt(stats.tooLate ?? 0)}${stats.catchUpSeconds !== undefined ? `; caught up ${fmt(stats.catchUpSeconds, 1)} s after the load` : ` ${stats.detail}`}`,
      ],
    ];
    say(`store: PostgreSQL (fresh database), bus: ${figures.bus}, server: separate process`);
    if (run.firstFailure) say(`first failure: ${run.firstFailure}`);
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) say(`  ${k.padEnd(width)}  ${v}`);
  } finally {
    await server.stop();
  }
}
