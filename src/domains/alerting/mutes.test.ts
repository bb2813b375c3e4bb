import { describe, expect, it } from 'vitest';
import { isOpen, muteMatches, muteState, neverCloses, nextBoundary, openAsSilences, openPeriod, type MuteWindow } from './mutes.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const base: MuteWindow = { id: 'w', kind: 'mute', matchers: [{ name: 'source', op: '=', value: 'job' }], startsAt: null, endsAt: null, cron: null, tz: 'UTC', durationMs: null };

describe('mute windows (fake clock)', () => {
  it('one-off: open on [start, end), boundaries at start then end, then none', () => {
    const w = { ...base, startsAt: at('2026-01-01T10:00:00Z'), endsAt: at('2026-01-01T11:00:00Z') };
    expect(isOpen(w, at('2026-01-01T09:59:59Z'))).toBe(false);
    expect(nextBoundary(w, at('2026-01-01T09:00:00Z'))).toBe(at('2026-01-01T10:00:00Z'));
    expect(isOpen(w, at('2026-01-01T10:00:00Z'))).toBe(true);
    expect(nextBoundary(w, at('2026-01-01T10:30:00Z'))).toBe(at('2026-01-01T11:00:00Z'));
    expect(isOpen(w, at('2026-01-01T11:00:00Z'))).toBe(false);
    expect(nextBoundary(w, at('2026-01-01T11:00:00Z'))).toBeNull();
    expect(muteState(w, at('2026-01-01T09:00:00Z'))).toBe('scheduled');
    expect(muteState(w, at('2026-01-01T10:00:00Z'))).toBe('open');
    expect(muteState(w, at('2026-01-01T12:00:00Z'))).toBe('over');
  });

  it('recurring: Sundays 02:00–03:00 Paris time, next opening and closing', () => {
    const w = { ...base, cron: '0 2 * * 0', tz: 'Europe/Paris', durationMs: H };
    expect(openPeriod(w, at('2026-01-04T01:30:00Z'))).toEqual({ start: at('2026-01-04T01:00:00Z'), end: at('2026-01-04T02:00:00Z') }); // Sun 02:30 CET
    expect(isOpen(w, at('2026-01-04T02:00:00Z'))).toBe(false); // 03:00 CET: closed (end exclusive)
    expect(nextBoundary(w, at('2026-01-04T01:30:00Z'))).toBe(at('2026-01-04T02:00:00Z'));
    expect(nextBoundary(w, at('2026-01-04T02:00:00Z'))).toBe(at('2026-01-11T01:00:00Z')); // next Sunday
    expect(isOpen(w, at('2026-01-05T01:30:00Z'))).toBe(false); // Monday
  });

  it('DST spring forward: a 2 h window from 01:00 Paris closes at 04:00 CEST (real hours)', () => {
    const w = { ...base, cron: '0 1 * * *', tz: 'Europe/Paris', durationMs: 2 * H };
    // 2026-03-29: 01:00 CET = 00:00Z; clocks jump from 02:00 CET to 03:00 CEST; two real hours later is 02:00Z = 04:00 CEST.
    expect(openPeriod(w, at('2026-03-29T01:30:00Z'))).toEqual({ start: at('2026-03-29T00:00:00Z'), end: at('2026-03-29T02:00:00Z') });
    expect(isOpen(w, at('2026-03-29T02:00:00Z'))).toBe(false);
    // The next day opens at 01:00 CEST = 23:00Z.
    expect(nextBoundary(w, at('2026-03-29T02:00:00Z'))).toBe(at('2026-03-29T23:00:00Z'));
  });

  it('DST: an occurrence at a local time that does not exist opens at the shifted instant', () => {
    const w = { ...base, cron: '30 2 * * *', tz: 'Europe/Paris', durationMs: H };
    // 02:30 does not exist on 2026-03-29 in Paris: the occurrence is at 03:00 CEST (01:00Z).
    expect(nextBoundary(w, at('2026-03-28T12:00:00Z'))).toBe(at('2026-03-29T01:00:00Z'));
    expect(isOpen(w, at('2026-03-29T01:30:00Z'))).toBe(true);
  });

  it('DST fall back: 02:30 Paris happens twice on 2026-10-25, the window opens once', () => {
    const w = { ...base, cron: '30 2 * * *', tz: 'Europe/Paris', durationMs: 30 * 60_000 };
    expect(openPeriod(w, at('2026-10-25T00:45:00Z'))).toEqual({ start: at('2026-10-25T00:30:00Z'), end: at('2026-10-25T01:00:00Z') }); // 02:30 CEST
    expect(isOpen(w, at('2026-10-25T01:45:00Z'))).toBe(false); // 02:45 CET, the second 02:45
    expect(nextBoundary(w, at('2026-10-25T01:00:00Z'))).toBe(at('2026-10-26T01:30:00Z')); // 02:30 CET the next day
  });

  it('overlapping occurrences make one open period, closed only after the last', () => {
    const w = { ...base, cron: '0 * * * *', durationMs: 90 * 60_000 }; // hourly, 90 minutes each
    expect(neverCloses(w, at('2026-01-01T00:00:00Z'))).toBe(true);
    const business = { ...base, cron: '0 9-11 * * *', durationMs: 90 * 60_000 }; // 09:00, 10:00, 11:00 → open 09:00–12:30
    expect(openPeriod(business, at('2026-01-01T09:10:00Z'))).toEqual({ start: at('2026-01-01T09:00:00Z'), end: at('2026-01-01T12:30:00Z') });
    expect(nextBoundary(business, at('2026-01-01T10:15:00Z'))).toBe(at('2026-01-01T12:30:00Z'));
    expect(neverCloses(business, at('2026-01-01T00:00:00Z'))).toBe(false);
  });

  it('matchers as silences; open windows become silences that end when the window closes', () => {
    const w = { ...base, matchers: [{ name: 'source', op: '=' as const, value: 'job' }, { name: 'check_id', op: '=' as const, value: 'c1' }], startsAt: at('2026-01-01T10:00:00Z'), endsAt: at('2026-01-01T11:00:00Z') };
    expect(muteMatches(w, { source: 'job', check_id: 'c1' })).toBe(true);
    expect(muteMatches(w, { source: 'job', check_id: 'c2' })).toBe(false);
    expect(openAsSilences([w], at('2026-01-01T10:30:00Z'))).toEqual([{ id: 'w', matchers: w.matchers, startsAt: w.startsAt, endsAt: w.endsAt }]);
    expect(openAsSilences([w], at('2026-01-01T11:30:00Z'))).toEqual([]);
  });
});
