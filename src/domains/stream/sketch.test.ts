import { describe, expect, it } from 'vitest';
import { addHost, addLatency, emptyHosts, emptyLatency, estimateHosts, latencyQuantile, mergeHosts, mergeLatency } from './sketch.js';

describe('distinct hosts (HyperLogLog)', () => {
  it('counts small sets exactly enough and large ones within a few percent', () => {
    for (const n of [1, 10, 100, 1_000, 50_000]) {
      const hosts = emptyHosts();
      for (let i = 0; i < n; i++) addHost(hosts, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      const estimate = estimateHosts(hosts);
      expect(Math.abs(estimate - n) / n).toBeLessThan(n <= 100 ? 0.05 : 0.08);
    }
  });

  it('counts repeats once and merges as a union', () => {
    const a = emptyHosts();
    const b = emptyHosts();
    for (let i = 0; i < 500; i++) addHost(a, `host-${i}`);
    for (let i = 250; i < 750; i++) addHost(b, `host-${i}`);
    for (let i = 0; i < 500; i++) addHost(a, `host-${i}`);
    mergeHosts(a, b);
    expect(Math.abs(estimateHosts(a) - 750) / 750).toBeLessThan(0.08);
    expect(estimateHosts(emptyHosts())).toBe(0);
  });
});

describe('latency histogram', () => {
  it('gives percentiles within one slot (~19 %) of the true value', () => {
    const h = emptyLatency();
    for (let ms = 1; ms <= 1000; ms++) addLatency(h, ms);
    const p50 = latencyQuantile(h, 0.5)!;
    const p99 = latencyQuantile(h, 0.99)!;
    expect(p50 / 500).toBeGreaterThan(0.8);
    expect(p50 / 500).toBeLessThan(1.2);
    expect(p99 / 990).toBeGreaterThan(0.8);
    expect(p99 / 990).toBeLessThan(1.2);
  });

  it('merges by adding counts and answers null when empty', () => {
    const a = emptyLatency();
    const b = emptyLatency();
    addLatency(a, 10, 3);
    addLatency(b, 1000, 1);
    mergeLatency(a, b.map(String));
    expect(a.reduce((x, y) => x + y, 0)).toBe(4);
    expect(latencyQuantile(a, 1)!).toBeGreaterThan(800);
    expect(latencyQuantile(emptyLatency(), 0.5)).toBeNull();
  });
});
