import { describe, expect, it } from 'vitest';
import { isInWindow } from './maintenance.js';

const none = { starts_at: null, ends_at: null, cron: null, tz: 'UTC', duration_s: null };

describe('maintenance windows', () => {
  it('one-off: inside from start (inclusive) to end (exclusive)', () => {
    const w = { ...none, starts_at: new Date('2026-01-01T10:00:00Z'), ends_at: new Date('2026-01-01T11:00:00Z') };
    expect(isInWindow(w, new Date('2026-01-01T09:59:59Z'))).toBe(false);
    expect(isInWindow(w, new Date('2026-01-01T10:00:00Z'))).toBe(true);
    expect(isInWindow(w, new Date('2026-01-01T11:00:00Z'))).toBe(false);
  });
  it('recurring: Sundays 02:00–03:00 Paris time', () => {
    const w = { ...none, cron: '0 2 * * 0', tz: 'Europe/Paris', duration_s: 3600 };
    expect(isInWindow(w, new Date('2026-01-04T01:30:00Z'))).toBe(true); // Sun 02:30 CET
    expect(isInWindow(w, new Date('2026-01-04T02:00:00Z'))).toBe(false); // Sun 03:00 CET
    expect(isInWindow(w, new Date('2026-01-05T01:30:00Z'))).toBe(false); // Monday
  });
});
