import fc from 'fast-check';
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { CorruptSnappyError, SnappyTooLargeError, uncompressSnappy } from './snappy.js';

const LIMIT = 1 << 20;
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** The outcome in a comparable form: the bytes, or the kind of error and its message. */
function outcome(block: Uint8Array): { ok: Buffer } | { error: string; message: string } {
  try {
    return { ok: Buffer.from(uncompressSnappy(block, LIMIT)) };
  } catch (err) {
    if (err instanceof CorruptSnappyError || err instanceof SnappyTooLargeError) return { error: err.name, message: err.message };
    throw err;
  }
}

// A guard only: the loops these inputs caused were synchronous, so a hang blocks the worker; the
// assertions are about the reason each one is refused.
const FAST = 5_000;

describe('uncompressSnappy', () => {
  it('gives back what snappyjs compressed, for text and for random bytes', () => {
    const repetitive = fc.array(fc.constantFrom('GET /api/user HTTP/1.1 ', '200 ', 'a', '\n', 'é'), { maxLength: 400 }).map((p) => Buffer.from(p.join('')));
    fc.assert(
      fc.property(fc.oneof(repetitive, fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b))), (input) => {
        expect(uncompressSnappy(Buffer.from(snappy.compress(input)), LIMIT)).toEqual(input);
      }),
    );
    // Literals longer than 60 bytes (1–4 length bytes) and copies with 2-byte offsets.
    const big = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251));
    expect(uncompressSnappy(Buffer.from(snappy.compress(Buffer.concat([big, big]))), LIMIT)).toEqual(Buffer.concat([big, big]));
  });

  it(
    'refuses a literal whose 4-byte length is 2^31 or more (snappyjs looped forever on it)',
    () => {
      // Declared length 16; literal tag 0xfc takes its length-1 from the next 4 bytes: 0xfffffffa.
      // snappyjs read that as -6, stepped back onto the same tag and never returned.
      expect(outcome(bytes(0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff))).toEqual({
        error: 'CorruptSnappyError',
        message: 'invalid Snappy block: the literal at byte 1 declares 4,294,967,291 bytes, past the end of the data',
      });
      // Found by the decoder fuzz test: each kept snappyjs spinning for ~10 s before it gave up.
      expect(outcome(Buffer.from('9af903fc4097c6b820', 'hex'))).toMatchObject({ message: expect.stringMatching(/literal at byte 3 declares 3,100,022,593 bytes, past the end/) });
      expect(outcome(Buffer.from('ee08fc15fdb7800700', 'hex'))).toMatchObject({ message: expect.stringMatching(/literal at byte 2 declares 2,159,541,526 bytes, past the end/) });
    },
    FAST,
  );

  it('says what is wrong with other malformed blocks, and where', () => {
    const corrupt = (block: Uint8Array) => {
      const r = outcome(block);
      expect(r).toMatchObject({ error: 'CorruptSnappyError' });
      return 'message' in r ? r.message.replace('invalid Snappy block: ', '') : '';
    };
    expect(corrupt(bytes())).toBe('the data is empty');
    expect(corrupt(bytes(0x80, 0x80))).toBe('the length preamble is cut off');
    expect(corrupt(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).toBe('the length preamble is longer than 5 bytes');
    // Copy before any output (offset 1 with nothing produced), and offset 0.
    expect(corrupt(bytes(0x04, 0x01, 0x01))).toBe('the copy at byte 1 reaches back 1 bytes with 0 produced so far');
    expect(corrupt(bytes(0x05, 0x00, 0x61, 0x01, 0x00))).toBe('the copy at byte 3 reaches back 0 bytes with 1 produced so far');
    expect(corrupt(bytes(0x05, 0x00, 0x61, 0x02, 0x01))).toBe('the copy at byte 3 is cut off in its offset');
    expect(corrupt(bytes(0x05, 0x00, 0x61, 0xf4, 0x01))).toBe('the literal at byte 3 is cut off in its length');
    // Copies that write past the declared length, and a stream that stops short of it.
    expect(corrupt(bytes(0x02, 0x00, 0x61, 0x01, 0x01))).toBe('the element at byte 3 goes past the declared length of 2 bytes');
    expect(corrupt(bytes(0x03, 0x00, 0x61))).toBe('the data ends after 1 of the declared 3 bytes');
  });

  it('refuses a block that declares more than the limit before doing any work', () => {
    // 5-byte preamble for 2^32 - 1 (snappyjs read it as -1); the elements are never looked at.
    expect(outcome(bytes(0xff, 0xff, 0xff, 0xff, 0x0f, 0xfc, 0xfa, 0xff, 0xff, 0xff))).toMatchObject({ error: 'SnappyTooLargeError' });
    expect(() => uncompressSnappy(Buffer.from(snappy.compress(Buffer.alloc(LIMIT + 1))), LIMIT)).toThrow(SnappyTooLargeError);
    expect(uncompressSnappy(Buffer.from(snappy.compress(Buffer.alloc(LIMIT))), LIMIT)).toHaveLength(LIMIT);
  });

  it('on random and mutated blocks, either returns exactly the declared length or refuses with a reason', () => {
    const valid = Buffer.from(snappy.compress(Buffer.from('10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /api/user HTTP/1.1" 200 512\n'.repeat(20))));
    const mutated = fc.tuple(fc.nat(), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([a, b, junk]) => {
      const [x, y] = [a % (valid.length + 1), b % (valid.length + 1)].sort((p, q) => p - q) as [number, number];
      return Buffer.concat([valid.subarray(0, x), junk, valid.subarray(y)]);
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated), (block) => {
        const r = outcome(block);
        if ('ok' in r) {
          let declared = 0;
          for (let i = 0; i < 5; i++) {
            declared += (block[i]! & 0x7f) * 2 ** (7 * i);
            if (block[i]! < 0x80) break;
          }
          expect(r.ok.length).toBe(declared);
        } else {
          expect(r.message.length).toBeGreaterThan('invalid Snappy block: '.length);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
