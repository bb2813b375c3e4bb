import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ruleInput, type RuleInput } from '../../contracts/alerting.js';
import { AccessLogParser } from '../logs/index.js';
import { RuleEngine, RuleError, type CountRow, type RuleObservation, type SecondData } from './engine.js';

const spec = (input: Partial<RuleInput>) => ruleInput.parse({ name: 'r', metric: 'requests', window: '10s', op: '>', threshold: 0, ...input });

const row = (second: number, over: Partial<CountRow> = {}): CountRow => ({
  second,
  service: 'shop',
  section: '/api',
  statusClass: '2xx',
  method: 'GET',
  hits: 1,
  bytes: 100,
  durationCount: 1,
  durationSumMs: 20,
  ...over,
});

/** Runs an engine over seconds from..to with the rows given per second; returns every report. */
function run(engine: RuleEngine, from: number, to: number, rows: CountRow[]): RuleObservation[] {
  const out: RuleObservation[] = [];
  for (let s = from; s <= to; s++) engine.step({ second: s, counts: rows.filter((r) => r.second === s) }, out);
  return out;
}
const brief = (o: RuleObservation[]) => o.map((x) => `${x.at / 1000} ${JSON.stringify(x.labels)} ${x.active ? 'on' : 'off'} ${x.value}`);

describe('the default rule (requests_per_second over 2m > 10) on the sample access log', () => {
  it('fires and recovers at the seconds `vigil monitor` prints', () => {
    const parser = new AccessLogParser();
    const bySecond = new Map<number, number>();
    const SAMPLE = fileURLToPath(new URL('../../../test/data/sample_csv.txt', import.meta.url));
    for (const line of readFileSync(SAMPLE, 'utf8').split('\n')) {
      const r = parser.parse(line);
      if (r === null || !r.ok) continue;
      const s = Math.ceil(r.record.time);
      bySecond.set(s, (bySecond.get(s) ?? 0) + 1);
    }
    const seconds = [...bySecond.keys()].sort((a, b) => a - b);
    const engine = new RuleEngine('classic', spec({ metric: 'requests_per_second', window: '2m', op: '>', threshold: 10 }));
    const out: RuleObservation[] = [];
    for (let s = seconds[0]!; s <= seconds.at(-1)!; s++) {
      const data: SecondData = { second: s, counts: [row(s, { hits: bySecond.get(s) ?? 0 })] };
      engine.step(data, out);
    }
    expect(out.map((o) => `${o.active ? 'alert' : 'recover'} ${o.at / 1000} hits=${Math.round((o.value ?? 0) * 120)}`)).toEqual([
      'alert 1549573956 hits=1206',
      'recover 1549574043 hits=1198',
      'alert 1549574163 hits=1218',
      'recover 1549574302 hits=1196',
    ]);
  });
});

