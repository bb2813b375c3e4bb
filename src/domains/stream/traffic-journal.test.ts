import { describe, expect, it } from 'vitest';
import { estimateHosts } from './sketch.js';
import { aggregateBatch, type StreamEvent } from './traffic-aggregate.js';
import { JournalFormatError, decodeDeltas, deltasByOrg, encodeDeltas, mergeDeltas, type Deltas } from './traffic-journal.js';

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
  durationMs: 12.5,
  remoteAddr: '10.0.0.1',
  ...over,
});

/** Rows and sketches in a canonical order, sketches as estimates and histograms, to compare two deltas. */
function canonical(d: Deltas) {
  const key = (...parts: (string | number)[]) => parts.join('|');
  return {
    counts: [...d.counts].map((r) => ({ ...r })).sort((a, b) => key(a.orgId, a.resolution, a.bucket, a.service, a.section, a.statusClass, a.method).localeCompare(key(b.orgId, b.resolution, b.bucket, b.service, b.section, b.statusClass, b.method))),
    sketches: [...d.sketches]
      .map((s) => ({ orgId: s.orgId, resolution: s.resolution, bucket: s.bucket, hosts: s.hosts ? estimateHosts(s.hosts) : null, latency: s.latency, tooLate: s.tooLate }))
      .sort((a, b) => key(a.orgId, a.resolution, a.bucket).localeCompare(key(b.orgId, b.resolution, b.bucket))),
  };
}

describe('the statistics journal', () => {
  it('reads back exactly what it wrote: counters, host sketches, latency histograms, too-late counts', () => {
    const { counts, sketches } = aggregateBatch(
      [{ orgId: 'o', events: [hit(0), hit(1, { service: 'tab\there "quoted" \\ é 🙂', remoteAddr: '10.0.0.2' }), hit(2, { status: null, method: null, durationMs: null })] }],
      new Map(),
      timing,
    );
    sketches[0]!.tooLate = 3;
    const back = decodeDeltas('o', encodeDeltas(counts, sketches));
    expect(back.counts).toEqual(counts);
    expect(back.sketches.map((s) => ({ ...s, hosts: s.hosts && [...s.hosts] }))).toEqual(sketches.map((s) => ({ ...s, hosts: s.hosts && [...s.hosts] })));
  });

  it('merges batches into what one batch of all their events adds', () => {
    const first = [hit(0), hit(0, { remoteAddr: '10.0.0.9' }), hit(11, { section: '/b' })];
    const second = [hit(0, { durationMs: 900 }), hit(12, { section: '/b', status: 503 }), hit(3700)];
    const a = aggregateBatch([{ orgId: 'o', events: first }], new Map(), timing);
    const b = aggregateBatch([{ orgId: 'o', events: second }], new Map(), timing);
    const together = aggregateBatch([{ orgId: 'o', events: [...first, ...second] }], new Map(), timing);
    const merged = mergeDeltas([a, b].map((x) => decodeDeltas('o', encodeDeltas(x.counts, x.sketches))));
    expect(canonical(merged)).toEqual(canonical(together));
    // Keys are unique, as the upsert needs.
    const keys = merged.counts.map((r) => `${r.resolution}|${r.bucket}|${r.service}|${r.section}|${r.statusClass}|${r.method}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves its inputs as they were', () => {
    const a = aggregateBatch([{ orgId: 'o', events: [hit(0)] }], new Map(), timing);
    const b = aggregateBatch([{ orgId: 'o', events: [hit(0)] }], new Map(), timing);
    const before = canonical(a);
    mergeDeltas([a, b]);
    expect(canonical(a)).toEqual(before);
  });

  it('splits a batch by organisation, one journal row each', () => {
    const r = aggregateBatch(
      [
        { orgId: 'a', events: [hit(0)] },
        { orgId: 'b', events: [hit(0), hit(1)] },
      ],
      new Map(),
      timing,
    );
    const byOrg = deltasByOrg(r);
    expect([...byOrg.keys()].sort()).toEqual(['a', 'b']);
    expect(byOrg.get('b')!.counts.filter((c) => c.resolution === 1).reduce((n, c) => n + c.hits, 0)).toBe(2);
    expect(byOrg.get('a')!.sketches.every((s) => s.orgId === 'a')).toBe(true);
  });

  it('refuses text that is not in its format instead of counting wrong', () => {
    expect(() => decodeDeltas('o', '{"c":[1,2,3],"s":[]}')).toThrow(JournalFormatError);
    expect(() => decodeDeltas('o', '{"c":[],"s":[[10,0,"AAAA",null,0]]}')).toThrow(/registers/);
    expect(() => decodeDeltas('o', 'not json')).toThrow(SyntaxError);
  });
});
