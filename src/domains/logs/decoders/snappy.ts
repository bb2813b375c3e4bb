import snappy from 'snappyjs';

/**
 * Snappy block format (what Loki push bodies are compressed with), decompressed by snappyjs after a
 * bounds-checking walk over the block.
 *
 * Why the walk: snappyjs trusts its input. It reads a literal's 4-byte length as a signed 32-bit
 * number, so a length of 2^31 or more becomes negative and moves its read position backwards; six
 * bytes (`10 fc fa ff ff ff`) make it re-read the same tag forever, and other values spin for
 * billions of steps, one request pinning a CPU. It also lets copies run past the declared length
 * and pads a short stream with zeros. The walk checks every element against the format
 * (github.com/google/snappy, format_description.txt) with unsigned arithmetic, so snappyjs only
 * ever sees well-formed blocks, on which it is correct. The walk costs one pass over the compressed
 * bytes, constant work per element.
 */

/** The block declares an uncompressed length over the caller's limit (checked before any work). */
export class SnappyTooLargeError extends Error {
  constructor(
    readonly declaredLength: number,
    readonly limit: number,
  ) {
    super(`the uncompressed length of ${declaredLength.toLocaleString('en')} bytes is over the limit of ${limit.toLocaleString('en')}`);
    this.name = 'SnappyTooLargeError';
  }
}

/** The bytes are not a well-formed Snappy block; the message says what is wrong and at which byte. */
export class CorruptSnappyError extends Error {
  constructor(detail: string) {
    super(`invalid Snappy block: ${detail}`);
    this.name = 'CorruptSnappyError';
  }
}

/** Unsigned little-endian integer of `count` (1–4) bytes; the caller has checked they exist. */
function readLittleEndian(block: Uint8Array, pos: number, count: number): number {
  let value = 0;
  // Multiplication rather than `<<`, which would turn a top byte of 0x80 or more negative.
  for (let i = count - 1; i >= 0; i--) value = value * 256 + block[pos + i]!;
  return value;
}

/** The preamble: the uncompressed length as a varint of at most 5 bytes, below 2^32. */
function readDeclaredLength(block: Uint8Array): { length: number; next: number } | string {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    const byte = block[i];
    if (byte === undefined) return i === 0 ? 'the data is empty' : 'the length preamble is cut off';
    length += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return length > 0xffff_ffff ? 'the length preamble is over 2^32' : { length, next: i + 1 };
  }
  return 'the length preamble is longer than 5 bytes';
}

/** Why the elements after the preamble do not produce exactly `declared` bytes, or null when they do. */
function elementProblem(block: Uint8Array, start: number, declared: number): string | null {
  const end = block.length;
  let pos = start;
  let produced = 0;
  while (pos < end) {
    const at = pos;
    const tag = block[pos++]!;
    let length: number;
    if ((tag & 3) === 0) {
      // Literal: length-1 in the tag's upper 6 bits, or in the 1–4 bytes after it (values 60–63).
      length = (tag >>> 2) + 1;
      if (length > 60) {
        const lengthBytes = length - 60;
        if (pos + lengthBytes > end) return `the literal at byte ${at} is cut off in its length`;
        length = readLittleEndian(block, pos, lengthBytes) + 1;
        pos += lengthBytes;
      }
      if (length > end - pos) return `the literal at byte ${at} declares ${length.toLocaleString('en')} bytes, past the end of the data`;
      pos += length;
    } else {
      // Copy of earlier output: offset in 1 (plus 3 tag bits), 2 or 4 bytes after the tag.
      const offsetBytes = (tag & 3) === 1 ? 1 : (tag & 3) === 2 ? 2 : 4;
      if (pos + offsetBytes > end) return `the copy at byte ${at} is cut off in its offset`;
      let offset: number;
      if (offsetBytes === 1) {
        length = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) + block[pos]!;
      } else {
        length = (tag >>> 2) + 1;
        offset = readLittleEndian(block, pos, offsetBytes);
      }
      pos += offsetBytes;
      if (offset === 0 || offset > produced) {
        return `the copy at byte ${at} reaches back ${offset.toLocaleString('en')} bytes with ${produced.toLocaleString('en')} produced so far`;
      }
    }
    produced += length;
    if (produced > declared) return `the element at byte ${at} goes past the declared length of ${declared.toLocaleString('en')} bytes`;
  }
  return produced === declared ? null : `the data ends after ${produced.toLocaleString('en')} of the declared ${declared.toLocaleString('en')} bytes`;
}

/**
 * Decompresses a Snappy block of at most `maxLength` uncompressed bytes. The result is the same
 * kind as the input (a Buffer for a Buffer).
 *
 * Throws SnappyTooLargeError when the block declares more than `maxLength` bytes, CorruptSnappyError
 * when it is malformed. Linear in the size of the block, whatever its bytes.
 */
export function uncompressSnappy<T extends Uint8Array>(block: T, maxLength: number): T {
  const preamble = readDeclaredLength(block);
  if (typeof preamble === 'string') throw new CorruptSnappyError(preamble);
  if (preamble.length > maxLength) throw new SnappyTooLargeError(preamble.length, maxLength);
  const problem = elementProblem(block, preamble.next, preamble.length);
  if (problem !== null) throw new CorruptSnappyError(problem);
  try {
    return snappy.uncompress(block, maxLength);
  } catch (err) {
    // Not expected after the walk; kept typed so callers see one kind of failure.
    throw new CorruptSnappyError(err instanceof Error ? err.message : String(err));
  }
}
