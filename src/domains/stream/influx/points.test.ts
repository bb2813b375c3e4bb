import { describe, expect, it } from 'vitest';
import { addHost, addLatency, emptyHosts, emptyLatency } from '../sketch.js';
import { formatPoint } from './line-protocol.js';
import { changedBuckets, chunk, countPoint, groupBuckets, sendWindow, summaryPoint, type BucketTotal } from './points.js';

const bucket = new Date('2024-05-01T12:00:10Z');

describe('InfluxDB points from traffic rows', () => {
  it('writes a count row as a vigil_traffic point with integer counters, in seconds', () => {
    const line = formatPoint(
      countPoint({ org_id: 'o-1', bucket, service: 'shop api', section: '/cart', status_class: '5xx', method: 'POST', hits: '7', bytes: 1234, duration_count: '7', duration_sum_ms: 301.5 }),
    );
    expect(line).toBe('vigil_traffic,method=POST,org=o-1,section=/cart,service=shop\\ api,status_class=5xx hits=7i,bytes=1234i,duration_count=7i,duration_sum_ms=301.5 1714564810');
  });

  it('leaves out dimensions the events did not have', () => {
    const line = formatPoint(countPoint({ org_id: 'o', bucket, service: '', section: '/', status_class: '', method: '', hits: 1, bytes: 0, duration_count: 0, duration_sum_ms: 0 }));
    expect(line).toBe('vigil_traffic,org=o,section=/ hits=1i,bytes=0i,duration_count=0i,duration_sum_ms=0 1714564810');
  });

  it('keeps counters beyond 2^53 exact', () => {
    const line = formatPoint(countPoint({ org_id: 'o', bucket, service: 's', section: '/', status_class: '2xx', method: 'GET', hits: '9007199254740993', bytes: '0', duration_count: '0', duration_sum_ms: 0 }));
    expect(line).toContain('hits=9007199254740993i');
  });

  it('summarises a sketch as distinct hosts and latency percentiles, without percentiles when nothing was timed', () => {
    const hosts = emptyHosts();
    for (const h of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) addHost(hosts, h);
    const latency = emptyLatency();
    for (let i = 0; i < 99; i++) addLatency(latency, 10);
    addLatency(latency, 2000);
    const point = summaryPoint({ org_id: 'o', bucket, hosts, latency: latency.map(String) });
    expect(point.fields.hosts).toBe(3n);
    expect(point.fields.latency_p50_ms).toBeGreaterThan(8);
    expect(point.fields.latency_p50_ms).toBeLessThan(12);
    expect(point.fields.latency_p99_ms).toBeLessThan(12);
    expect(summaryPoint({ org_id: 'o', bucket, hosts, latency: emptyLatency() }).fields.latency_p50_ms).toBeNull();
    expect(formatPoint(summaryPoint({ org_id: 'o', bucket, hosts, latency: emptyLatency() }))).toBe('vigil_traffic_summary,org=o hosts=3i 1714564810');
  });
});

describe('what to send', () => {
  const total = (bucketMs: number, hits: string, rows = 1): BucketTotal => ({ bucketMs, hits, rows });

  it('picks the buckets whose hit total changed or that were never sent', () => {
    const sent = new Map([
      [0, '5'],
      [10_000, '3'],
    ]);
    expect(changedBuckets([total(0, '5'), total(10_000, '4'), total(20_000, '1')], sent).map((t) => t.bucketMs)).toEqual([10_000, 20_000]);
  });

  it('looks back one lateness window from the last pass, up to the last final bucket', () => {
    // Watermark 100 s: the bucket labelled 90 s (seconds 90…99) is the last final one.
    expect(sendWindow(60_000, 100_000, 30_000, 10_000)).toEqual({ fromMs: 20_000, toMs: 90_000 });
    // After a start there is no cursor: the lateness window behind the watermark.
    expect(sendWindow(undefined, 100_000, 30_000, 10_000)).toEqual({ fromMs: 60_000, toMs: 90_000 });
  });

  it('covers every bucket a late event can revise after a pass', () => {
    // A pass at watermark C sent every final bucket. A late event at watermark W ≥ C revises the
    // bucket of second s when s + lateness ≥ W (clock.ts); its 10 s label must be in the next window.
    const lateness = 30_000;
    for (const cursor of [100_000, 105_000, 109_999]) {
      for (let w = cursor; w < cursor + 50_000; w += 2_500) {
        const window = sendWindow(cursor, w, lateness, 10_000);
        for (let second = Math.ceil((w - lateness) / 1000); second * 1000 < w; second++) {
          const label = Math.floor(second / 10) * 10_000;
          expect(label).toBeGreaterThanOrEqual(window.fromMs);
        }
      }
    }
  });

  it('groups buckets into requests of at most the line limit, counting a summary line per bucket', () => {
    const groups = groupBuckets([total(0, '1', 2), total(1, '1', 2), total(2, '1', 2), total(3, '1', 9)], 6);
    expect(groups.map((g) => g.map((t) => t.bucketMs))).toEqual([[0, 1], [2], [3]]);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