describe('RuleEngine', () => {
  it('keeps one instance per group-by value and reports each change once, in time order', () => {
    const engine = new RuleEngine('e', spec({ metric: 'error_rate', group_by: ['section'], window: '5s', op: '>', threshold: 0.2 }));
    const rows = [row(1), row(1, { section: '/report' }), row(2, { statusClass: '5xx' }), row(2, { section: '/report' }), row(3, { section: '/report', statusClass: '5xx', hits: 3 })];
    const out = run(engine, 1, 10, rows);
    expect(brief(out)).toEqual([
      '2 {"section":"/api"} on 0.5',
      '3 {"section":"/report"} on 0.6',
      // (1, 6] holds no 5xx of /api: 0 of 0 → no data → ok.
      '7 {"section":"/api"} off null',
      '8 {"section":"/report"} off null',
    ]);
    expect(out[0]!.summary).toBe('error_rate 50 % > 20 % over 5s for section=/api');
    // Both groups' windows are empty and inactive: forgotten.
    expect(engine.instances).toBe(0);
  });

  it('counts a group seen in the window that sends nothing as 0: an absence rule fires per service', () => {
    const engine = new RuleEngine('a', spec({ metric: 'requests', group_by: ['service'], window: '3s', op: '<', threshold: 1 }));
    const rows = [row(1, { service: 'a' }), row(1, { service: 'b' }), ...[2, 3, 4, 5, 6].map((s) => row(s, { service: 'a' }))];
    const out = run(engine, 1, 8, rows);
    expect(brief(out)).toEqual(['4 {"service":"b"} on 0']);
    // b stays (active) though its window is empty; it resolves when b comes back.
    const back = run(engine, 9, 9, [row(9, { service: 'b' })]);
    expect(brief(back)).toEqual(['9 {"service":"a"} on 0', '9 {"service":"b"} off 1']);
  });

  it('reports the second where `for` elapses and where keep_firing_for elapses, as instance.ts needs', () => {
    const engine = new RuleEngine('f', spec({ metric: 'requests', window: '1s', op: '>', threshold: 0, for: '3s', keep_firing_for: '2s' }));
    const rows = [1, 2, 3, 4, 5, 8].map((s) => row(s));
    const out = run(engine, 1, 12, rows);
    expect(brief(out)).toEqual([
      '1 {} on 1', // pending
      '4 {} on 1', // for (3 s) elapsed: fires
      '6 {} off 0', // cleared: keep firing
      '8 {} on 1', // active again while still firing: no new occurrence
      '9 {} off 0',
      '11 {} off 0', // keep_firing_for elapsed: resolves
    ]);
  });

  it('a condition that clears before `for` elapses is reported as cleared, never as firing', () => {
    const engine = new RuleEngine('f', spec({ metric: 'requests', window: '1s', op: '>', threshold: 0, for: '5s' }));
    expect(brief(run(engine, 1, 6, [row(1), row(2)]))).toEqual(['1 {} on 1', '3 {} off 0']);
    expect(engine.counts()).toEqual({ firing: 0, pending: 0 });
  });

  it('flush() reports the latest observation of every active instance once per transaction', () => {
    const engine = new RuleEngine('x', spec({ metric: 'requests', window: '10s', op: '>', threshold: 0 }));
    const out = run(engine, 1, 3, [row(1), row(2), row(3)]);
    expect(brief(out)).toEqual(['1 {} on 1']);
    engine.flush(out);
    expect(brief(out)).toEqual(['1 {} on 1', '3 {} on 3']);
    engine.flush(out);
    expect(out).toHaveLength(2);
  });

  it('no_data: alerting makes a ratio without data active, ok keeps it inactive', () => {
    const alerting = new RuleEngine('n', spec({ metric: 'duration_avg', window: '2s', op: '>', threshold: 100, no_data: 'alerting' }));
    expect(brief(run(alerting, 1, 2, []))).toEqual(['1 {} on null']);
    const ok = new RuleEngine('n', spec({ metric: 'duration_avg', window: '2s', op: '>', threshold: 100 }));
    expect(run(ok, 1, 2, [])).toEqual([]);
  });

  it('rebuilds its windows from warm() and its mirrors from a snapshot: no transition repeated, none lost', () => {
    const s = spec({ metric: 'requests', group_by: ['section'], window: '5s', op: '>', threshold: 1 });
    const a = new RuleEngine('w', s);
    const rows = [row(1), row(2), row(3), row(3, { section: '/b' }), row(4, { section: '/b' })];
    const all = run(a, 1, 12, rows);
    const b0 = new RuleEngine('w', s);
    const first = run(b0, 1, 4, rows);
    const restored = new RuleEngine('w', s, b0.snapshot());
    for (let sec = 0; sec <= 4; sec++) restored.warm({ second: sec, counts: rows.filter((r) => r.second === sec) });
    const rest = run(restored, 5, 12, rows);
    expect(brief([...first, ...rest])).toEqual(brief(all));
  });

  it('fails with a RuleError beyond its instance cap', () => {
    const engine = new RuleEngine('c', spec({ metric: 'requests', group_by: ['section'] }), {}, 3);
    const rows = [1, 2, 3, 4].map((i) => row(1, { section: `/s${i}` }));
    expect(() => run(engine, 1, 1, rows)).toThrow(RuleError);
  });

  it('answers the raw-event metrics: p95 of durations, hosts, exact statuses', () => {
    const engine = new RuleEngine('p', spec({ metric: 'duration_percentile', percentile: 95, group_by: ['host'], filters: { status: [500, '2xx'] }, window: '2s', op: '>', threshold: 50 }));
    const ev = (second: number, host: string, durationMs: number, status = 200) => ({ second, service: 's', section: '/a', status, method: 'GET', host, message: 'm', bytes: 1, durationMs, attributes: {}, request: true });
    const out: RuleObservation[] = [];
    const events = [...Array.from({ length: 19 }, () => ev(1, 'h1', 10)), ev(1, 'h1', 900), ev(1, 'h2', 80, 500), ev(1, 'h2', 999, 404)];
    engine.step({ second: 1, counts: [], events }, out);
    expect(brief(out)).toEqual(['1 {"host":"h2"} on 80']);
    engine.step({ second: 2, counts: [], events: [ev(2, 'h1', 900)] }, out);
    expect(brief(out).at(-1)).toBe('2 {"host":"h1"} on 900');
  });
});

