/**
 * `npm run bench -- ingest`: sustained HTTP ingest of realistic access-log events, Vigil against
 * InfluxDB 1.x on the same events, in two data shapes (few hosts; ~250k hosts with no source).
 *
 * Vigil is a separate `vigil start` process from dist/ on a fresh PostgreSQL database (statistics on,
 * whatever the build wires into ingest); InfluxDB is a throwaway influxd with its WAL fsynced before
 * each answer, as Vigil's 2xx means durable. One target runs at a time (never both servers under
 * load at once), each on a fresh server and database, loaded by the same closed-loop client.
 * Printed per shape: both side by side, the ratio Vigil/InfluxDB and whether the aims hold.
 *
 * Flags (with `=`, since bare words are benchmark names): --shape=few|many|both --target=vigil|influx|both
 * --duration=15 --warmup=3 --connections=8 --payloads=64 (the many shape uses at least 256)
 * --parse-seconds=3 --stats-wait=90 --influx-precision=ns|ms --json.
 */
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { INFLUXD } from '../test/support/influxd.js';
import { VIGIL_BIN } from '../test/support/process.js';
import { EVENTS_PER_REQUEST, MANY_MIN_PAYLOADS, SHAPES, generate, stampJson, stampLines, type Precision, type Shape, type ShapeData } from './ingest-data.js';
import { INFLUXD_DATA_SETTINGS, TARGETS, runInflux, runVigil, type RunOptions, type TargetFigures } from './ingest-targets.js';
import { fmt } from './support.js';

/** Vigil's aims, from the issue: at least InfluxDB's events/s in both shapes, within 512 MB. */
const AIM_RATIO = 1.0;
const AIM_RSS_MB = 512;

