import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrafficMonitor, type MonitorDecision, type StatsDecision, type TrafficMonitorOptions } from './traffic-monitor.js';
import type { TrafficEvent } from './traffic-stats.js';

const T0 = 1_549_573_800; // a multiple of 10 and of 120

function ev(time: number, extra: Partial<TrafficEvent> = {}): TrafficEvent {
  return { time, section: '/api', status: 200, bytes: 100, host: '10.0.0.1', ...extra };
}

function many(n: number, time: number, extra: Partial<TrafficEvent> = {}): TrafficEvent[] {
  return Array.from({ length: n }, () => ev(time, extra));
}

function run(options: TrafficMonitorOptions, events: TrafficEvent[], end = true): MonitorDecision[] {
  const m = new TrafficMonitor(options);
  const out = m.pushAll(events);
  if (end) out.push(...m.end());
  return out;
}

const transitions = (ds: MonitorDecision[]) => ds.filter((d) => d.type !== 'stats').map((d) => [d.type, d.time, d.hits]);
const stats = (ds: MonitorDecision[]) => ds.filter((d): d is StatsDecision => d.type === 'stats');

describe('TrafficMonitor: which events count at time t', () => {
  // window 10 s, threshold 1/s: the alert needs more than 10 hits in (t-10, t].
  const opts = { window: 10, threshold: 1, statsInterval: 10 };

  it('counts the window (t-window, t]: an event at t-window is out, one at t-window+1 is in', () => {
    // 5 hits at T0+1 and 5 at T0+10: 10 hits in (T0, T0+10], not above 10.
    const base = [...many(5, T0 + 1), ...many(5, T0 + 10)];
    const later = ev(T0 + 100); // runs the checks on past T0+10
    expect(transitions(run(opts, [...base, ev(T0), later]))).toEqual([]); // T0 is outside (T0, T0+10]
    // One more at T0+1 makes 11 in (T0, T0+10]: alert at T0+10; at T0+11 the T0+1 hits leave.
    expect(transitions(run(opts, [...base, ev(T0 + 1), later]))).toEqual([
      ['alert', T0 + 10, 11],
      ['recover', T0 + 11, 5],
    ]);
  });

  it('recovers exactly `window` seconds after a burst, at the first second whose window no longer holds it', () => {
    expect(transitions(run(opts, [...many(11, T0 + 5), ev(T0 + 100)]))).toEqual([
      ['alert', T0 + 5, 11],
      ['recover', T0 + 15, 0],
    ]);
  });

  it('runs the check at t once the watermark passes t: when an event at t + outOfOrder + 1 arrives', () => {
    const m = new TrafficMonitor({ ...opts, outOfOrder: 5 });
    expect(m.pushAll(many(11, T0 + 5))).toEqual([]);
    expect(m.push(ev(T0 + 10))).toEqual([]); // watermark T0+5: bucket T0+5 not final yet
    expect(m.checked).toBeNull();
    const ds = m.push(ev(T0 + 11)); // watermark T0+6 > T0+5
    expect(transitions([...ds])).toEqual([['alert', T0 + 5, 11]]);
    expect(m.checked).toBe(T0 + 5);
    expect(m.alertActive).toBe(true);
  });

  it('averages over the whole window from the first event on (no traffic before the log starts)', () => {
    // 12 hits in the first second: 12/10 = 1.2/s > 1.
    expect(transitions(run(opts, many(12, T0 + 3)))[0]).toEqual(['alert', T0 + 3, 12]);
  });

  it('never alerts twice without a recovery in between', () => {
    const events = [...many(20, T0 + 1), ...many(20, T0 + 5), ...many(20, T0 + 9), ...many(20, T0 + 13), ev(T0 + 100)];
    const ts = transitions(run(opts, events));
    expect(ts.map((t) => t[0])).toEqual(['alert', 'recover']);
  });
});

