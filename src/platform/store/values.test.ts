import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cleanText, isoOf, needsCleaning, pgArray, pgJson, pgText } from './values.js';

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

describe('lone surrogates and NUL', () => {
  it('pgJson replaces escaped lone surrogates (jsonb refuses them) and keeps valid pairs', () => {
    const value = { high: 'a\ud800b', low: '\udc00', pair: '\ud83d\ude00', ['k\udbff']: 1, text: '\\ud800' };
    expect(JSON.parse(pgJson(value))).toEqual({ high: 'a\ufffdb', low: '\ufffd', pair: '😀', 'k\ufffd': 1, text: '\\ud800' });
  });

  it('cleanText makes any string well-formed and NUL-free, the same string when nothing is wrong', () => {
    expect(cleanText('a\u0000b\ud800')).toBe('a\ufffdb\ufffd');
    const ok = 'plain 😀';
    expect(cleanText(ok)).toBe(ok);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const c = cleanText(s);
        expect(c.includes('\u0000')).toBe(false);
        expect(Buffer.from(c, 'utf8').toString('utf8')).toBe(c);
        expect(needsCleaning(c)).toBe(false);
        expect(needsCleaning(s)).toBe(c !== s);
      }),
    );
  });
});

describe('pgArray', () => {
  it('refuses what it cannot write: numbers that are not finite, and nulls smuggled past the types', () => {
    expect(() => pgArray([1, Number.NaN])).toThrow(RangeError);
    expect(() => pgArray([1, Number.NaN])).toThrow(/not a finite number/);
    expect(() => pgArray([Infinity])).toThrow(/not a finite number/);
    expect(() => pgArray([null as unknown as string])).toThrow(TypeError);
    expect(() => pgArray([null as unknown as string])).toThrow(/not a string, number or boolean/);
  });
  it('is array text PostgreSQL reads back as the same elements (quotes, backslashes, braces, commas, spaces, unicode)', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = new PGlite();
    try {
      const text = fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')), { maxLength: 20 });
      const samples = [['a"b', 'c\\d', '{x,y}', ' lead', 'trail ', '', 'NULL', 'é😀'], ...fc.sample(text, 50)];
      for (const strings of samples) {
        const r = await db.query<{ a: string[] }>('SELECT $1::text[] AS a', [pgArray(strings)]);
        expect(r.rows[0]!.a).toEqual(strings);
      }
      const numbers = [0, -1, 2 ** 40, 123456789];
      expect((await db.query<{ a: number[] }>('SELECT $1::int8[] AS a', [pgArray(numbers)])).rows[0]!.a.map(Number)).toEqual(numbers);
      expect((await db.query<{ a: boolean[] }>('SELECT $1::bool[] AS a', [pgArray([true, false])])).rows[0]!.a).toEqual([true, false]);
      // NUL, which text refuses, is stored as U+FFFD (as pgText does) instead of failing the statement.
      expect((await db.query<{ a: string[] }>('SELECT $1::text[] AS a', [pgArray(['a\0b', '\0'])])).rows[0]!.a).toEqual(['a\ufffdb', '\ufffd']);
    } finally {
      await db.close();
    }
  }, 30_000);
});
