import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TailBuffer, alignUtf8Start } from './tail-buffer.js';

// ASCII bytes only: no UTF-8 continuation bytes, so the character-boundary rule never moves
// the cut and the tail must be exactly the last bytes of the stream.
const asciiChunk = fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.map((b) => b & 0x7f));

describe('TailBuffer', () => {
  it('keeps exactly the last `limit` bytes of any sequence of chunks', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.array(asciiChunk, { maxLength: 40 }), (limit, chunks) => {
        const tail = new TailBuffer(limit);
        for (const chunk of chunks) tail.push(chunk);
        const all = Buffer.concat(chunks);
        const expected = all.subarray(Math.max(0, all.length - limit));
        expect(tail.tail()).toEqual(expected);
        expect(tail.length).toBe(expected.length);
        expect(tail.total).toBe(all.length);
        expect(tail.truncated).toBe(all.length > limit);
      }),
    );
  });

  it('gives the last `max` bytes when asked for fewer than it keeps', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.nat({ max: 250 }), fc.array(asciiChunk, { maxLength: 20 }), (limit, max, chunks) => {
        const tail = new TailBuffer(limit);
        for (const chunk of chunks) tail.push(chunk);
        const all = Buffer.concat(chunks);
        const keep = Math.min(limit, max, all.length);
        expect(tail.tail(max)).toEqual(all.subarray(all.length - keep));
      }),
    );
  });

  it('holds memory bounded by the limit while a large output streams through', () => {
    const tail = new TailBuffer(1000);
    const chunk = Buffer.alloc(4096, 'x');
    for (let i = 0; i < 10_000; i++) {
      tail.push(chunk);
      expect(tail.length).toBeLessThanOrEqual(1000);
    }
    tail.push(Buffer.from('the end\n'));
    expect(tail.total).toBe(10_000 * 4096 + 8);
    expect(tail.tail().toString().endsWith('xthe end\n')).toBe(true);
    expect(tail.tail().length).toBe(1000);
  });

  it('does not keep a view that pins a large chunk', () => {
    const tail = new TailBuffer(10);
    const big = Buffer.alloc(1_000_000, 'y');
    tail.push(big);
    big.fill('z'); // a producer reusing its buffer must not change what was kept
    expect(tail.tail().toString()).toBe('y'.repeat(10));
    expect(tail.tail().buffer.byteLength).toBeLessThan(big.buffer.byteLength);
  });

  it('keeps nothing with a zero limit', () => {
    const tail = new TailBuffer(0);
    tail.push(Buffer.from('abc'));
    expect(tail.tail().length).toBe(0);
    expect(tail.truncated).toBe(true);
  });

  it('rejects a negative or fractional limit', () => {
    expect(() => new TailBuffer(-1)).toThrow(RangeError);
    expect(() => new TailBuffer(1.5)).toThrow(RangeError);
  });

  it('never starts a cut tail inside a UTF-8 character, and is otherwise exact', () => {
    fc.assert(
      fc.property(fc.nat({ max: 120 }), fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 20 }), (limit, parts) => {
        const tail = new TailBuffer(limit);
        for (const part of parts) tail.push(Buffer.from(part));
        const all = Buffer.from(parts.join(''));
        const kept = tail.tail();
        const exact = all.subarray(Math.max(0, all.length - limit));
        // A suffix of the exact tail, at most 3 bytes shorter, that decodes without a broken character.
        expect(exact.subarray(exact.length - kept.length)).toEqual(kept);
        expect(exact.length - kept.length).toBeLessThanOrEqual(3);
        expect(Buffer.from(kept.toString('utf8'))).toEqual(kept);
      }),
    );
  });
});

describe('alignUtf8Start', () => {
  it('skips at most three continuation bytes, and only when the bytes were cut', () => {
    const euro = Buffer.from('€x'); // e2 82 ac 78
    expect(alignUtf8Start(euro.subarray(1), true).toString()).toBe('x');
    expect(alignUtf8Start(euro.subarray(1), false)).toEqual(euro.subarray(1));
    const binary = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x41]);
    expect(alignUtf8Start(binary, true)).toEqual(Buffer.from([0x80, 0x41]));
  });
});
