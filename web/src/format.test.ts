import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDateTime, formatDateTimeUtc, formatDuration, formatPeriod, formatRelative, humanizeInstants, shortZone } from './format';
import { formatNumber, formatPercent, formatRate, firstOpenBucket, sortStatusSeries, type StatsSeries } from './traffic';

describe('periods and durations', () => {
  it('says a period in at most two units', () => {
    expect(formatPeriod(0)).toBe('0 seconds');
    expect(formatPeriod(1)).toBe('1 second');
    expect(formatPeriod(300)).toBe('5 minutes');
    expect(formatPeriod(5400)).toBe('1 hour 30 minutes');
    expect(formatPeriod(90061)).toBe('1 day 1 hour');
  });

  it('writes a run duration at the precision that matters', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(7_800_000)).toBe('2 h 10 min');
  });
});

describe('times', () => {
  const now = Date.parse('2026-03-01T12:00:00.000Z');

  it('says how long ago or how soon, in English', () => {
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative('2026-03-01T12:00:00.500Z', now)).toBe('just now');
    expect(formatRelative('2026-03-01T11:59:30.000Z', now)).toBe('30 seconds ago');
    expect(formatRelative('2026-03-01T12:03:00.000Z', now)).toBe('in 3 minutes');
    expect(formatRelative('2026-03-01T10:00:00.000Z', now)).toBe('2 hours ago');
    expect(formatRelative('2026-02-27T12:00:00.000Z', now)).toBe('2 days ago');
  });

  it('shows a past moment from a server clock ahead of ours as just now', () => {
    expect(formatRelative('2026-03-01T12:00:05.000Z', now, true)).toBe('just now');
  });

  it('writes a full time in UTC, naming the zone', () => {
    expect(formatDateTimeUtc('2026-03-01T05:00:00.000Z')).toBe('Mar 1, 2026, 05:00:00 UTC');
    expect(formatDateTimeUtc(null)).toBe('—');
  });

  it("names the viewer's zone in a full time, and shows the instants of server texts that way", () => {
    const iso = '2026-03-01T05:00:00.000Z';
    expect(formatDateTime(iso)).toContain(shortZone(Date.parse(iso)));
    expect(humanizeInstants(`late since ${iso}, expected by 2026-03-01T06:00:00Z`)).toBe(`late since ${formatDateTime(iso)}, expected by ${formatDateTime('2026-03-01T06:00:00Z')}`);
  });
});

describe('numbers and sizes', () => {
  it('groups thousands the English way', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
  });

  it('writes sizes in powers of 1000, as disks are sold', () => {
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1400)).toBe('1.4 kB');
    expect(formatBytes(1_400_000)).toBe('1.4 MB');
    expect(formatBytes(230e9)).toBe('230 GB');
  });

  it('fits rates and counts in a small tile', () => {
    expect(formatNumber(undefined)).toBe('—');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(0.25)).toBe('0.25');
    expect(formatNumber(3.42)).toBe('3.42');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(120)).toBe('120');
    expect(formatNumber(12_345)).toBe('12.3k');
    expect(formatNumber(2_500_000)).toBe('2.5M');
    expect(formatRate(0.004)).toBe('< 0.01');
    expect(formatPercent(0.125)).toBe('12.5 %');
    expect(formatPercent(0.0004)).toBe('0.040 %');
    expect(formatPercent(0)).toBe('0 %');
  });

  it('orders status classes naturally, "(none)" and "other" last', () => {
    const s = (key: string, other = false) => ({ key, other }) as StatsSeries;
    expect(sortStatusSeries([s('', false), s('5xx'), s('x', true), s('2xx')]).map((x) => x.key)).toEqual(['2xx', '5xx', '', 'x']);
  });

  it('finds the first bucket that is not final yet', () => {
    const watermark = new Date(1_000 * 1000).toISOString();
    expect(firstOpenBucket({ timestamps: [880, 940, 1000, 1060], step: 60, watermark })).toBe(1000);
    expect(firstOpenBucket({ timestamps: [880], step: 60, watermark: null })).toBeNull();
  });
});