/** Source files newer than their build: the bench runs `dist/`, so it would measure old code. */
async function staleBuild(): Promise<string[]> {
  const root = join(VIGIL_BIN, '..', '..');
  const src = join(root, 'src');
  const stale: string[] = [];
  for (const entry of await readdir(src, { recursive: true })) {
    // What tsconfig.json leaves out of the build: tests and their support files.
    if (!entry.endsWith('.ts') || entry.endsWith('.test.ts') || entry.endsWith('test-support.ts') || entry.endsWith('.d.ts')) continue;
    const built = join(root, 'dist', entry.replace(/\.ts$/, '.js'));
    const [s, d] = await Promise.all([stat(join(src, entry)), stat(built).catch(() => undefined)]);
    if (!d || d.mtimeMs < s.mtimeMs) stale.push(relative(root, join(src, entry)));
  }
  return stale;
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

interface Aims {
  /** Vigil/InfluxDB events/s ≥ 1.0 (only when both ran). */
  ratio?: boolean;
  vigilPeakRss?: boolean;
  vigilRows?: boolean;
  /** Statistics equal to a recount (an absent processor counts as not met). */
  vigilStats?: boolean;
  influxRows?: boolean;
  all: boolean;
}

interface ShapeFigures {
  description: string;
  payloads: number;
  eventsPerRequest: number;
  payloadKb: { json: number; lineProtocol: number };
  /** Distinct values in the generated data; a run sends min(its events, these) of the many shape's. */
  distinct: ShapeData['distinct'];
  parseCeiling?: { eventsPerSec: number; mbPerSec: number };
  vigil?: TargetFigures;
  influx?: TargetFigures;
  /** Vigil events/s ÷ InfluxDB events/s. */
  ratio?: number;
  aims: Aims;
}

function aimsOf(vigil: TargetFigures | undefined, influx: TargetFigures | undefined, ratio: number | undefined): Aims {
  const aims: Omit<Aims, 'all'> = {
    ...(ratio !== undefined ? { ratio: ratio >= AIM_RATIO } : {}),
    ...(vigil
      ? {
          vigilPeakRss: Math.max(vigil.serverPeakRssMb.duringRun, vigil.serverPeakRssMb.lifetime) <= AIM_RSS_MB,
          vigilRows: vigil.rows.ok,
          vigilStats: vigil.stats?.status === 'ok',
        }
      : {}),
    ...(influx ? { influxRows: influx.rows.ok } : {}),
  };
  return { ...aims, all: Object.values(aims).every(Boolean) };
}

const yes = (ok: boolean | undefined, good = 'OK', bad = 'MISMATCH') => (ok ? good : bad);

/** Two columns (or one) of a side-by-side table, one row per figure. */
function table(shape: ShapeFigures): [string, ...string[]][] {
  const columns = [shape.vigil, shape.influx].filter((t): t is TargetFigures => t !== undefined);
  const row = (label: string, cell: (t: TargetFigures) => string): [string, ...string[]] => [label, ...columns.map(cell)];
  return [
    ['', ...columns.map((t) => (t.target === 'vigil' ? 'Vigil (PostgreSQL)' : 'InfluxDB'))],
    row('events/s', (t) => fmt(t.eventsPerSec)),
    row('requests/s', (t) => `${fmt(t.requestsPerSec, 1)} over ${fmt(t.seconds, 1)} s`),
    row('latency p50 / p99', (t) => `${fmt(t.latencyMs.p50, 1)} / ${fmt(t.latencyMs.p99, 1)} ms`),
    row('peak RSS (run / life)', (t) => `${fmt(t.serverPeakRssMb.duringRun)} / ${fmt(t.serverPeakRssMb.lifetime)} MB`),
    row('server cores', (t) => (t.serverCores === undefined ? '?' : `${fmt(t.serverCores, 2)}${t.postgresCores !== undefined ? ` + ${fmt(t.postgresCores, 2)} PostgreSQL` : ''}`)),
    row('events per server CPU-s', (t) => (t.eventsPerServerCpuSecond === undefined ? '?' : fmt(t.eventsPerServerCpuSecond))),
    row('client cores', (t) => fmt(t.clientCores, 2)),
    row('answers', (t) => `${fmt(t.requests)} (429/503 ${t.overloaded}, failed ${t.failed}, rejected events ${t.rejected})`),
    row('distinct hosts sent', (t) => fmt(t.distinctHostsSent)),
    row('rows (stored = acked)', (t) => `${yes(t.rows.ok)} ${fmt(t.rows.stored)} ${t.rows.ok ? '=' : '≠'} ${fmt(t.rows.acknowledged)}`),
    row('stats = recount', (t) => {
      const s = t.stats;
      if (!s) return '—';
      if (s.status === 'not available') return `not available (${s.detail})`;
      if (s.status === 'ok') return `OK, caught up ${fmt(s.catchUpSeconds ?? 0, 1)} s after load`;
      return `MISMATCH ${fmt(s.hits ?? 0)} ≠ ${fmt(s.countable ?? 0)} (too late ${fmt(s.tooLate ?? 0)}) ${s.detail}`;
    }),
  ];
}

function printShape(name: Shape, shape: ShapeFigures, say: (line: string) => void): void {
  say(`\n== shape ${name}: ${shape.description}`);
  const d = shape.distinct;
  say(`   data: ${shape.payloads} payloads × ${fmt(shape.eventsPerRequest)} events (${fmt(shape.payloadKb.json)} KB JSON, ${fmt(shape.payloadKb.lineProtocol)} KB line protocol each); distinct: ${fmt(d.hosts)} hosts, ${fmt(d.sourceKeys)} source key(s) (source ?? host), ${fmt(d.paths)} paths, ${fmt(d.clients)} client addresses, ${fmt(d.series)} InfluxDB series`);
  if (shape.parseCeiling) say(`   JSON.parse ceiling: ${fmt(shape.parseCeiling.eventsPerSec)} events/s (${fmt(shape.parseCeiling.mbPerSec)} MB/s, one thread)`);
  for (const t of [shape.vigil, shape.influx]) if (t?.firstFailure) say(`   ${t.target} first failure: ${t.firstFailure}`);
  const rows = table(shape);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) say(`   ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('   ').trimEnd()}`);
  const a = shape.aims;
  const parts = [
    ...(shape.ratio !== undefined ? [`Vigil/InfluxDB = ${shape.ratio.toFixed(2)}× (aim ≥ ${AIM_RATIO.toFixed(1)}×: ${yes(a.ratio, 'met', 'NOT MET')})`] : []),
    ...(shape.vigil
      ? [
          `Vigil peak RSS ${fmt(Math.max(shape.vigil.serverPeakRssMb.duringRun, shape.vigil.serverPeakRssMb.lifetime))} MB (aim ≤ ${AIM_RSS_MB}: ${yes(a.vigilPeakRss, 'met', 'NOT MET')})`,
          `Vigil rows ${yes(a.vigilRows)}`,
          `stats ${yes(a.vigilStats, 'OK', shape.vigil.stats?.status === 'not available' ? 'not available' : 'MISMATCH')}`,
        ]
      : []),
    ...(shape.influx ? [`InfluxDB rows ${yes(a.influxRows)}`] : []),
  ];
  say(`   ${parts.join('; ')} → ${a.all ? 'all aims hold' : 'aims NOT all met'}`);
}