describe('TrafficMonitor: statistics', () => {
  it('emits stats at each multiple of the interval for (t-10, t] with top sections, status classes, error rate, bytes and hosts', () => {
    const events = [
      ev(T0 + 1, { section: '/api', status: 200, bytes: 10, host: 'a' }),
      ev(T0 + 2, { section: '/api', status: 500, bytes: 20, host: 'b' }),
      ev(T0 + 10, { section: '/report', status: 404, bytes: 30, host: 'a' }),
      ev(T0 + 10, { section: '/api', status: 301, bytes: 40, host: 'a' }),
      ev(T0 + 11, { section: '/zzz', status: 200, bytes: 1, host: 'c' }),
      ev(T0 + 30), // finalises T0+10 and T0+20
    ];
    const m = new TrafficMonitor({ window: 120, threshold: 10, top: 2 });
    const out = m.pushAll(events);
    expect(out).toEqual([
      {
        type: 'stats',
        time: T0 + 10,
        hits: 4,
        average: 4 / 120,
        interval: 10,
        requests: 4,
        sections: [
          { section: '/api', hits: 3 },
          { section: '/report', hits: 1 },
        ],
        status: { '1xx': 0, '2xx': 1, '3xx': 1, '4xx': 1, '5xx': 1 },
        errorRate: 0.25,
        bytes: 100,
        hosts: 2,
        late: 0,
      },
      expect.objectContaining({ type: 'stats', time: T0 + 20, hits: 5, requests: 1, sections: [{ section: '/zzz', hits: 1 }], hosts: 1 }),
    ]);
  });

  it('emits the unfinished last interval at end(), up to the last second seen', () => {
    const out = run({}, [ev(T0 + 1), ev(T0 + 12), ev(T0 + 14)]);
    expect(stats(out).map((s) => [s.time, s.interval, s.requests, s.hits])).toEqual([
      [T0 + 10, 10, 1, 1],
      [T0 + 14, 4, 2, 3],
    ]);
  });

  it('is silent through quiet stretches (nothing in the interval nor the window) and resumes after', () => {
    const out = run({ window: 20, threshold: 0.1 }, [...many(5, T0 + 1), ...many(3, T0 + 3600)]);
    expect(stats(out).map((s) => s.time)).toEqual([T0 + 10, T0 + 20, T0 + 3600]);
    expect(transitions(out)).toEqual([
      ['alert', T0 + 1, 5],
      ['recover', T0 + 21, 0],
      ['alert', T0 + 3600, 3],
    ]);
  });

  it('end() is idempotent and push() after it is an error', () => {
    const m = new TrafficMonitor();
    m.push(ev(T0));
    expect(m.end().length).toBeGreaterThan(0);
    expect(m.end()).toEqual([]);
    expect(() => m.push(ev(T0 + 1))).toThrow(/after end/);
    expect(new TrafficMonitor().end()).toEqual([]);
  });

  it('refuses a non-finite event time', () => {
    expect(() => new TrafficMonitor().push(ev(Number.NaN))).toThrow(RangeError);
  });
});

