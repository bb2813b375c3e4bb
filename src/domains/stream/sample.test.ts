import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AccessLogParser } from '../logs/index.js';
import { TrafficMonitor, type MonitorDecision, type StatsDecision } from './index.js';

// The sample access log (4,830 rows, 1549573859–1549574340, rows up to 2 s out of order), kept in the
// repository (test/data/) so these pins run everywhere: a missing file fails the test, never skips it.
const SAMPLE = fileURLToPath(new URL('../../../test/data/sample_csv.txt', import.meta.url));

function monitorSample(threshold: number): { decisions: MonitorDecision[]; monitor: TrafficMonitor } {
  const parser = new AccessLogParser();
  const monitor = new TrafficMonitor({ threshold });
  const decisions: MonitorDecision[] = [];
  for (const line of readFileSync(SAMPLE, 'utf8').split('\n')) {
    const r = parser.parse(line);
    if (r === null) continue;
    if (!r.ok) throw new Error(r.reason);
    decisions.push(...monitor.push(r.record));
  }
  decisions.push(...monitor.end());
  return { decisions, monitor };
}

const transitions = (ds: MonitorDecision[]) => ds.filter((d) => d.type !== 'stats').map((d) => `${d.type} ${d.time} hits=${d.hits}`);

describe('the sample_csv.txt (window 120 s, stats every 10 s, out-of-orderness 5 s)', () => {
  // Pinned from this implementation; a brute-force recount over (t-120, t] for every second
  // t from the first to the last timestamp gives the same.
  it('threshold 5 req/s (> 600 hits in the window)', () => {
    expect(transitions(monitorSample(5).decisions)).toEqual([
      'alert 1549573923 hits=614',
      'recover 1549574083 hits=600',
      'alert 1549574139 hits=614',
      'recover 1549574326 hits=576',
    ]);
  });

  it('threshold 10 req/s, the default (> 1200 hits)', () => {
    expect(transitions(monitorSample(10).decisions)).toEqual([
      'alert 1549573956 hits=1206',
      'recover 1549574043 hits=1198',
      'alert 1549574163 hits=1218',
      'recover 1549574302 hits=1196',
    ]);
  });

  it('threshold 15 req/s (> 1800 hits)', () => {
    expect(transitions(monitorSample(15).decisions)).toEqual(['alert 1549574187 hits=1808', 'recover 1549574279 hits=1799']);
  });

  it('prints 49 stats, from (…850, …860] to the last second …340, and counts every row once', () => {
    const { decisions, monitor } = monitorSample(10);
    const stats = decisions.filter((d): d is StatsDecision => d.type === 'stats');
    expect(stats).toHaveLength(49);
    expect(stats[0]).toEqual({
      type: 'stats',
      time: 1549573860,
      hits: 11,
      average: 11 / 120,
      interval: 10,
      requests: 11,
      sections: [
        { section: '/api', hits: 8 },
        { section: '/report', hits: 3 },
      ],
      status: { '1xx': 0, '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 1 },
      errorRate: 1 / 11,
      bytes: 13607,
      hosts: 4,
      late: 0,
    });
    expect(stats.at(-1)).toMatchObject({ time: 1549574340, interval: 10, requests: 17, hits: 238 });
    expect(stats.reduce((n, s) => n + s.requests, 0)).toBe(4830);
    expect(monitor.counters).toEqual({ events: 4830, late: 0, tooLate: 0 });
  });
});
