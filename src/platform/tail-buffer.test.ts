import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TailBuffer } from './tail-buffer.js';

describe('TailBuffer', () => {
  it('keeps exactly the last `limit` bytes of any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 30 }), fc.integer({ min: 0, max: 120 }), (chunks, limit) => {
        const tail = new TailBuffer(limit);
        for (const c of chunks) tail.push(Buffer.from(c));
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        expect(tail.totalBytes).toBe(all.length);
        expect(tail.toBuffer().equals(all.subarray(Math.max(0, all.length - limit)))).toBe(true);
        expect(tail.truncated).toBe(all.length > limit);
      }),
    );
  });
});
