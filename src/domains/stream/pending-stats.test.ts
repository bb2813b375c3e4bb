import { describe, expect, it } from 'vitest';
import { PendingStats } from './pending-stats.js';
import { addHost, emptyHosts, emptyLatency, addLatency, estimateHosts } from './sketch.js';
import { SourceBook } from './sources.js';
import type { CountRow, OrgProgress, SketchDelta } from './traffic-aggregate.js';

const count = (over: Partial<CountRow>): CountRow => ({
  orgId: 'o',
  resolution: 60,
  bucket: 0,
  service: 'web',
  section: '/api',
  statusClass: '2xx',
  method: 'GET',
  hits: 1,
  bytes: 10,
  durationCount: 1,
  durationSumMs: 5,
  ...over,
});

const sketch = (hosts: string[], latency: number[], tooLate = 0): SketchDelta => {
  const h = emptyHosts();
  for (const host of hosts) addHost(h, host);
  const l = emptyLatency();
  for (const ms of latency) addLatency(l, ms);
  return { orgId: 'o', resolution: 10, bucket: 0, hosts: h, latency: l, tooLate };
};

const progress = (watermark: number): OrgProgress => ({ watermark, sources: SourceBook.empty(), tooLate: 0 });

describe('statistics waiting to be written', () => {
  it('merges the batches: counters add up per key, sketches merge per bucket, the newest progress wins', () => {
    const pending = new PendingStats();
    expect(pending.empty).toBe(true);
    const firstSketch = sketch(['a', 'b'], [10]);
    pending.add({ counts: [count({}), count({ method: 'POST' })], sketches: [firstSketch], progress: new Map([['o', progress(1000)]]) });
    pending.add({ counts: [count({ hits: 2, bytes: 5, durationSumMs: 1 })], sketches: [sketch(['b', 'c'], [20], 1)], progress: new Map([['o', progress(2000)]]) });
    expect(pending.empty).toBe(false);
    expect(pending.batches).toBe(2);
    expect(pending.countRows).toBe(2);
    const rows = pending.rows();
    expect(rows.counts.find((c) => c.method === 'GET')).toMatchObject({ hits: 3, bytes: 15, durationCount: 2, durationSumMs: 6 });
    expect(rows.counts.find((c) => c.method === 'POST')).toMatchObject({ hits: 1 });
    expect(rows.sketches).toHaveLength(1);
    expect(Math.round(estimateHosts(rows.sketches[0]!.hosts!))).toBe(3);
    expect(rows.sketches[0]!.tooLate).toBe(1);
    expect(rows.progress.get('o')!.watermark).toBe(2000);
    // The batch's own rows are left as they were (a batch may be written alone, as a trial).
    expect(Math.round(estimateHosts(firstSketch.hosts!))).toBe(2);
  });

  it('keeps what each organisation stored, and forgets all of it when cleared', () => {
    const pending = new PendingStats();
    pending.noteStored('o', 3, 1000);
    pending.noteStored('o', 2, 900);
    expect(pending.stored.get('o')).toEqual({ count: 5, newest: 1000 });
    pending.add({ counts: [count({})], sketches: [], progress: new Map() });
    pending.clear();
    expect(pending.empty).toBe(true);
    expect(pending.rows()).toEqual({ counts: [], sketches: [], progress: new Map() });
    expect(pending.stored.size).toBe(0);
  });
});
