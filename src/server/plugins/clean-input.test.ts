import { describe, expect, it } from 'vitest';
import { cleanStrings } from './clean-input.js';

describe('cleanStrings', () => {
  it('replaces NUL and lone surrogates in values and keys, at any depth, in place', () => {
    const body = JSON.parse('{"name":"a\\u0000b","tags":["x\\ud800",1,null],"nested":{"k\\u0000":"\\udfff","ok":"fine 😀"}}') as Record<string, unknown>;
    expect(cleanStrings(body)).toBe(body);
    expect(body).toEqual({ name: 'a\ufffdb', tags: ['x\ufffd', 1, null], nested: { 'k\ufffd': '\ufffd', ok: 'fine 😀' } });
    expect(cleanStrings('\u0000')).toBe('\ufffd');
    expect(cleanStrings(7)).toBe(7);
  });

  it('walks a body nested 100,000 levels deep without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}"\\u0000"${']'.repeat(100_000)}`) as unknown;
    expect(() => cleanStrings(deep)).not.toThrow();
    let v: unknown = deep;
    while (Array.isArray(v)) v = v[0];
    expect(v).toBe('\ufffd');
  });
});