describe('RuleEngine.revise (late events)', () => {
  it('adds the late hits of a second still in the window to the checks still to run; checks already run stand', () => {
    const engine = new RuleEngine('late', spec({ window: '5s', op: '>', threshold: 4 }));
    const rows = [row(1), row(2), row(3), row(4)];
    const out = run(engine, 1, 4, rows);
    expect(out).toEqual([]);
    // Second 3 gets two late hits once 4 has been evaluated: the check at 4 stands (4 hits, not > 4)…
    engine.revise({ second: 3, counts: [row(3, { hits: 3 })] });
    // …the check at 5 holds 1…5: 1 + 1 + 3 + 1 + 0 = 6 > 4.
    const after = run(engine, 5, 9, rows);
    // At 7 the window 3…7 holds 3 + 1 = 4: recovered.
    expect(brief(after)).toEqual(['5 {} on 6', '7 {} off 4']);
  });

  it('replaces rather than adds, so a second revised twice counts once; a second that left the window changes nothing', () => {
    const engine = new RuleEngine('late', spec({ window: '3s', op: '>', threshold: 2 }));
    run(engine, 1, 5, [row(1), row(5)]);
    engine.revise({ second: 4, counts: [row(4, { hits: 2 })] });
    engine.revise({ second: 4, counts: [row(4, { hits: 2 })] });
    // Second 2 is out of the window ending at 5 (3…5): ignored.
    engine.revise({ second: 2, counts: [row(2, { hits: 50 })] });
    const out: RuleObservation[] = [];
    engine.step({ second: 6, counts: [] }, out);
    // Window 4…6: 2 + 1 + 0 = 3 > 2.
    expect(brief(out)).toEqual(['6 {} on 3']);
  });

  it('revises per group: an existing entry, a group without one in that second, and a new group', () => {
    const engine = new RuleEngine('late', spec({ window: '4s', op: '>=', threshold: 2, group_by: ['section'] }));
    run(engine, 1, 3, [row(1, { section: '/a' }), row(2, { section: '/b' })]);
    engine.revise({ second: 2, counts: [row(2, { section: '/b', hits: 2 }), row(2, { section: '/a' }), row(2, { section: '/c', hits: 2 })] });
    const out: RuleObservation[] = [];
    engine.step({ second: 4, counts: [] }, out);
    expect(brief(out).sort()).toEqual(['4 {"section":"/a"} on 2', '4 {"section":"/b"} on 2', '4 {"section":"/c"} on 2']);
  });

  it('revises durations for percentiles', () => {
    const engine = new RuleEngine('late', spec({ metric: 'duration_percentile', percentile: 99, window: '5s', op: '>', threshold: 100 }));
    const ev = (second: number, durationMs: number) => ({ second, service: 'shop', section: '/api', status: 200, method: 'GET', host: 'h', message: 'm', bytes: 1, durationMs, attributes: {}, request: true });
    const out: RuleObservation[] = [];
    engine.step({ second: 1, counts: [], events: [ev(1, 50)] }, out);
    engine.step({ second: 2, counts: [], events: [ev(2, 60)] }, out);
    engine.revise({ second: 1, counts: [], events: [ev(1, 50), ev(1, 500)] });
    engine.step({ second: 3, counts: [], events: [] }, out);
    expect(brief(out)).toEqual(['3 {} on 500']);
  });
});
