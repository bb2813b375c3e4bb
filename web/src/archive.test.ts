import { describe, expect, it } from 'vitest';
import { archiveDays, dayBounds, isStatusFilter, type ArchiveFile } from './archive';

describe('archive days', () => {
  it('covers whole UTC days, both included; an empty side is open', () => {
    expect(dayBounds('2026-03-01', '2026-03-02')).toEqual({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' });
    expect(dayBounds('', '2026-03-02')).toEqual({ to: '2026-03-03T00:00:00.000Z' });
    expect(dayBounds('', '')).toEqual({});
  });

  it('refuses a day that is not a date, and a reversed range', () => {
    expect(dayBounds('March 1', '')).toBeUndefined();
    expect(dayBounds('2026-03-02', '2026-03-01')).toBeUndefined();
  });

  it('adds up the files of a day, newest day first', () => {
    const file = (day: string, fields: Partial<ArchiveFile>) => ({ day, rows: 10, bytes: 100, from: null, to: null, created: `${day}T23:00:00.000Z`, ...fields }) as ArchiveFile;
    const days = archiveDays([
      file('2026-03-01', { from: '2026-03-01T01:00:00.000Z', to: '2026-03-01T05:00:00.000Z' }),
      file('2026-03-02', {}),
      file('2026-03-01', { from: '2026-03-01T00:30:00.000Z', to: '2026-03-01T04:00:00.000Z', created: '2026-03-02T01:00:00.000Z' }),
    ]);
    expect(days.map((d) => d.day)).toEqual(['2026-03-02', '2026-03-01']);
    expect(days[1]).toEqual({ day: '2026-03-01', files: 2, rows: 20, bytes: 200, from: '2026-03-01T00:30:00.000Z', to: '2026-03-01T05:00:00.000Z', created: '2026-03-02T01:00:00.000Z' });
  });

  it('takes a status or a class of them', () => {
    expect(['404', '5xx', '5XX'].every(isStatusFilter)).toBe(true);
    expect(['600', '4x', 'abc'].some(isStatusFilter)).toBe(false);
  });
});
