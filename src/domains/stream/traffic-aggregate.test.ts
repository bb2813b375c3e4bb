import { describe, expect, it } from 'vitest';
import { estimateHosts } from './sketch.js';
import { SourceBook } from './sources.js';
import { COUNTED_DURATION_MAX_MS, DIMENSION_MAX_LENGTH, aggregateBatch, bucketStartOf, countJudged, dimensionOf, type StreamEvent } from './traffic-aggregate.js';

const timing = { outOfOrderMs: 5_000, latenessMs: 300_000, idleMs: 60_000 };
const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

const hit = (offsetS: number, over: Partial<StreamEvent> = {}): StreamEvent => ({
  timestamp: T0 + offsetS * 1000,
  receivedAt: T0 + offsetS * 1000,
  service: 'web',
  host: 'h1',
  source: 'agent-a',
  method: 'GET',
  path: '/api/users',
  section: '/api',
  status: 200,
  bytes: 100,
  durationMs: 12,
  remoteAddr: '10.0.0.1',
  ...over,
});

const hitsAt = (result: ReturnType<typeof aggregateBatch>, resolution: number) =>
  result.counts.filter((c) => c.resolution === resolution).reduce((sum, c) => sum + c.hits, 0);

describe('event-time aggregation of one batch', () => {
  it('treats sources named like Object.prototype members as plain names', () => {
    const events = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'].map((source, i) => hit(i, { source }));
    const result = aggregateBatch([{ orgId: 'o', events }], new Map(), timing);
    const p = result.progress.get('o')!;
    expect([...p.sources.entries()].map(([name]) => name).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(p.watermark).toBe(T0 - timing.outOfOrderMs); // the slowest of the four sources
    const again = aggregateBatch([{ orgId: 'o', events: [hit(4, { source: '__proto__' })] }], new Map([['o', p]]), timing);
    expect(again.progress.get('o')!.sources.get('__proto__')).toEqual({ maxTs: T0 + 4000, lastReceivedAt: T0 + 4000 });
  });

  it('counts request events at every resolution, per dimension, and ignores plain log lines', () => {
    const events = [
      hit(0),
      hit(1, { status: 500 }),
      hit(2, { section: '/report', path: '/report' }),
      hit(3, { method: null, path: null, status: null }),
    ];
    const result = aggregateBatch([{ orgId: 'o', events }], new Map(), timing);
    expect(result.counted).toBe(3);
    for (const resolution of [1, 10, 60, 3600]) expect(hitsAt(result, resolution)).toBe(3);
    const tenSecond = result.counts.filter((c) => c.resolution === 10);
    expect(tenSecond.map((c) => [c.section, c.statusClass, c.hits]).sort()).toEqual([
      ['/api', '2xx', 1],
      ['/api', '5xx', 1],
      ['/report', '2xx', 1],
    ]);
    expect(result.tooLate).toEqual([[false, false, false, false]]);
  });

  it('puts a whole-second stamp in its own 1-second bucket, as the console monitor does', () => {
    expect(bucketStartOf(T0, 1)).toBe(T0);
    expect(bucketStartOf(T0 + 300, 1)).toBe(T0 + 1000);
    expect(bucketStartOf(T0 + 9_000, 10)).toBe(T0);
    expect(bucketStartOf(T0 + 10_000, 10)).toBe(T0 + 10_000);
  });

  it('moves the watermark to newest event time minus the out-of-orderness, never backwards', () => {
    const first = aggregateBatch([{ orgId: 'o', events: [hit(100)] }], new Map(), timing);
    expect(first.progress.get('o')!.watermark).toBe(T0 + 95_000);
    const second = aggregateBatch([{ orgId: 'o', events: [hit(50)] }], first.progress, timing);
    expect(second.progress.get('o')!.watermark).toBe(T0 + 95_000);
  });

  it('counts late events within the lateness and flags later ones as too late', () => {
    const start = aggregateBatch([{ orgId: 'o', events: [hit(1000)] }], new Map(), timing);
    // Watermark is T0+995 s; lateness 300 s: bucket 700 is the oldest still accepted.
    const late = aggregateBatch([{ orgId: 'o', events: [hit(990), hit(700), hit(690)] }], start.progress, timing);
    expect(late.tooLate).toEqual([[false, false, true]]);
    expect(late.counted).toBe(2);
    expect(late.progress.get('o')!.tooLate).toBe(1);
    expect(late.sketches.filter((s) => s.resolution === 10).reduce((a, s) => a + s.tooLate, 0)).toBe(1);
  });

  it('judges a message against the watermark before it, so one request may be out of order by any amount', () => {
    const result = aggregateBatch([{ orgId: 'o', events: [hit(10_000), hit(0)] }], new Map(), timing);
    expect(result.counted).toBe(2);
  });

  it('holds the watermark back for a slow source until it goes idle', () => {
    const sources = SourceBook.of(
      [
        ['fast', { maxTs: T0 + 100_000, lastReceivedAt: T0 + 100_000 }],
        ['slow', { maxTs: T0 + 40_000, lastReceivedAt: T0 + 90_000 }],
      ],
      null,
    );
    expect(sources.watermark(null, timing)).toBe(T0 + 35_000);
    sources.observe('fast', T0 + 200_000, T0 + 200_000, 1000);
    expect(sources.watermark(null, timing)).toBe(T0 + 195_000);
    expect([...sources.dropped]).toEqual(['slow']);
  });

  it('keeps organisations apart and estimates distinct client hosts', () => {
    const events = Array.from({ length: 50 }, (_, i) => hit(i % 10, { remoteAddr: `10.0.0.${i % 20}` }));
    const result = aggregateBatch(
      [
        { orgId: 'a', events },
        { orgId: 'b', events: [hit(0)] },
      ],
      new Map(),
      timing,
    );
    const a10 = result.sketches.filter((s) => s.orgId === 'a' && s.resolution === 10);
    expect(a10).toHaveLength(1);
    expect(estimateHosts(a10[0]!.hosts!)).toBe(20);
    expect(result.counts.filter((c) => c.orgId === 'b' && c.resolution === 1).map((c) => c.hits)).toEqual([1]);
  });
});

describe('values a counter row could not store', () => {
  it('cuts a service, section or method longer than DIMENSION_MAX_LENGTH, never inside a surrogate pair', () => {
    const long = `/${'x'.repeat(DIMENSION_MAX_LENGTH - 2)}🙂tail`;
    const result = aggregateBatch([{ orgId: 'o', events: [hit(0, { section: long, service: 's'.repeat(5000), method: 'M'.repeat(300) })] }], new Map(), timing);
    const row = result.counts.find((c) => c.resolution === 1)!;
    expect(row.section).toBe(long.slice(0, DIMENSION_MAX_LENGTH - 1));
    expect(row.section.length).toBe(DIMENSION_MAX_LENGTH - 1);
    expect(row.service).toBe('s'.repeat(DIMENSION_MAX_LENGTH));
    expect(row.method).toBe('M'.repeat(DIMENSION_MAX_LENGTH));
    expect(dimensionOf('/api')).toBe('/api');
    expect(dimensionOf(null)).toBe('');
  });

  it('adds at most COUNTED_DURATION_MAX_MS per event to the duration sum, so the sum stays finite', () => {
    const result = aggregateBatch([{ orgId: 'o', events: [hit(0, { durationMs: Number.POSITIVE_INFINITY }), hit(0, { durationMs: 1e308 }), hit(0, { durationMs: 5 })] }], new Map(), timing);
    const row = result.counts.find((c) => c.resolution === 1)!;
    expect(row.durationCount).toBe(3);
    expect(row.durationSumMs).toBe(2 * COUNTED_DURATION_MAX_MS + 5);
  });
});

describe('counting stored events again (countJudged)', () => {
  it('gives what aggregateBatch added for the same events, judged as it judged them', () => {
    // A second batch whose first event is too late by then, one plain log line, two organisations.
    const first = aggregateBatch([{ orgId: 'o', events: [hit(0), hit(400, { host: 'h2', remoteAddr: '10.0.0.2' })] }], new Map(), timing);
    const groups = [
      { orgId: 'o', events: [hit(1), hit(401, { status: 503, durationMs: null }), hit(402, { path: null, method: null, status: null })] },
      { orgId: 'p', events: [hit(3, { service: 'shop', bytes: 7 })] },
    ];
    const second = aggregateBatch(groups, first.progress, timing);
    expect(second.tooLate[0]).toEqual([true, false, false]);
    const rows = groups.flatMap((g, i) => g.events.map((event, j) => ({ orgId: g.orgId, tooLate: second.tooLate[i]![j]!, event })));
    const judged = countJudged(rows);
    const byKey = <T extends { orgId: string; resolution: number; bucket: number }>(list: T[], key: (t: T) => string) =>
      new Map(list.map((t) => [`${t.orgId}|${t.resolution}|${t.bucket}|${key(t)}`, t]));
    expect(byKey(judged.counts, (c) => `${c.service}|${c.section}|${c.statusClass}|${c.method}`)).toEqual(
      byKey(second.counts, (c) => `${c.service}|${c.section}|${c.statusClass}|${c.method}`),
    );
    expect(byKey(judged.sketches, () => '')).toEqual(byKey(second.sketches, () => ''));
    expect(judged.tooLate).toEqual(new Map([['o', 1]]));
  });
});
