import { describe, expect, it } from 'vitest';
import { escapeKey, escapeMeasurement, formatPoint, quoteString } from './line-protocol.js';

describe('line protocol', () => {
  it('writes measurement, sorted tags, typed fields and the timestamp', () => {
    const line = formatPoint({
      measurement: 'vigil_traffic',
      tags: { section: '/api', method: 'GET', org: 'o1' },
      fields: { hits: 12n, duration_sum_ms: 40.5, ok: true, note: 'hi' },
      timestamp: 1_700_000_000,
    });
    expect(line).toBe('vigil_traffic,method=GET,org=o1,section=/api hits=12i,duration_sum_ms=40.5,ok=t,note="hi" 1700000000');
  });

  it('leaves out empty and missing tags, and fields without a value', () => {
    const line = formatPoint({
      measurement: 'm',
      tags: { service: '', method: undefined, org: 'o' },
      fields: { a: undefined, b: null, c: Number.NaN, d: Number.POSITIVE_INFINITY, e: 0n },
      timestamp: 10,
    });
    expect(line).toBe('m,org=o e=0i 10');
  });

  it('returns nothing for a point without any field value (InfluxDB would reject the line)', () => {
    expect(formatPoint({ measurement: 'm', tags: { a: 'b' }, fields: { x: Number.NaN }, timestamp: 1 })).toBeUndefined();
  });

  it('escapes spaces, commas and equals signs in tag keys, tag values and field keys', () => {
    expect(escapeKey('a b,c=d')).toBe('a\\ b\\,c\\=d');
    const line = formatPoint({ measurement: 'm', tags: { 'sec tion': '/a b,c=d' }, fields: { 'f=1': 1n }, timestamp: 0 });
    expect(line).toBe('m,sec\\ tion=/a\\ b\\,c\\=d f\\=1=1i 0');
  });

  it('escapes spaces and commas but not equals signs in measurement names', () => {
    expect(escapeMeasurement('my m,x=y')).toBe('my\\ m\\,x=y');
  });

  it('keeps double quotes in tags as they are, and escapes them (and backslashes) in string fields', () => {
    expect(escapeKey('say "hi"')).toBe('say\\ "hi"');
    expect(quoteString('say "hi" C:\\tmp')).toBe('"say \\"hi\\" C:\\\\tmp"');
  });

  it('turns newlines, carriage returns and tabs in names and tags into visible escapes, so a line never breaks', () => {
    const line = formatPoint({ measurement: 'm\n', tags: { section: '/a\nb\r\tc' }, fields: { v: 1n }, timestamp: 0 });
    expect(line).toBe('m\\n,section=/a\\nb\\r\\tc v=1i 0');
    expect(line).not.toMatch(/[\n\r\t]/);
  });

  it('keeps newlines inside quoted string fields (InfluxDB accepts them there)', () => {
    expect(formatPoint({ measurement: 'm', tags: {}, fields: { s: 'one\ntwo' }, timestamp: 0 })).toBe('m s="one\ntwo" 0');
  });

  it('writes a backslash that InfluxDB would read as an escape as %5C, and other backslashes as they are', () => {
    expect(escapeKey('C:\\dir\\file')).toBe('C:\\dir\\file');
    expect(escapeKey('/scripts\\')).toBe('/scripts%5C');
    expect(escapeKey('a\\ b')).toBe('a%5C\\ b');
    expect(escapeKey('a\\,b')).toBe('a%5C\\,b');
    expect(escapeKey('a\\=b')).toBe('a%5C\\=b');
    expect(escapeMeasurement('m\\')).toBe('m%5C');
  });

  it('rejects integers beyond 64 bits, fractional timestamps and names a line cannot start with', () => {
    expect(() => formatPoint({ measurement: 'm', tags: {}, fields: { v: 2n ** 63n }, timestamp: 0 })).toThrow(RangeError);
    expect(formatPoint({ measurement: 'm', tags: {}, fields: { v: -(2n ** 63n) }, timestamp: 0 })).toBe(`m v=${-(2n ** 63n)}i 0`);
    expect(() => formatPoint({ measurement: 'm', tags: {}, fields: { v: 1n }, timestamp: 1.5 })).toThrow(RangeError);
    expect(() => formatPoint({ measurement: '#m', tags: {}, fields: { v: 1n }, timestamp: 0 })).toThrow(TypeError);
    expect(() => formatPoint({ measurement: '', tags: {}, fields: { v: 1n }, timestamp: 0 })).toThrow(TypeError);
  });

  it('accepts nanosecond timestamps as bigint', () => {
    expect(formatPoint({ measurement: 'm', tags: {}, fields: { v: 1 }, timestamp: 1_700_000_000_000_000_000n })).toBe('m v=1 1700000000000000000');
  });
});
