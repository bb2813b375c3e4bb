import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow } from './api';
import { cronInWords, describeRecurring, nextOccurrence, sortWindows, windowState } from './maintenance';

const at = (iso: string) => Date.parse(iso);

function windowOf(fields: Partial<MaintenanceWindow>): MaintenanceWindow {
  return { id: 'w', check_id: null, starts_at: null, ends_at: null, cron: null, duration: null, tz: 'UTC', reason: '', created_at: '2026-01-01T00:00:00.000Z', ...fields } as MaintenanceWindow;
}

const oneOff = windowOf({ id: 'once', starts_at: '2026-03-01T10:00:00.000Z', ends_at: '2026-03-01T12:00:00.000Z' });
/** Sundays 02:00 in Paris, for two hours. */
const sundays = windowOf({ id: 'weekly', cron: '0 2 * * 0', duration: 7200, tz: 'Europe/Paris' });

describe('maintenance window state', () => {
  it('a one-off window covers [starts_at, ends_at)', () => {
    expect(windowState(oneOff, at('2026-03-01T09:59:59.999Z'))).toEqual({ kind: 'upcoming', from: '2026-03-01T10:00:00.000Z' });
    expect(windowState(oneOff, at('2026-03-01T10:00:00.000Z'))).toEqual({ kind: 'active', until: '2026-03-01T12:00:00.000Z' });
    expect(windowState(oneOff, at('2026-03-01T12:00:00.000Z'))).toEqual({ kind: 'ended' });
  });

  it('a recurring window is open for its duration after each occurrence, in its own time zone', () => {
    // 2026-03-01 is a Sunday; 02:00 in Paris (UTC+1 in winter) is 01:00 UTC.
    expect(windowState(sundays, at('2026-03-01T01:30:00.000Z'))).toEqual({ kind: 'active', until: '2026-03-01T03:00:00.000Z' });
    expect(windowState(sundays, at('2026-03-01T03:00:00.000Z'))).toEqual({ kind: 'waiting', next: '2026-03-08T01:00:00.000Z' });
    expect(windowState(sundays, at('2026-02-28T12:00:00.000Z'))).toEqual({ kind: 'waiting', next: '2026-03-01T01:00:00.000Z' });
  });

  it('follows daylight saving time: after the change, 02:00 in Paris is 00:00 UTC', () => {
    expect(windowState(sundays, at('2026-04-05T00:30:00.000Z'))).toEqual({ kind: 'active', until: '2026-04-05T02:00:00.000Z' });
  });

  it('a recurring window whose cron does not parse here waits forever instead of crashing the page', () => {
    expect(windowState(windowOf({ cron: 'not a cron', duration: 60 }), at('2026-03-01T00:00:00.000Z'))).toEqual({ kind: 'waiting', next: null });
  });

  it('lists open windows first, then the next to come, finished one-offs last', () => {
    const later = windowOf({ id: 'later', starts_at: '2026-03-05T00:00:00.000Z', ends_at: '2026-03-06T00:00:00.000Z' });
    const soon = windowOf({ id: 'soon', starts_at: '2026-03-02T00:00:00.000Z', ends_at: '2026-03-03T00:00:00.000Z' });
    const done = windowOf({ id: 'done', starts_at: '2026-02-01T00:00:00.000Z', ends_at: '2026-02-02T00:00:00.000Z' });
    const now = at('2026-03-01T11:00:00.000Z');
    expect(sortWindows([done, sundays, later, oneOff, soon], now).map((w) => w.id)).toEqual(['once', 'soon', 'later', 'weekly', 'done']);
  });
});

describe('recurring windows in words', () => {
  it('says a cron expression in words, or nothing when it does not parse', () => {
    expect(cronInWords('0 2 * * 0')).toBe('At 02:00, only on Sunday');
    expect(cronInWords('')).toBeUndefined();
    expect(cronInWords('every day')).toBeUndefined();
  });

  it('describes a recurring window with its zone and length', () => {
    expect(describeRecurring(sundays)).toBe('At 02:00, only on Sunday (Europe/Paris), for 2 hours');
  });

  it('finds the next occurrence in a zone', () => {
    expect(nextOccurrence('0 2 * * 0', 'Europe/Paris', at('2026-03-01T03:00:00.000Z'))?.toISOString()).toBe('2026-03-08T01:00:00.000Z');
    expect(nextOccurrence('nope', 'UTC', 0)).toBeUndefined();
  });
});
