import { describe, expect, it } from 'vitest';
import { allValues, firstValue, parseSearch, stringifySearch, toSearchParams } from './search-params';

describe('the dashboard query strings', () => {
  it('reads a repeated key as a list and a single one as a string', () => {
    expect(parseSearch('?tag=db&tag=nightly&range=1h')).toEqual({ tag: ['db', 'nightly'], range: '1h' });
    expect(parseSearch('check=abc')).toEqual({ check: 'abc' });
    expect(parseSearch('')).toEqual({});
  });

  it('keeps values as text: no JSON or number parsing', () => {
    expect(parseSearch('?status=404&live=off&q=%22quoted%22')).toEqual({ status: '404', live: 'off', q: '"quoted"' });
  });

  it('writes the plain form the URLs had before the router, lists as repeated keys', () => {
    expect(stringifySearch({ tag: ['db', 'nightly'] })).toBe('?tag=db&tag=nightly');
    expect(stringifySearch({ range: '1h', service: 'api', live: 'off' })).toBe('?range=1h&service=api&live=off');
    expect(stringifySearch({ from: '2026-03-01T00:00:00.000Z' })).toBe('?from=2026-03-01T00%3A00%3A00.000Z');
  });

  it('leaves out undefined values and empty lists, and writes nothing for an empty search', () => {
    expect(stringifySearch({ tag: [], check: undefined })).toBe('');
    expect(stringifySearch({})).toBe('');
  });

  it('round-trips', () => {
    const text = '?tag=a+b&tag=c%26d&q=x%3Dy';
    expect(stringifySearch(parseSearch(text))).toBe(text);
  });

  it('takes the first or every string value of a key', () => {
    expect(firstValue(['a', 'b'])).toBe('a');
    expect(firstValue('a')).toBe('a');
    expect(firstValue(3)).toBeUndefined();
    expect(allValues(['a', 3, 'b'])).toEqual(['a', 'b']);
    expect(allValues('a')).toEqual(['a']);
    expect(allValues(undefined)).toEqual([]);
  });

  it('gives URLSearchParams for helpers written against them', () => {
    expect(toSearchParams({ tag: ['a', 'b'], range: '1h' }).getAll('tag')).toEqual(['a', 'b']);
  });
});