export async function benchIngest(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    allowPositionals: true,
    options: {
      shape: { type: 'string', default: 'both' },
      target: { type: 'string', default: 'both' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '8' },
      payloads: { type: 'string', default: '64' },
      'parse-seconds': { type: 'string', default: '3' },
      'stats-wait': { type: 'string', default: '90' },
      'influx-precision': { type: 'string', default: 'ns' },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name: keyof typeof values, min: number, max = Infinity) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name}=${String(values[name])}: expected a number from ${min}${max < Infinity ? ` to ${max}` : ''}`);
    return n;
  };
  const oneOf = <T extends string>(name: keyof typeof values, choices: readonly T[]): T[] => {
    const v = String(values[name]);
    if (v === 'both') return [...choices];
    if (!(choices as readonly string[]).includes(v)) throw new Error(`--${name}=${v}: expected ${choices.join(', ')} or both`);
    return [v as T];
  };
  const shapes = oneOf('shape', SHAPES);
  const targets = oneOf('target', TARGETS);
  const precision = String(values['influx-precision']);
  if (precision !== 'ns' && precision !== 'ms') throw new Error(`--influx-precision=${precision}: expected ns or ms`);
  const options: RunOptions = {
    duration: num('duration', 1),
    warmup: num('warmup', 0),
    connections: Math.floor(num('connections', 1)),
    statsWait: num('stats-wait', 0),
    precision: precision as Precision,
    progress: process.stderr.isTTY,
  };
  // At most 1000 payloads: the nanosecond digits that keep InfluxDB points distinct hold the payload number in three digits.
  const payloads = Math.floor(num('payloads', 1, 1000));
  const parseSeconds = num('parse-seconds', 0.5);
  const json = values.json === true;
  const say = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

  if (targets.includes('vigil')) {
    const stale = await staleBuild();
    if (stale.length) console.error(`warning: dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): run \`npm run build\` to measure the current code`);
  }
  let influxVersion: string | undefined;
  if (targets.includes('influx')) {
    if (!INFLUXD) throw new Error('--target includes influx but influxd is not on PATH (install the Debian package influxdb, as .ci/run does)');
    influxVersion = (await promisify(execFile)(INFLUXD, ['version'])).stdout.trim();
  }
  say(
    `${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per target, one target at a time, each on a fresh server and database; ` +
      `Vigil: PostgreSQL, bus ${process.env.NATS_URL ? 'NATS' : 'in-process'}` +
      (influxVersion ? `; ${influxVersion}: WAL fsync per write, ${Object.entries(INFLUXD_DATA_SETTINGS).map(([k, v]) => `${k} = ${v}`).join(', ')}, precision=${options.precision}` : ''),
  );

  const report: Partial<Record<Shape, ShapeFigures>> = {};
  for (const shape of shapes) {
    const data = generate(shape, shape === 'many' ? Math.max(payloads, MANY_MIN_PAYLOADS) : payloads);
    const now = Date.now();
    const jsonBodies = data.templates.map((t) => stampJson(t, now));
    const lineKb = data.templates.reduce((s, t, k) => s + Buffer.byteLength(stampLines(t, k, now, options.precision)), 0) / data.templates.length / 1024;
    const figures: ShapeFigures = {
      description: data.description,
      payloads: data.templates.length,
      eventsPerRequest: EVENTS_PER_REQUEST,
      payloadKb: { json: jsonBodies.reduce((s, b) => s + Buffer.byteLength(b), 0) / jsonBodies.length / 1024, lineProtocol: lineKb },
      distinct: data.distinct,
      aims: { all: false },
    };
    // Before any server starts, so the ceiling is measured on a machine not busy with our own load.
    if (targets.includes('vigil')) figures.parseCeiling = parseCeiling(jsonBodies, parseSeconds);
    jsonBodies.length = 0;
    if (targets.includes('vigil')) figures.vigil = await runVigil(data, options);
    if (targets.includes('influx')) figures.influx = await runInflux(data, options);
    if (figures.vigil && figures.influx) figures.ratio = figures.vigil.eventsPerSec / figures.influx.eventsPerSec;
    figures.aims = aimsOf(figures.vigil, figures.influx, figures.ratio);
    report[shape] = figures;
    printShape(shape, figures, say);
  }

  if (shapes.length > 1 && targets.length > 1) {
    say(`\nsummary: ${shapes.map((s) => `${s} ${report[s]!.ratio!.toFixed(2)}×`).join(', ')} Vigil/InfluxDB → ${shapes.every((s) => report[s]!.aims.all) ? 'all aims hold' : 'aims NOT all met'}`);
  }
  if (json) {
    console.log(
      JSON.stringify({
        settings: { ...options, progress: undefined, payloads, eventsPerRequest: EVENTS_PER_REQUEST, influx: influxVersion, influxdData: INFLUXD_DATA_SETTINGS, bus: process.env.NATS_URL ? 'nats' : 'in-process', store: 'postgres', aims: { ratio: AIM_RATIO, vigilPeakRssMb: AIM_RSS_MB } },
        shapes: report,
      }),
    );
  }
}
