import { describe, expect, it } from 'vitest';
import { addHost, addLatency, emptyHosts, emptyLatency } from './sketch.js';
import {
  MAX_POINTS,
  statsCutoffs,
  StatsRequestError,
  bucketStarts,
  chooseResolution,
  chooseSketchResolution,
  defaultStep,
  foldSeries,
  lastSecondEnd,
  perBucketRates,
  planStats,
  summarise,
  topGroups,
  topSections,
} from './stats-shape.js';
import { parseDuration, parseInstant } from '../../platform/instants.js';

const NOW = 1_772_366_400; // 2026-03-01T12:00:00Z, a whole hour
const MIN = 60;
const HOUR = 3600;
const DAY = 86_400;

function planError(fn: () => unknown): StatsRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StatsRequestError) return error;
    throw error;
  }
  throw new Error('expected a StatsRequestError');
}

describe('default step', () => {
  it('gives every range of the picker between 100 and 400 points, 1 s for 5 minutes', () => {
    const ranges = { '5m': 5 * MIN, '15m': 15 * MIN, '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };
    const steps = Object.fromEntries(Object.entries(ranges).map(([name, seconds]) => [name, defaultStep(seconds)]));
    expect(steps).toEqual({ '5m': 1, '15m': 5, '1h': 10, '6h': 60, '24h': 300, '7d': 3600, '30d': 7200 });
    for (const [name, seconds] of Object.entries(ranges)) {
      const points = seconds / steps[name]!;
      expect(points, name).toBeGreaterThanOrEqual(100);
      expect(points, name).toBeLessThanOrEqual(400);
    }
  });

  it('stays within the point limit up to the longest range', () => {
    expect((400 * DAY) / defaultStep(400 * DAY)).toBeLessThanOrEqual(400);
  });
});

describe('resolution choice', () => {
  it('reads the coarsest stored resolution that divides the step', () => {
    const recent = NOW - HOUR;
    expect(chooseResolution(1, recent, NOW)).toEqual({ resolution: 1, step: 1 });
    expect(chooseResolution(5, recent, NOW)).toEqual({ resolution: 1, step: 5 });
    expect(chooseResolution(10, recent, NOW)).toEqual({ resolution: 10, step: 10 });
    expect(chooseResolution(15, recent, NOW)).toEqual({ resolution: 1, step: 15 });
    expect(chooseResolution(90, recent, NOW)).toEqual({ resolution: 10, step: 90 });
    expect(chooseResolution(300, recent, NOW)).toEqual({ resolution: 60, step: 300 });
    expect(chooseResolution(7200, recent, NOW)).toEqual({ resolution: 3600, step: 7200 });
  });

  it('skips resolutions already pruned for the start of the range and widens a step finer than anything kept', () => {
    // 1 s rows are kept ~2 days, 10 s ~14 days, 1 min ~90 days, hours forever.
    expect(chooseResolution(10, NOW - 3 * DAY, NOW)).toEqual({ resolution: 10, step: 10 });
    expect(chooseResolution(1, NOW - 3 * DAY, NOW)).toEqual({ resolution: 10, step: 10 });
    expect(chooseResolution(15, NOW - 3 * DAY, NOW)).toEqual({ resolution: 10, step: 20 });
    expect(chooseResolution(10, NOW - 20 * DAY, NOW)).toEqual({ resolution: 60, step: 60 });
    expect(chooseResolution(60, NOW - 200 * DAY, NOW)).toEqual({ resolution: 3600, step: 3600 });
  });

  it('reads sketches from the coarsest resolution that tiles the range, else the buckets overlapping it', () => {
    expect(chooseSketchResolution(NOW - DAY, NOW, NOW)).toEqual({ resolution: 3600, from: NOW - DAY, exact: true });
    expect(chooseSketchResolution(NOW - 5 * MIN, NOW, NOW)).toEqual({ resolution: 60, from: NOW - 5 * MIN, exact: true });
    expect(chooseSketchResolution(NOW - 35, NOW - 5, NOW)).toEqual({ resolution: 10, from: NOW - 40, exact: false });
    expect(chooseSketchResolution(NOW - 20 * DAY - 30, NOW - 20 * DAY + 30, NOW)).toEqual({ resolution: 60, from: NOW - 20 * DAY - 60, exact: false });
  });
});

describe('statsCutoffs', () => {
  it('keeps 1 s buckets 2 days, 10 s buckets 14 days, 1 min buckets 90 days and hourly ones for good', () => {
    const now = Date.parse('2024-06-01T00:00:00Z');
    expect(statsCutoffs(now)).toEqual([
      { resolution: 1, before: new Date('2024-05-30T00:00:00Z') },
      { resolution: 10, before: new Date('2024-05-18T00:00:00Z') },
      { resolution: 60, before: new Date('2024-03-03T00:00:00Z') },
    ]);
  });
});

describe('planStats', () => {
  it('defaults to the last hour in 10 s steps read from 10 s rows, by section, top 8, up to the bucket still filling', () => {
    // The second labelled NOW holds the events of (NOW - 1, NOW]: its 10 s bucket is the last one.
    expect(planStats({}, NOW)).toMatchObject({ from: NOW - HOUR, to: NOW + 10, step: 10, resolution: 10, points: 361, by: 'section', top: 8 });
    expect(planStats({}, NOW + 3.5)).toMatchObject({ from: NOW - HOUR, to: NOW + 10, points: 361 });
  });

  it('ends a range at the second holding `to`: whole past seconds are bucket edges, the present and fractions are inside one', () => {
    expect(lastSecondEnd(NOW - 60, NOW)).toBe(NOW - 60);
    expect(lastSecondEnd(NOW - 59.5, NOW)).toBe(NOW - 58);
    expect(lastSecondEnd(NOW, NOW)).toBe(NOW + 1);
    expect(lastSecondEnd(NOW + 0.6, NOW + 0.6)).toBe(NOW + 2);
  });

  it('aligns from down and to up to the step, so the last bucket is the one still filling', () => {
    const plan = planStats({ from: NOW - 95, to: NOW - 3, step: 10 }, NOW);
    expect(plan).toMatchObject({ from: NOW - 100, to: NOW, points: 10 });
    expect(bucketStarts(plan)).toEqual(Array.from({ length: 10 }, (_, i) => NOW - 100 + 10 * i));
  });

  it('reads 30 days from hourly rows', () => {
    const to = NOW - 2 * HOUR;
    expect(planStats({ from: to - 30 * DAY, to }, NOW)).toMatchObject({ resolution: 3600, step: 7200, points: 360 });
    expect(planStats({ from: to - 30 * DAY, to, step: HOUR }, NOW)).toMatchObject({ resolution: 3600, step: 3600, points: 720 });
  });

  it('refuses an empty or reversed range, more than 400 days, a fractional step and too many points, naming the parameter', () => {
    expect(planError(() => planStats({ from: NOW, to: NOW }, NOW))).toMatchObject({ field: 'from', message: expect.stringContaining('is not before to') });
    expect(planError(() => planStats({ from: NOW, to: NOW - 10 }, NOW)).field).toBe('from');
    expect(planError(() => planStats({ from: NOW - 401 * DAY, to: NOW }, NOW))).toMatchObject({ field: 'from', message: expect.stringContaining('the most is 400 days') });
    expect(planError(() => planStats({ from: NOW - HOUR, step: 2.5 }, NOW)).field).toBe('step');
    expect(planError(() => planStats({ from: NOW - HOUR, step: 0 }, NOW)).field).toBe('step');
    const tooMany = planError(() => planStats({ from: NOW - DAY - 60, to: NOW - 60, step: 1 }, NOW));
    expect(tooMany.field).toBe('step');
    expect(tooMany.message).toContain('86,400 points');
    expect(tooMany.message).toContain(`the most is ${MAX_POINTS.toLocaleString('en')}`);
    expect(tooMany.message).toContain('at least 18 s');
    expect(planStats({ from: NOW - DAY - 60, to: NOW - 60, step: 18 }, NOW).points).toBeLessThanOrEqual(MAX_POINTS);
  });
});

describe('parameters', () => {
  it('parses durations in seconds or with a unit', () => {
    expect(['10', '10s', '5m', '1h', '7d', '2w', ' 30 '].map(parseDuration)).toEqual([10, 10, 300, 3600, 7 * DAY, 14 * DAY, 30]);
    expect(['', 'ten', '5 minutes', '-5s', '1y'].map(parseDuration)).toEqual([null, null, null, null, null]);
  });

  it('parses instants as ISO with a zone, unix seconds, now and now-<duration>', () => {
    expect(parseInstant('2026-03-01T12:00:00Z', 0)).toBe(NOW);
    expect(parseInstant('2026-03-01T13:00:00+01:00', 0)).toBe(NOW);
    expect(parseInstant(String(NOW), 0)).toBe(NOW);
    expect(parseInstant('now', NOW)).toBe(NOW);
    expect(parseInstant('now-6h', NOW)).toBe(NOW - 6 * HOUR);
    // Without a zone the instant would depend on the server's zone.
    expect(parseInstant('2026-03-01T12:00:00', 0)).toBeNull();
    expect(parseInstant('yesterday', NOW)).toBeNull();
    expect(parseInstant('now-soon', NOW)).toBeNull();
  });
});

describe('shaping', () => {
  const starts = [100, 110, 120, 130];

  it('keeps the top groups by hits (ties by name) and folds the rest into "other", zero-filled', () => {
    const totals = [
      { key: '/b', hits: 5 },
      { key: '/a', hits: 5 },
      { key: '/c', hits: 9 },
      { key: '/d', hits: 1 },
      { key: '/quiet', hits: 0 },
    ];
    const keys = topGroups(totals, 3);
    expect(keys).toEqual(['/c', '/a', '/b']);
    const rows = [
      { t: 100, key: '/c', hits: 4 },
      { t: 120, key: '/c', hits: 5 },
      { t: 110, key: '/a', hits: 5 },
      { t: 130, key: '/b', hits: 5 },
      { t: 130, key: '/d', hits: 1 },
      { t: 100, key: null, hits: 2 },
    ];
    expect(foldSeries(starts, 10, rows, keys)).toEqual([
      { key: '/c', other: false, hits: [4, 0, 5, 0] },
      { key: '/a', other: false, hits: [0, 5, 0, 0] },
      { key: '/b', other: false, hits: [0, 0, 0, 5] },
      { key: 'other', other: true, hits: [2, 0, 0, 1] },
    ]);
  });

  it('has no "other" series when the top groups hold everything', () => {
    expect(foldSeries(starts, 10, [{ t: 100, key: '/a', hits: 1 }], ['/a']).map((s) => s.key)).toEqual(['/a']);
  });

  it('gives requests per second per bucket and an error rate of 5xx over hits with a status, null without any', () => {
    const rows = [
      { t: 100, hits: 20, withStatus: 20, errors: 5 },
      { t: 120, hits: 10, withStatus: 0, errors: 0 },
    ];
    expect(perBucketRates(starts, 10, rows)).toEqual({ requestsPerSecond: [2, 0, 1, 0], errorRate: [0.25, null, null, null] });
  });

  it('totals status classes, errors, bytes, mean latency, distinct hosts and percentiles from merged sketches', () => {
    const hostsA = emptyHosts();
    const hostsB = emptyHosts();
    for (let i = 0; i < 300; i++) addHost(hostsA, `10.0.0.${i}`);
    for (let i = 200; i < 500; i++) addHost(hostsB, `10.0.0.${i}`);
    const latencyA = emptyLatency();
    const latencyB = emptyLatency();
    addLatency(latencyA, 10, 90);
    addLatency(latencyB, 1000, 10);
    const totals = summarise(
      [
        { statusClass: '2xx', hits: 70, bytes: 7000, durationCount: 70, durationSumMs: 700 },
        { statusClass: '5xx', hits: 20, bytes: 200, durationCount: 20, durationSumMs: 20_000 },
        { statusClass: '', hits: 10, bytes: 0, durationCount: 0, durationSumMs: 0 },
      ],
      [
        { hosts: hostsA, latency: latencyA, tooLate: 2 },
        { hosts: hostsB, latency: latencyB.map(String), tooLate: 1 },
      ],
      50,
    );
    expect(totals).toMatchObject({ hits: 100, requests_per_second: 2, bytes: 7200, errors: 20, too_late: 3 });
    expect(totals.status).toEqual({ '1xx': 0, '2xx': 70, '3xx': 0, '4xx': 0, '5xx': 20, none: 10 });
    expect(totals.error_rate).toBeCloseTo(20 / 90);
    expect(totals.distinct_hosts).toBeGreaterThan(500 * 0.9);
    expect(totals.distinct_hosts).toBeLessThan(500 * 1.1);
    expect(totals.latency_ms?.mean).toBeCloseTo(20_700 / 90);
    expect(totals.latency_ms?.p50).toBeGreaterThan(8);
    expect(totals.latency_ms?.p50).toBeLessThan(12);
    expect(totals.latency_ms?.p99).toBeGreaterThan(800);
    expect(totals.latency_ms?.p99).toBeLessThan(1200);
  });

  it('leaves hosts, percentiles and too-late unknown (null) when sketches cannot answer for a filter, and latency null without durations', () => {
    const filtered = summarise([{ statusClass: '2xx', hits: 4, bytes: 1, durationCount: 2, durationSumMs: 30 }], null, 10);
    expect(filtered).toMatchObject({ distinct_hosts: null, too_late: null, latency_ms: { mean: 15, p50: null, p90: null, p99: null } });
    const none = summarise([], [], 10);
    expect(none).toMatchObject({ hits: 0, error_rate: null, latency_ms: null, distinct_hosts: 0, too_late: 0 });
  });

  it('lists top sections with their share of all hits', () => {
    const rows = [
      { section: '/api', hits: 30, errors: 3, bytes: 300 },
      { section: '/web', hits: 10, errors: 0, bytes: 100 },
    ];
    expect(topSections(rows, 50, 1)).toEqual([{ section: '/api', hits: 30, errors: 3, bytes: 300, share: 0.6 }]);
  });
});
