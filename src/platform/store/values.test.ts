import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isoOf, pgJson, pgText } from './values.js';

describe('values PostgreSQL can store', () => {
  it('replaces NUL characters (which text and jsonb refuse) but leaves an escaped backslash before "u0000" alone', () => {
    expect(pgText('a\u0000b')).toBe('a\ufffdb');
    expect(pgText(null)).toBeNull();
    expect(JSON.parse(pgJson({ 'k\u0000': 'v\u0000', literal: '\\u0000' }))).toEqual({ 'k\ufffd': 'v\ufffd', literal: '\\u0000' });
  });
});

describe('isoOf', () => {
  it('formats every instant of years 0001–9999 exactly as Date#toISOString, fractions of a millisecond cut', () => {
    fc.assert(
      fc.property(fc.double({ min: -62_135_596_800_000, max: 253_402_300_799_999, noNaN: true }), (ms) => {
        expect(isoOf(ms)).toBe(new Date(Math.floor(ms)).toISOString());
      }),
      { numRuns: 5_000 },
    );
    expect(isoOf(Date.UTC(2026, 10, 22, 2, 30, 0, 7))).toBe('2026-11-22T02:30:00.007Z');
  });
});
