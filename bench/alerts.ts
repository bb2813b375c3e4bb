/**
 * `npm run bench -- alerts`: the log-traffic rule evaluator over a replayed range.
 *
 * 1. Engine only: BENCH_ALERT_RULES rules (default 1,000 and 5,000; a third grouped by section)
 *    stepped through BENCH_ALERT_SECONDS seconds (default 3,600) of synthetic 1-second counts
 *    (12 sections × status classes × methods, ~40 rows a second): seconds evaluated per second
 *    and the cost per rule and second.
 * 2. The evaluator end to end on an embedded store (PGlite): the same counts written with the
 *    stream processor's own statement, 1,000 rules created through the rules domain, then the
 *    evaluator catches up on the hour (reads, engine, one transaction per 600 s with the reports).
 * 3. Then live: the watermark moves one second per pass for BENCH_ALERT_LIVE passes (default 300),
 *    as when following the stream; the cost of a pass, without late events and with one late event
 *    per pass (a count added to a second 30 s back, which the evaluator must revise into the windows).
 */
import pino from 'pino';
import { ruleInput, type RuleInput, type RuleSpec } from '../src/contracts/alerting.js';
import { bootstrap } from '../src/domains/accounts/index.js';
import { RuleEngine, type CountRow, type RuleObservation, type SecondData } from '../src/domains/rules/engine.js';
import { RulesEvaluator } from '../src/domains/rules/evaluator.js';
import { createRule } from '../src/domains/rules/rules.js';
import { addCounts } from '../src/domains/stream/processor-store.js';
import { migrateToLatest, openStore } from '../src/platform/store/index.js';
import { SECTIONS, fmt, prng } from './support.js';

const SECONDS = Number(process.env.BENCH_ALERT_SECONDS ?? 3600);
const RULE_COUNTS = (process.env.BENCH_ALERT_RULES ?? '1000,5000').split(',').map(Number);
const LIVE = Number(process.env.BENCH_ALERT_LIVE ?? 300);
const T0 = 1_764_800_000;

/** Synthetic traffic: per second, each section × a few status classes and methods, with a burst every 20 minutes. */
function traffic(seconds: number): SecondData[] {
  const rnd = prng(7);
  const out: SecondData[] = [];
  for (let i = 1; i <= seconds; i++) {
    const second = T0 + i;
    const burst = i % 1200 < 120;
    const counts: CountRow[] = [];
    for (const section of SECTIONS) {
      for (const statusClass of ['2xx', '3xx', '4xx', '5xx']) {
        if (statusClass !== '2xx' && rnd() < 0.6) continue;
        const hits = Math.floor(rnd() * (burst ? 8 : 3)) + (statusClass === '2xx' ? 1 : 0);
        if (hits === 0) continue;
        counts.push({ second, service: 'shop', section, statusClass, method: rnd() < 0.8 ? 'GET' : 'POST', hits, bytes: hits * 900, durationCount: hits, durationSumMs: hits * (20 + rnd() * 200) });
      }
    }
    out.push({ second, counts });
  }
  return out;
}

const METRICS: Partial<RuleInput>[] = [
  { metric: 'requests_per_second', op: '>', threshold: 10 },
  { metric: 'error_rate', op: '>', threshold: 0.2 },
  { metric: 'bytes_per_second', op: '>', threshold: 9000 },
  { metric: 'duration_avg', op: '>', threshold: 110 },
  { metric: 'status_class_count', status_class: '4xx', op: '>', threshold: 60 },
  { metric: 'requests', op: '<', threshold: 1 },
];
const WINDOWS = ['1m', '2m', '5m', '10m'];

function ruleSet(n: number): RuleSpec[] {
  return Array.from({ length: n }, (_, i) =>
    ruleInput.parse({ name: `rule ${i}`, window: WINDOWS[i % WINDOWS.length], ...METRICS[i % METRICS.length], ...(i % 3 === 0 ? { group_by: ['section'] } : {}), ...(i % 7 === 0 ? { for: '30s' } : {}) }),
  );
}