describe('TrafficMonitor: out-of-order and late events', () => {
  it('gives the same results for events up to outOfOrder seconds out of order as for sorted ones', () => {
    const sorted = [1, 3, 4, 5, 8, 9, 12].map((o) => ev(T0 + o));
    // Each event is at most 5 s older than the newest before it: all on time.
    const shuffled = [4, 1, 3, 8, 5, 12, 9].map((o) => ev(T0 + o));
    const m = new TrafficMonitor({ window: 10, threshold: 0.1 });
    m.pushAll(shuffled);
    expect(m.counters.late).toBe(0);
    expect(run({ window: 10, threshold: 0.1 }, shuffled)).toEqual(run({ window: 10, threshold: 0.1 }, sorted));
  });

  it('counts a late event in the checks still to run and re-emits the stats of its interval', () => {
    const m = new TrafficMonitor({ window: 120, statsInterval: 10, threshold: 10, outOfOrder: 5, lateness: 300 });
    m.pushAll([ev(T0 + 1), ev(T0 + 2)]);
    const first = m.push(ev(T0 + 16)); // watermark T0+11: stats T0+10 emitted
    expect(stats([...first]).map((s) => [s.time, s.requests, s.revision])).toEqual([[T0 + 10, 2, undefined]]);
    expect(m.push(ev(T0 + 3, { section: '/late' }))).toEqual([]); // bucket T0+3 < watermark: late
    expect(m.counters).toEqual({ events: 4, late: 1, tooLate: 0 });
    const next = m.push(ev(T0 + 17)); // watermark moves: the revision comes out
    expect(stats([...next])).toEqual([expect.objectContaining({ time: T0 + 10, requests: 3, hits: 3, late: 1, revision: true })]);
    const rest = [...m.pushAll([ev(T0 + 40)]), ...m.end()];
    // The late event counts in later windows: at T0+20 the window holds T0+1,2,3,16,17.
    expect(stats(rest).find((s) => s.time === T0 + 20)?.hits).toBe(5);
  });

  it('counts events older than the allowed lateness as too late, and nowhere else', () => {
    const m = new TrafficMonitor({ outOfOrder: 5, lateness: 10 });
    m.pushAll([ev(T0 + 100), ev(T0 + 84)]); // watermark T0+95: 84 + 10 < 95
    expect(m.counters).toEqual({ events: 1, late: 0, tooLate: 1 });
    const out = m.end();
    expect(stats([...out]).reduce((n, s) => n + s.requests, 0)).toBe(1);
  });

  it('starts the checks at the earliest bucket seen, even one that arrived late before the first check', () => {
    // T0+100 comes first; T0+90 is beyond the out-of-orderness but arrives before any check ran.
    const m = new TrafficMonitor({ window: 10, threshold: 0.05, outOfOrder: 5 });
    const out = [...m.pushAll([ev(T0 + 100), ev(T0 + 90)]), ...m.end()];
    expect(m.counters).toEqual({ events: 2, late: 1, tooLate: 0 });
    expect(transitions(out)).toEqual([['alert', T0 + 90, 1]]);
    expect(stats(out).map((s) => [s.time, s.requests, s.hits])).toEqual([
      [T0 + 90, 1, 1],
      [T0 + 100, 1, 1],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties against a recount: the reference below recomputes everything from the sorted
// events with the documented definitions, knowing nothing of watermarks or running sums.

interface Reference {
  transitions: [string, number, number][];
  stats: [number, number, number, number][]; // time, interval, requests, hits
}

function reference(times: number[], window: number, interval: number, threshold: number): Reference {
  const counts = new Map<number, number>();
  for (const t of times) counts.set(Math.ceil(t), (counts.get(Math.ceil(t)) ?? 0) + 1);
  const first = Math.min(...counts.keys());
  const last = Math.max(...counts.keys());
  const sum = (from: number, to: number) => {
    let n = 0;
    for (let s = from; s <= to; s++) n += counts.get(s) ?? 0;
    return n;
  };
  const out: Reference = { transitions: [], stats: [] };
  let active = false;
  for (let t = first; t <= last; t++) {
    const hits = sum(t - window + 1, t);
    if (t % interval === 0) {
      const requests = sum(t - interval + 1, t);
      if (requests > 0 || hits > 0) out.stats.push([t, interval, requests, hits]);
    }
    if (hits > threshold * window !== active) {
      active = !active;
      out.transitions.push([active ? 'alert' : 'recover', t, hits]);
    }
  }
  if (last % interval !== 0) {
    const from = Math.floor(last / interval) * interval;
    out.stats.push([last, last - from, sum(from + 1, last), sum(last - window + 1, last)]);
  }
  return out;
}

/** Events at random whole or fractional seconds, arriving at most `disorder` seconds out of order. */
const boundedDisorder = (disorder: number) =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 900 }), fc.boolean(), fc.double({ min: 0, max: disorder, noNaN: true })), { minLength: 1, maxLength: 400 })
    .map((items) => {
      const withArrival = items.map(([offset, fractional, jitter]) => {
        const time = T0 + offset - (fractional ? 0.5 : 0);
        return { time, arrival: time + jitter };
      });
      withArrival.sort((a, b) => a.arrival - b.arrival);
      return withArrival.map((x) => x.time);
    });

describe('TrafficMonitor: properties', () => {
  it('equals a recount when events are at most outOfOrder seconds out of order', () => {
    fc.assert(
      fc.property(boundedDisorder(5), fc.constantFrom(10, 30, 120), fc.constantFrom(5, 10), fc.constantFrom(0.05, 0.2, 1), (times, window, interval, threshold) => {
        const out = run({ window, statsInterval: interval, threshold, outOfOrder: 5 }, times.map((t) => ev(t)));
        const ref = reference(times, window, interval, threshold);
        expect(transitions(out)).toEqual(ref.transitions);
        expect(stats(out).map((s) => [s.time, s.interval, s.requests, s.hits])).toEqual(ref.stats);
      }),
      { numRuns: 150 },
    );
  });

  it('with late events, the last word on each interval equals a recount (lateness covering the span)', () => {
    const anyOrder = fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 300 }).map((offsets) => offsets.map((o) => T0 + o));
    fc.assert(
      fc.property(anyOrder, (times) => {
        const out = run({ window: 60, statsInterval: 10, threshold: 0.5, outOfOrder: 5, lateness: 1000 }, times.map((t) => ev(t)));
        const last = new Map<number, StatsDecision>();
        for (const s of stats(out)) last.set(s.time, s);
        const ref = reference(times, 60, 10, 0.5);
        // Every interval with requests gets its final count; its window hits may only lack late
        // events that arrived after its last revision.
        for (const [time, , requests, hits] of ref.stats) {
          if (requests === 0) continue;
          expect(last.get(time)?.requests).toBe(requests);
          expect(last.get(time)!.hits).toBeLessThanOrEqual(hits);
        }
        const ts = transitions(out).map((t) => t[0]);
        ts.forEach((type, i) => expect(type).toBe(i % 2 === 0 ? 'alert' : 'recover'));
      }),
      { numRuns: 150 },
    );
  });

  it('a snapshot taken anywhere, through JSON, resumes to exactly the same decisions', () => {
    const anyOrder = fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 300 }).map((offsets) => offsets.map((o) => ev(T0 + o, { section: `/s${o % 7}`, host: `h${o % 13}`, status: o % 5 === 0 ? 500 : 200 })));
    fc.assert(
      fc.property(anyOrder, fc.nat(), fc.constantFrom(0, 30, 300), (events, cutAt, lateness) => {
        const options = { window: 60, statsInterval: 10, threshold: 0.5, outOfOrder: 5, lateness };
        const expected = run(options, events);
        const cut = cutAt % (events.length + 1);
        const a = new TrafficMonitor(options);
        const got = a.pushAll(events.slice(0, cut));
        const b = TrafficMonitor.restore(JSON.parse(JSON.stringify(a.snapshot())));
        got.push(...b.pushAll(events.slice(cut)), ...b.end());
        expect(got).toEqual(expected);
        expect(b.counters).toEqual(countersOf(options, events));
      }),
      { numRuns: 150 },
    );
  });

  it('restore() refuses a malformed snapshot', () => {
    expect(() => TrafficMonitor.restore({ version: 2 })).toThrow();
    const good = new TrafficMonitor().snapshot();
    expect(() => TrafficMonitor.restore({ ...good, windowHits: -1 })).toThrow();
    expect(TrafficMonitor.restore(JSON.parse(JSON.stringify(good))).snapshot()).toEqual(good);
  });
});

function countersOf(options: TrafficMonitorOptions, events: TrafficEvent[]) {
  const m = new TrafficMonitor(options);
  m.pushAll(events);
  m.end();
  return m.counters;
}
