/**
 * `npm run bench -- indexes`: which index on `log_events` pays at write time without making the
 * Logs page slow. Today's B-tree (org_id, ts DESC, id DESC) against B-tree and BRIN variants and
 * against no index at all (the write floor).
 *
 * Per variant, on its own fresh database migrated as Vigil migrates (then the index swapped):
 *   1. write cost: the same pre-encoded access-log rows COPYed from one connection in batches of
 *      8,000 rows per transaction, as the stream processor writes them (encodeEventCopy, rows grouped
 *      per organisation within a batch); rows/s, the backend's CPU (/proc/<pid>/stat, so it needs a
 *      PostgreSQL on this machine), WAL bytes per row, index size; then the VACUUM (ANALYZE) that
 *      autovacuum would run on an insert-only table, measured apart (BRIN ranges are summarised there);
 *   2. query cost: the store's own `searchEvents` and `countEventsByBucket` (and retention's export
 *      page, whose SQL is copied from retention.ts), median and p95 over repeated runs, and one
 *      EXPLAIN (ANALYZE, BUFFERS) each to show which plan gave the figure.
 *
 * Invariants: every variant gets byte-identical input (generated once, seeded); a CHECKPOINT before
 * each load so full-page images start from the same state; autovacuum is off on the partitions
 * during the load so no worker competes with the measured backend (its work is the VACUUM column).
 * WAL is read from pg_current_wal_insert_lsn(), which is cluster-wide: work in other databases of
 * the same server during the load would be counted too (run under flock, nothing else loading).
 *
 * Flags (with `=`, since bare words are benchmark names): --rows=2000000 --hours=24 --runs=15
 * --batch=8000 --rounds=3 (loads per variant; the write figures are their medians)
 * --variants=none,btree_today,… (default: all).
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { countEventsByBucket, encodeEventCopy, searchEvents, type EventGroupRows } from '../src/domains/logs/store.js';
import { planVolume, VOLUME_COUNT_CAP } from '../src/domains/logs/volume.js';
import type { LogEvent } from '../src/domains/logs/event.js';
import { migrateToLatest } from '../src/platform/store/index.js';
import type { LogsTables } from '../src/domains/logs/index.js';
import { freshPostgresDatabase } from '../test/support/server.js';
import { SECTIONS, fmt, prng, weighted } from './support.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The newest event time of the data set: fixed, so every run draws the same rows and partitions. */
const END = Date.UTC(2026, 0, 15, 16, 0, 0);
/** Share of the rows per organisation: one large tenant, a long tail (the last one is "small"). */
const ORG_SHARES = [0.4, 0.2, 0.12, 0.1, 0.08, 0.05, 0.03, 0.02];
const ORGS = ORG_SHARES.map((_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
const BIG = ORGS[0]!;
const SMALL = ORGS[ORGS.length - 1]!;
const COLUMNS = ['org_id', 'ts', 'received_at', 'service', 'host', 'source', 'level', 'message', 'method', 'path', 'section', 'status', 'bytes', 'duration_ms', 'remote_addr', 'user_agent', 'attributes', 'too_late'];

// ---------------------------------------------------------------------------------------------
// Variants
// ---------------------------------------------------------------------------------------------

interface Variant {
  name: string;
  /** What replaces the migration's index (on the partitioned parent, so every partition gets it). */
  indexes: string[];
  about: string;
}

const VARIANTS: Variant[] = [
  { name: 'none', indexes: [], about: 'no index: the write floor (queries are sequential scans)' },
  { name: 'btree_today', indexes: ['CREATE INDEX log_events_org_ts ON log_events (org_id, ts DESC, id DESC)'], about: "today's B-tree (org_id, ts DESC, id DESC)" },
  {
    name: 'btree_asc',
    indexes: ['CREATE INDEX log_events_org_ts ON log_events (org_id, ts, id)'],
    about: 'the same keys ascending, so inserts follow arrival order within an organisation; newest-first reads scan it backward',
  },
  { name: 'btree_org_ts', indexes: ['CREATE INDEX log_events_org_ts ON log_events (org_id, ts)'], about: 'B-tree (org_id, ts) ascending, without id: smaller tuples; (ts, id) order needs an incremental sort' },
  {
    name: 'btree_ts',
    indexes: ['CREATE INDEX log_events_ts ON log_events (ts)'],
    about: 'B-tree (ts) alone: every insert lands on the rightmost page (fillfactor splits); an organisation is a filter on a newest-first walk',
  },
  { name: 'brin_ts', indexes: ['CREATE INDEX log_events_ts_brin ON log_events USING brin (ts)'], about: 'BRIN (ts), 128 pages per range: nothing per organisation' },
  { name: 'brin_ts_16', indexes: ['CREATE INDEX log_events_ts_brin ON log_events USING brin (ts) WITH (pages_per_range = 16)'], about: 'BRIN (ts), 16 pages per range: finer ranges, fewer pages read past the bounds' },
  { name: 'brin_org_ts', indexes: ['CREATE INDEX log_events_org_ts_brin ON log_events USING brin (org_id, ts)'], about: 'BRIN (org_id, ts): org_id min/max per range (every range holds every busy tenant)' },
];

// ---------------------------------------------------------------------------------------------
// Data: access-log rows as the processor writes them
// ---------------------------------------------------------------------------------------------


interface DataSet {
  /** COPY text per transaction. */
  batches: Buffer[];
  rows: number;
  /** The days (YYYY-MM-DD) the rows fall in: the partitions to create. */
  days: string[];
  bytes: number;
}

/**
 * `rows` events arriving evenly over `hours` ending at END, event time a little before arrival
 * (exponential, mean 1 s; 1 % up to 2 minutes late, as agents flush in batches), so ts increases
 * with small disorder. Statuses and methods weighted as in bench/ingest.ts (500 is 0.5 %).
 */
function dataSet(rows: number, hours: number, batchSize: number): DataSet {
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const method = weighted(rnd, [['GET', 80], ['POST', 12], ['PUT', 4], ['DELETE', 2], ['PATCH', 1], ['HEAD', 1]]);
  const status = weighted(rnd, [[200, 80], [201, 4], [204, 4], [301, 1], [302, 2], [304, 3], [400, 1], [401, 1], [403, 0.5], [404, 2], [429, 0.5], [500, 0.5], [502, 0.3], [503, 0.2]]);
  const org = weighted(rnd, ORGS.map((o, i): [string, number] => [o, ORG_SHARES[i]!]));
  const services = ['web', 'api', 'checkout', 'search', 'auth'];
  const agents = ['Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15', 'okhttp/4.12.0', 'curl/8.5.0', 'Go-http-client/1.1'];
  const span = hours * HOUR_MS;
  const start = END - span;
  const days = new Set<string>();
  const batches: Buffer[] = [];
  let bytes = 0;
  for (let first = 0; first < rows; first += batchSize) {
    // Grouped per organisation in order of first appearance, as the processor groups a batch.
    const groups = new Map<string, LogEvent[]>();
    for (let i = first; i < Math.min(rows, first + batchSize); i++) {
      const receivedAt = start + Math.floor(((i + 1) / rows) * span);
      const delay = rnd() < 0.01 ? rnd() * 120_000 : -Math.log(1 - rnd()) * 1000;
      const timestamp = Math.min(END, Math.floor(receivedAt - delay));
      days.add(new Date(timestamp - (timestamp % DAY_MS)).toISOString().slice(0, 10));
      const section = pick(SECTIONS);
      const path = `${section}/item${Math.floor(rnd() * 50_000)}`;
      const m = method();
      const s = status();
      const client = Math.floor(rnd() * 200_000);
      const remoteAddr = `10.${client >> 16}.${(client >> 8) & 255}.${client & 255}`;
      const size = 100 + Math.floor(rnd() * 90_000);
      const event: LogEvent = {
        timestamp,
        receivedAt,
        service: pick(services),
        host: `web-${String(1 + Math.floor(rnd() * 50)).padStart(2, '0')}.eu-west-1`,
        source: 'nginx',
        level: s >= 500 ? 'error' : s >= 400 ? 'warn' : 'info',
        message: `${remoteAddr} - - "${m} ${path} HTTP/1.1" ${s} ${size}`,
        method: m,
        path,
        section,
        status: s,
        bytes: size,
        durationMs: Math.round(rnd() * 250_000) / 1000,
        remoteAddr,
        userAgent: pick(agents),
        attributes: rnd() < 0.1 ? { 'url.query': `page=${Math.floor(rnd() * 20)}` } : {},
      };
      const o = org();
      const list = groups.get(o);
      if (list) list.push(event);
      else groups.set(o, [event]);
    }
    const groupRows: EventGroupRows[] = [...groups].map(([orgId, events]) => ({ orgId, events }));
    const buffer = Buffer.from(encodeEventCopy(groupRows));
    bytes += buffer.length;
    batches.push(buffer);
  }
  return { batches, rows, days: [...days].sort(), bytes };
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of a process so far (fields 14 and 15 of /proc/<pid>/stat). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function walLsn(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return rows[0]!.lsn;
}

async function walBytesSince(client: pg.Client, lsn: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::text AS bytes', [lsn]);
  return Number(rows[0]!.bytes);
}

interface Cost {
  seconds: number;
  cpu: number;
  wal: number;
}

/** Wall time, backend CPU and WAL of `work` on `client`'s backend. */
async function measure(client: pg.Client, pid: number, work: () => Promise<void>): Promise<Cost> {
  const lsn = await walLsn(client);
  const cpu0 = await cpuSeconds(pid);
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await cpuSeconds(pid)) - cpu0;
  return { seconds, cpu, wal: await walBytesSince(client, lsn) };
}

async function copyBatch(client: pg.Client, data: Buffer): Promise<void> {
  await client.query('BEGIN');
  try {
    await pipeline(Readable.from([data]), client.query(copyFrom(`COPY log_events (${COLUMNS.join(', ')}) FROM STDIN`)));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

interface IndexSize {
  heap: number;
  index: number;
  /** B-tree leaf pages' average fill (pgstattuple), weighted by leaf pages; null without a B-tree. */
  leafDensity: number | null;
}

async function sizes(client: pg.Client): Promise<IndexSize> {
  const { rows } = await client.query<{ heap: string; index: string }>(`
    SELECT sum(pg_relation_size(t.relid))::text AS heap, coalesce(sum(pg_indexes_size(t.relid)), 0)::text AS index
    FROM pg_partition_tree('log_events') t WHERE t.isleaf`);
  // MATERIALIZED: pgstatindex must only ever see the partitions' indexes (it refuses the parent's).
  const { rows: btrees } = await client.query<{ density: number; leaves: string }>(`
    WITH leaf AS MATERIALIZED (
      SELECT i.indexrelid FROM pg_partition_tree('log_events') t
      JOIN pg_index i ON i.indrelid = t.relid
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_am am ON am.oid = c.relam
      WHERE t.isleaf AND am.amname = 'btree')
    SELECT s.avg_leaf_density AS density, s.leaf_pages::text AS leaves FROM leaf CROSS JOIN LATERAL pgstatindex(leaf.indexrelid) s`);
  const leaves = btrees.reduce((n, b) => n + Number(b.leaves), 0);
  const leafDensity = leaves > 0 ? btrees.reduce((n, b) => n + b.density * Number(b.leaves), 0) / leaves : null;
  return { heap: Number(rows[0]!.heap), index: Number(rows[0]!.index), leafDensity };
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

interface QuerySpec {
  key: string;
  about: string;
  /** Runs the query once; the SQL it sent is `sql`, or else what the Kysely log hook captured last. */
  run: () => Promise<unknown>;
  sql?: { text: string; values: unknown[] };
}

interface QueryResult {
  median: number;
  p95: number;
  plan: string;
}

/** A short account of an EXPLAIN (ANALYZE, BUFFERS) text: the scans, the sort, the pages touched, the time. */
export function planSummary(lines: string[]): string {
  const scans = new Map<string, number>();
  let sort = '';
  let buffers = '';
  let removed = 0;
  let lossy = 0;
  let exec = '';
  for (const raw of lines) {
    const line = raw.trim().replace(/^->\s*/, '');
    const scan = /^(Parallel )?(Index Only Scan Backward|Index Only Scan|Index Scan Backward|Index Scan|Bitmap Index Scan|Bitmap Heap Scan|Seq Scan)(?: using (\S+)| on (\S+))?/.exec(line);
    if (scan) {
      const kind = scan[2]!;
      // Partition-local names (log_events_p20260115_org_id_ts_id_idx) say the same for every day.
      const index = scan[3] ?? (kind === 'Bitmap Index Scan' ? scan[4] : undefined);
      const what = `${scan[1] ?? ''}${kind}${index ? ` ${index.replace(/^log_events_p\d{8}_/, '')}` : ''}`;
      scans.set(what, (scans.get(what) ?? 0) + 1);
    }
    const sortMethod = /Sort Method: ([\w-]+(?: [\w-]+)?)/.exec(line);
    if (sortMethod && !sort) sort = sortMethod[1]!;
    if (/^Incremental Sort/.test(line) && !sort) sort = 'incremental';
    if (!buffers && /^Buffers: shared/.test(line)) buffers = line.replace('Buffers: ', '');
    const rem = /Rows Removed by (?:Filter|Index Recheck): (\d+)/.exec(line);
    if (rem) removed += Number(rem[1]);
    const heap = /Heap Blocks:.*lossy=(\d+)/.exec(line);
    if (heap) lossy += Number(heap[1]);
    const time = /^Execution Time: ([\d.]+) ms/.exec(line);
    if (time) exec = `${time[1]} ms`;
  }
  const parts = [[...scans].map(([what, n]) => (n > 1 ? `${what} ×${n}` : what)).join(', ')];
  if (sort) parts.push(`sort: ${sort}`);
  if (removed) parts.push(`${fmt(removed)} rows filtered out`);
  if (lossy) parts.push(`${fmt(lossy)} lossy blocks`);
  if (buffers) parts.push(buffers);
  if (exec) parts.push(exec);
  return parts.join('; ');
}

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/** The queries of the Logs page (and retention's export page) against the loaded table. */
async function queries(db: Kysely<LogsTables>, pool: pg.Pool, rows: number, hours: number): Promise<QuerySpec[]> {
  const hourAgo = new Date(END - HOUR_MS);
  const dayAgo = new Date(END - Math.min(24, hours) * HOUR_MS);
  const newest = { from: dayAgo, limit: 50 };
  const page2 = (await searchEvents(db, BIG, newest)).next_cursor;
  // "Load older" many times: the page at 12 hours back, within the same one-day search.
  const deep = (await searchEvents(db, BIG, { from: dayAgo, to: new Date(END - (Math.min(24, hours) * HOUR_MS) / 2), limit: 1 })).next_cursor;
  if (!page2 || !deep) throw new Error('the loaded table has too few rows for the paging queries: raise --rows');
  // The tail: what arrived in the last ~5 s (ids are given in arrival order), looking back 2 minutes as LogsPage does.
  const afterId = String(Math.max(1, rows - Math.round((rows / (hours * 3600)) * 5)));
  const tailFrom = new Date(END - 2 * 60_000);
  const day = new Date(END).toISOString().slice(0, 10);
  const partition = `log_events_p${day.replaceAll('-', '')}`;
  const middle = new Date(Date.parse(`${day}T00:00:00Z`) + (END - Date.parse(`${day}T00:00:00Z`)) / 2);
  const { rows: mid } = await pool.query<{ ts_key: string; id: string }>(`SELECT ts::text AS ts_key, id::text AS id FROM ${partition} WHERE org_id = $1 AND ts >= $2 ORDER BY ts, id LIMIT 1`, [BIG, middle]);
  const exportAfter = mid[0];
  if (!exportAfter) throw new Error(`no rows in ${partition} after ${middle.toISOString()}`);
  // retention.ts's hotRows page, on the partition table as the export reads it.
  const exportPage = {
    text: `SELECT id, ts, ts::text AS ts_key, received_at, service, host, source, level, message, method, path, section,
                  status, bytes, duration_ms, remote_addr, user_agent, attributes, too_late
           FROM ${partition} WHERE org_id = $1::uuid AND (ts, id) > ($2::timestamptz, $3::bigint) ORDER BY ts, id LIMIT 5000`,
    values: [BIG, exportAfter.ts_key, exportAfter.id],
  };
  const volume = (cap: number) => () => countEventsByBucket(db, BIG, { from: dayAgo }, planVolume(dayAgo.getTime(), END, false), cap);
  return [
    { key: 'new1h', about: 'newest 50, large org, last hour', run: () => searchEvents(db, BIG, { from: hourAgo, limit: 50 }) },
    { key: 'new1d', about: 'newest 50, large org, last day', run: () => searchEvents(db, BIG, newest) },
    { key: 's500_1h', about: 'newest 50 with status = 500 (0.5 % of rows), large org, last hour', run: () => searchEvents(db, BIG, { from: hourAgo, status: 500, limit: 50 }) },
    { key: 's500_1d', about: 'newest 50 with status = 500, large org, last day', run: () => searchEvents(db, BIG, { ...newest, status: 500 }) },
    { key: 'page2', about: 'second page (keyset cursor) of newest 50, large org, last day', run: () => searchEvents(db, BIG, { ...newest, cursor: page2 }) },
    { key: 'deep', about: 'page at a cursor 12 h back ("Load older" many times), large org, last day', run: () => searchEvents(db, BIG, { ...newest, cursor: deep }) },
    { key: 'small1d', about: 'newest 50, small org (2 % of rows), last day', run: () => searchEvents(db, SMALL, newest) },
    { key: 's500sm', about: 'newest 50 with status = 500, small org, last day (about 200 matches in 40,000 rows)', run: () => searchEvents(db, SMALL, { ...newest, status: 500 }) },
    { key: 'q1h', about: 'message ILIKE rare text (about no match), large org, last hour', run: () => searchEvents(db, BIG, { from: hourAgo, q: 'item4242 HTTP', limit: 50 }) },
    { key: 'tail', about: 'live tail: id > (last ~5 s), ts >= newest - 2 min, limit 500, large org', run: () => searchEvents(db, BIG, { from: tailFrom, afterId, limit: 500 }) },
    { key: 'cnt10k', about: 'volume count per 30-min bucket, newest 10,000 matches, large org, last day', run: volume(10_000) },
    { key: 'cnt100k', about: `volume count, newest ${fmt(VOLUME_COUNT_CAP)} matches (VOLUME_COUNT_CAP), large org, last day`, run: volume(VOLUME_COUNT_CAP) },
    {
      key: 'export',
      about: `retention export: one page of 5,000 rows in (ts, id) order from the middle of ${partition}, large org`,
      sql: exportPage,
      run: () => pool.query(exportPage.text, exportPage.values),
    },
  ];
}

async function runQueries(specs: QuerySpec[], runs: number, explain: (spec: QuerySpec) => Promise<string[]>): Promise<Map<string, QueryResult>> {
  const results = new Map<string, QueryResult>();
  for (const spec of specs) {
    await spec.run(); // warm-up, not counted
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await spec.run();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    results.set(spec.key, { median: quantile(times, 0.5), p95: quantile(times, 0.95), plan: planSummary(await explain(spec)) });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// One variant
// ---------------------------------------------------------------------------------------------

interface Round {
  load: Cost;
  vacuum: Cost;
  size: IndexSize;
}

interface VariantResult {
  variant: Variant;
  /** One per load round; the write figures are their medians. */
  rounds: Round[];
  /** Median of each field over the rounds (sizes from the last round: they do not vary). */
  load: Cost;
  vacuum: Cost;
  size: IndexSize;
  /** Backend CPU seconds of the loads, lowest and highest round: the spread the median hides. */
  cpuRange: [number, number];
  queries: Map<string, QueryResult>;
  about: Map<string, string>;
}

/**
 * Loads `data` under `variant` on a fresh database and measures the write; with `runs`, then
 * measures the queries on the loaded table. The database is dropped at the end either way.
 */
async function runVariant(
  baseUrl: string,
  variant: Variant,
  data: DataSet,
  hours: number,
  say: (line: string) => void,
  runs?: number,
): Promise<{ round: Round; queries?: Map<string, QueryResult>; about?: Map<string, string> }> {
  const fresh = await freshPostgresDatabase(baseUrl);
  const writer = new pg.Client({ connectionString: fresh.url });
  const pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
  let captured: CompiledQuery | undefined;
  const db = new Kysely<LogsTables>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured = event.query;
    },
  });
  try {
    // Vigil's own migrations, so the table is exactly what the app runs on; then the index swapped.
    await migrateToLatest(db);
    await writer.connect();
    await writer.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
    await writer.query('DROP INDEX log_events_org_ts');
    for (const ddl of variant.indexes) await writer.query(ddl);
    for (const day of data.days) {
      const from = `${day}T00:00:00Z`;
      const to = new Date(Date.parse(from) + DAY_MS).toISOString();
      // As PartitionManager creates them, plus autovacuum off for the measurement (see the header).
      await writer.query(`CREATE TABLE log_events_p${day.replaceAll('-', '')} PARTITION OF log_events FOR VALUES FROM ('${from}') TO ('${to}') WITH (autovacuum_enabled = off)`);
    }
    const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await writer.query('CHECKPOINT');
    const load = await measure(writer, pid, async () => {
      for (const batch of data.batches) await copyBatch(writer, batch);
    });
    const vacuum = await measure(writer, pid, async () => {
      await writer.query('VACUUM (ANALYZE) log_events');
    });
    const size = await sizes(writer);
    say(
      `  load ${fmt(data.rows / load.seconds)} rows/s, backend CPU ${fmt(load.cpu, 1)} s, WAL ${fmt(load.wal / data.rows)} B/row; ` +
        `vacuum ${fmt(vacuum.seconds, 1)} s (${fmt(vacuum.wal / 1e6)} MB WAL); heap ${fmt(size.heap / 1e6)} MB, index ${fmt(size.index / 1e6, 1)} MB` +
        (size.leafDensity !== null ? `, B-tree leaf pages ${fmt(size.leafDensity)} % full` : ''),
    );
    if (runs === undefined) return { round: { load, vacuum, size } };

    const specs = await queries(db, pool, data.rows, hours);
    const explain = async (spec: QuerySpec) => {
      let query = spec.sql;
      if (!query) {
        captured = undefined;
        await spec.run();
        if (!captured) return [];
        query = { text: (captured as CompiledQuery).sql, values: [...(captured as CompiledQuery).parameters] };
      }
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${query.text}`, query.values);
      return rows.map((r) => r['QUERY PLAN']);
    };
    // Sequential scans of the whole table are slow and say the same every time: fewer runs.
    const queryRuns = variant.indexes.length === 0 ? Math.min(runs, 5) : runs;
    const results = await runQueries(specs, queryRuns, explain);
    for (const spec of specs) {
      const r = results.get(spec.key)!;
      say(`  ${spec.key.padEnd(8)} median ${fmt(r.median, 2).padStart(9)} ms, p95 ${fmt(r.p95, 2).padStart(9)} ms | ${r.plan}`);
    }
    return { round: { load, vacuum, size }, queries: results, about: new Map(specs.map((s) => [s.key, s.about])) };
  } finally {
    await writer.end().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    await fresh.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const ratio = (x: number, base: number | undefined) => (base === undefined || base === 0 ? '' : `${fmt(x / base, 2)}×`);
const ms = (x: number) => (x >= 100 ? fmt(x) : x >= 10 ? fmt(x, 1) : fmt(x, 2));

/** The interactive queries: a Logs page view waits for these (export and the capped counts are background or secondary). */
const INTERACTIVE = ['new1h', 'new1d', 's500_1h', 's500_1d', 'page2', 'deep', 'small1d', 's500sm', 'q1h', 'tail'];

function report(results: VariantResult[], rows: number, hours: number, say: (line: string) => void): void {
  const base = results.find((r) => r.variant.name === 'btree_today');
  const perM = (r: VariantResult) => (r.load.cpu / rows) * 1e6;
  const rounds = results[0]?.rounds.length ?? 0;
  say(`\nWrite cost, median of ${rounds} load(s) (× = ratio to btree_today; CPU range = lowest–highest load)`);
  say(
    table(
      ['variant', 'rows/s', '×', 'CPU s/1M', '×', 'CPU range', 'WAL B/row', '×', 'index MB', '×', 'vacuum s', 'leaf fill'],
      results.map((r) => [
        r.variant.name,
        fmt(rows / r.load.seconds),
        ratio(rows / r.load.seconds, base && rows / base.load.seconds),
        fmt(perM(r), 2),
        ratio(perM(r), base && perM(base)),
        `${fmt((r.cpuRange[0] / rows) * 1e6, 2)}–${fmt((r.cpuRange[1] / rows) * 1e6, 2)}`,
        fmt(r.load.wal / rows),
        ratio(r.load.wal, base?.load.wal),
        fmt(r.size.index / 1e6, 1),
        ratio(r.size.index, base?.size.index),
        fmt(r.vacuum.seconds, 1),
        r.size.leafDensity === null ? '' : `${fmt(r.size.leafDensity)} %`,
      ]),
    ),
  );
  const keys = [...(results[0]?.queries.keys() ?? [])];
  say('\nQuery median ms');
  say(table(['variant', ...keys], results.map((r) => [r.variant.name, ...keys.map((k) => ms(r.queries.get(k)!.median))])));
  say('\nQuery p95 ms');
  say(table(['variant', ...keys], results.map((r) => [r.variant.name, ...keys.map((k) => ms(r.queries.get(k)!.p95))])));
  if (base) {
    say('\nQuery median, ratio to btree_today');
    say(table(['variant', ...keys], results.map((r) => [r.variant.name, ...keys.map((k) => ratio(r.queries.get(k)!.median, base.queries.get(k)!.median))])));
  }
  say('\nQueries:');
  for (const [key, about] of results[0]?.about ?? []) say(`  ${key.padEnd(8)} ${about}`);
  say('\nVariants:');
  for (const r of results) say(`  ${r.variant.name.padEnd(12)} ${r.variant.about}`);
  say(
    '  Leaf fill: a B-tree page that fills in the middle of the index splits 50:50. PostgreSQL splits "after the new item" ' +
      '(leaving the left page full) only for tuples no wider than two int8 keys (nbtsplitloc.c, _bt_afternewitemoff); a uuid ' +
      'org_id with ts is wider, so the per-organisation B-trees stay about half full whatever their order or fillfactor. ' +
      'An index led by ts grows at its right edge and splits by fillfactor (90 %).',
  );
  if (!base) return;

  // The rule the recommendation applies: cheaper to write by ≥ 10 % of backend CPU, and no
  // interactive query's median over 2× today's and 20 ms at once.
  const verdicts = results
    .filter((r) => r !== base && r.variant.indexes.length > 0)
    .map((r) => {
      const slower = INTERACTIVE.filter((k) => {
        const m = r.queries.get(k)!.median;
        const b = base.queries.get(k)!.median;
        return m > 2 * b && m > 20;
      });
      return { r, cpuGain: 1 - perM(r) / perM(base), cores: ((perM(base) - perM(r)) / 1e6) * 100_000, slower };
    });
  const paying = verdicts.filter((v) => v.cpuGain >= 0.1 && v.slower.length === 0).sort((a, b) => b.cpuGain - a.cpuGain);
  const none = results.find((r) => r.variant.indexes.length === 0);
  if (none) {
    say(
      `\nIndex upkeep today: ${fmt(perM(base) - perM(none), 2)} s of backend CPU per million rows (${fmt((1 - perM(none) / perM(base)) * 100)} % of the COPY backend's CPU, ` +
        `${fmt(((perM(base) - perM(none)) / 1e6) * 100_000, 2)} core at 100,000 rows/s) and ${fmt((base.load.wal - none.load.wal) / rows)} WAL bytes per row: the most any index change can save.`,
    );
  }
  say('\nRecommendation (rule: ≥ 10 % less backend CPU per row than btree_today, and no interactive query median both > 2× today and > 20 ms):');
  for (const v of verdicts) {
    say(
      `  ${v.r.variant.name.padEnd(12)} CPU ${v.cpuGain >= 0 ? '-' : '+'}${fmt(Math.abs(v.cpuGain) * 100)} % (${fmt(Math.abs(v.cores), 2)} core ${v.cores >= 0 ? 'less' : 'more'} at 100,000 rows/s), ` +
        `WAL ${fmt(v.r.load.wal / rows)} B/row, index ${fmt(v.r.size.index / 1e6, 1)} MB` +
        (v.slower.length ? `; too slow: ${v.slower.map((k) => `${k} ${ms(v.r.queries.get(k)!.median)} ms`).join(', ')}` : '; interactive queries within bounds'),
    );
  }
  // A BRIN (or no) index reads the whole window of every tenant: its cost per million rows in the window says what a busier day costs.
  const dayRows = (rows * Math.min(24, hours)) / hours;
  for (const r of results.filter((x) => x.variant.indexes.length === 0 || x.variant.name.startsWith('brin'))) {
    const perMillion = r.queries.get('new1d')!.median / (dayRows / 1e6);
    say(
      `  ${r.variant.name.padEnd(12)} newest 50 of a day: ${ms(r.queries.get('new1d')!.median)} ms for ${fmt(dayRows)} rows in the window = ${fmt(perMillion)} ms per million rows ` +
        `(a day of 10 million rows: about ${fmt(perMillion * 10)} ms); btree_today: ${ms(base.queries.get('new1d')!.median)} ms whatever the volume`,
    );
  }
  const best = paying[0];
  say(
    best
      ? `  → ${best.r.variant.name} pays: ${fmt(best.cpuGain * 100)} % less backend CPU per row at write time with the interactive queries still within bounds.`
      : '  → no variant pays by this rule: keep the B-tree.',
  );
  say(
    '  Where cost grows with data volume: a BRIN index only narrows the scan to the block ranges of the time window; every row of every ' +
      'organisation in those ranges is read, filtered on org_id and top-N sorted, so "newest 50" costs in proportion to the rows of the ' +
      'whole window (all tenants), a small tenant pays for the large ones, a keyset page costs as much as the first page of its window, and ' +
      "retention's export pages (ORDER BY ts, id LIMIT 5000 with a keyset) each re-read the rest of the partition. A B-tree on (org_id, ts, …) " +
      'reads about the 50 rows it returns, whatever the volume.',
  );
}

// ---------------------------------------------------------------------------------------------

/**
 * Loads the same rows under each index variant and measures write and query cost.
 * Flags (with `=`): --rows=2000000 --hours=24 --runs=15 --batch=8000 --rounds=3 --variants=a,b.
 */
export async function benchIndexes(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    allowPositionals: true,
    options: {
      rows: { type: 'string', default: '2000000' },
      hours: { type: 'string', default: '24' },
      runs: { type: 'string', default: '15' },
      batch: { type: 'string', default: '8000' },
      rounds: { type: 'string', default: '3' },
      variants: { type: 'string', default: VARIANTS.map((v) => v.name).join(',') },
    },
  });
  const num = (name: 'rows' | 'hours' | 'runs' | 'batch' | 'rounds', min: number) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}=${String(values[name])}: expected a number ≥ ${min}`);
    return n;
  };
  const rows = Math.floor(num('rows', 10_000));
  const hours = num('hours', 2);
  const runs = Math.floor(num('runs', 1));
  const batch = Math.floor(num('batch', 1));
  const roundCount = Math.floor(num('rounds', 1));
  const names = String(values.variants).split(',').filter(Boolean);
  const unknown = names.filter((n) => !VARIANTS.some((v) => v.name === n));
  if (unknown.length) throw new Error(`--variants: unknown ${unknown.join(', ')}; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  const chosen = VARIANTS.filter((v) => names.includes(v.name));
  const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const say = (line: string) => console.log(line);

  const t0 = performance.now();
  const data = dataSet(rows, hours, batch);
  say(
    `data: ${fmt(rows)} rows over ${hours} h ending ${new Date(END).toISOString()} (${fmt(rows / hours)} rows/h, ${ORGS.length} orgs, largest ${fmt(ORG_SHARES[0]! * 100)} %, smallest ${fmt(ORG_SHARES.at(-1)! * 100)} %), ` +
      `${data.batches.length} COPY batches of ${fmt(batch)}, ${fmt(data.bytes / rows)} B/row of COPY text, partitions ${data.days.join(', ')}; generated in ${fmt((performance.now() - t0) / 1000, 1)} s`,
  );
  say(`database: ${new URL(baseUrl).host}; write figures are medians of ${roundCount} load(s) per variant; ${runs} timed runs per query after one warm-up (5 for "none")`);
  // Rounds interleave the variants, so a slow spell of the machine touches all of them alike; the
  // queries are measured once, on the last round's table.
  const rounds = new Map<string, Round[]>(chosen.map((v) => [v.name, []]));
  for (let round = 1; round < roundCount; round++) {
    say(`\nwrite round ${round} of ${roundCount}`);
    for (const variant of chosen) {
      say(`${variant.name}:`);
      rounds.get(variant.name)!.push((await runVariant(baseUrl, variant, data, hours, say)).round);
    }
  }
  say(`\nwrite round ${roundCount} of ${roundCount}, then the queries`);
  const results: VariantResult[] = [];
  for (const variant of chosen) {
    say(`\n${variant.name}: ${variant.about}`);
    const last = await runVariant(baseUrl, variant, data, hours, say, runs);
    const all = [...rounds.get(variant.name)!, last.round];
    const mid = (f: (r: Round) => number) => median(all.map(f));
    const cpus = all.map((r) => r.load.cpu);
    results.push({
      variant,
      rounds: all,
      load: { seconds: mid((r) => r.load.seconds), cpu: mid((r) => r.load.cpu), wal: mid((r) => r.load.wal) },
      vacuum: { seconds: mid((r) => r.vacuum.seconds), cpu: mid((r) => r.vacuum.cpu), wal: mid((r) => r.vacuum.wal) },
      size: last.round.size,
      cpuRange: [Math.min(...cpus), Math.max(...cpus)],
      queries: last.queries!,
      about: last.about!,
    });
  }
  report(results, rows, hours, say);
}
