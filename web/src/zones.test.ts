import { describe, expect, it } from 'vitest';
import { localInputToIso, timeZones, toLocalInput } from './zones';

describe('datetime-local inputs', () => {
  it("writes an instant in the browser's zone and reads it back", () => {
    const local = new Date(2026, 2, 1, 14, 30).getTime();
    expect(toLocalInput(local)).toBe('2026-03-01T14:30');
    expect(localInputToIso('2026-03-01T14:30')).toBe(new Date(local).toISOString());
  });

  it('takes seconds and fractions, and refuses what is not a full date and time', () => {
    expect(localInputToIso('2026-03-01T14:30:15.250')).toBe(new Date(2026, 2, 1, 14, 30, 15, 250).toISOString());
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('2026-03-01')).toBeUndefined();
    expect(localInputToIso('2026-13-45T99:99')).toBeUndefined();
  });
});

describe('time zones', () => {
  it('lists UTC first, and keeps a zone this browser does not know', () => {
    const zones = timeZones('Mars/Olympus_Mons');
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('Europe/Paris');
    expect(zones).toContain('Mars/Olympus_Mons');
    expect(new Set(zones).size).toBe(zones.length);
  });
});