function engineOnly(data: SecondData[], n: number): void {
  const engines = ruleSet(n).map((spec, i) => new RuleEngine(`r${i}`, spec));
  const out: RuleObservation[] = [];
  let reports = 0;
  const started = process.hrtime.bigint();
  for (let c = 0; c < data.length; c += 600) {
    for (const d of data.slice(c, c + 600)) for (const e of engines) e.step(d, out);
    for (const e of engines) e.flush(out);
    reports += out.length;
    out.length = 0;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const instances = engines.reduce((s, e) => s + e.instances, 0);
  console.log(
    `engine: ${fmt(n)} rules (${fmt(instances)} instances at the end) over ${fmt(data.length)} s of event time: ${fmt(seconds, 2)} s → ` +
      `${fmt(data.length / seconds)} event-time seconds/s, ${fmt((seconds / (data.length * n)) * 1e6, 2)} µs per rule-second; ${fmt(reports)} reports`,
  );
}

async function endToEnd(all: SecondData[], n: number): Promise<void> {
  // The first SECONDS are caught up; the rest are followed one second per pass (live).
  const data = all.slice(0, SECONDS);
  const logger = pino({ level: 'error' });
  const store = await openStore({ untenanted: 'system', dataDir: 'memory://', logger });
  try {
    await migrateToLatest(store.db);
    const org = await bootstrap(store.db, { orgName: 'bench' });
    for (let c = 0; c < all.length; c += 300) {
      const rows = all.slice(c, c + 300).flatMap((d) => d.counts.map((r) => ({ orgId: org.id, resolution: 1, bucket: r.second * 1000, service: r.service, section: r.section, statusClass: r.statusClass, method: r.method, hits: r.hits, bytes: r.bytes, durationCount: r.durationCount, durationSumMs: r.durationSumMs })));
      // One row per key: merge the few duplicate keys (same section and class, two methods drawn alike).
      const merged = new Map<string, (typeof rows)[number]>();
      for (const r of rows) {
        const key = `${r.bucket}|${r.section}|${r.statusClass}|${r.method}`;
        const had = merged.get(key);
        if (had) Object.assign(had, { hits: had.hits + r.hits, bytes: had.bytes + r.bytes, durationCount: had.durationCount + r.durationCount, durationSumMs: had.durationSumMs + r.durationSumMs });
        else merged.set(key, { ...r });
      }
      // And their 10-second rollups, written with them as the processor does (the late-event checksum reads them).
      const tens = new Map<string, (typeof rows)[number]>();
      for (const r of merged.values()) {
        const bucket = Math.floor(r.bucket / 10_000) * 10_000;
        const key = `${bucket}|${r.section}|${r.statusClass}|${r.method}`;
        const had = tens.get(key);
        if (had) Object.assign(had, { hits: had.hits + r.hits, bytes: had.bytes + r.bytes, durationCount: had.durationCount + r.durationCount, durationSumMs: had.durationSumMs + r.durationSumMs });
        else tens.set(key, { ...r, resolution: 10, bucket });
      }
      await addCounts(store.db, [...merged.values(), ...tens.values()]);
    }
    await store.db
      .insertInto('stream_progress')
      .values({ consumer: 'traffic', org_id: org.id, watermark: new Date((T0 + data.length + 1) * 1000), too_late: 0, updated_at: new Date() })
      .execute();
    for (const spec of ruleSet(n)) await createRule(store.db, org.id, spec);
    let reports = 0;
    const evaluator = new RulesEvaluator({
      db: store.db,
      logger,
      report: async (_trx, batch) => {
        reports += batch.length;
      },
      // The replayed hour is in the past: no skipping ahead, no idle advance.
      toleranceMs: (data.length + 60) * 1000,
      now: () => (T0 + data.length + 10) * 1000,
    });
    const started = process.hrtime.bigint();
    await evaluator.tick();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `evaluator on PGlite: ${fmt(n + 1)} rules (the default one too) caught up ${fmt(data.length)} s of event time in ${fmt(seconds, 2)} s → ` +
        `${fmt(data.length / seconds)} event-time seconds/s, ${fmt((seconds / (data.length * (n + 1))) * 1e6, 2)} µs per rule-second incl. reads and commits; ${fmt(reports)} reports`,
    );
    // Live: one second per pass, first without late events, then with one per pass.
    let second = T0 + data.length + 1;
    for (const late of [false, true]) {
      const passes = Math.floor((all.length - data.length) / 2);
      const ms: number[] = [];
      for (let i = 0; i < passes; i++) {
        second++;
        if (late) {
          const one = { orgId: org.id, resolution: 1, bucket: (second - 30) * 1000, service: 'shop', section: SECTIONS[0]!, statusClass: '2xx', method: 'GET', hits: 1, bytes: 900, durationCount: 1, durationSumMs: 50 };
          await addCounts(store.db, [one, { ...one, resolution: 10, bucket: Math.floor((second - 30) / 10) * 10_000 }]);
        }
        await store.db.updateTable('stream_progress').set({ watermark: new Date(second * 1000) }).where('org_id', '=', org.id).execute();
        const t = process.hrtime.bigint();
        await evaluator.tick();
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      ms.sort((a, b) => a - b);
      const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
      console.log(`evaluator live, ${late ? 'one late event per pass' : 'no late events'}: ${fmt(passes)} passes of 1 s each: ${fmt(mean, 2)} ms per pass (median ${fmt(ms[ms.length >> 1]!, 2)}, p95 ${fmt(ms[Math.floor(ms.length * 0.95)]!, 2)})`);
    }
  } finally {
    await store.close();
  }
}

export async function benchAlerts(): Promise<void> {
  const data = traffic(SECONDS + LIVE * 2);
  console.log(`${fmt(data.reduce((s, d) => s + d.counts.length, 0) / data.length, 1)} count rows per second of event time`);
  for (const n of RULE_COUNTS) engineOnly(data.slice(0, SECONDS), n);
  await endToEnd(data, RULE_COUNTS[0] ?? 1000);
}
