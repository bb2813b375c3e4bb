import { httpStatusOf } from '../../../platform/http/errors.js';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody } from './body.js';
import { CorruptBodyError, IngestLimitError, MAX_BODY_BYTES, UnsupportedEncodingError } from './limits.js';
import { decodeNative } from './native.js';
import { fixture } from './test-support.js';

describe('decodeBody (Content-Encoding)', () => {
  const payload = fixture('vector-http-array.json');

  it.each([
    ['gzip', zlib.gzipSync(payload)],
    ['x-gzip', zlib.gzipSync(payload)],
    ['GZIP', zlib.gzipSync(payload)],
    ['deflate', zlib.deflateSync(payload)],
    ['deflate', zlib.deflateRawSync(payload)], // raw deflate, as some clients send it
    ['br', zlib.brotliCompressSync(payload)],
    ['identity', payload],
    [undefined, payload],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(payload))],
  ])('decodes %s', async (encoding, body) => {
    const out = await decodeBody(body, encoding);
    expect(out.equals(payload)).toBe(true);
    expect(decodeNative(out).events).toHaveLength(2);
  });

  it('stops a zip bomb at the limit without inflating it', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KB
    const before = process.memoryUsage().rss;
    const err = await decodeBody(bomb, 'gzip').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestLimitError);
    expect(httpStatusOf(err as IngestLimitError)).toBe(413);
    expect((err as IngestLimitError).message).toMatch(/decompressed body is over the limit of 5,242,880 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('accepts exactly the limit and refuses one byte more', async () => {
    await expect(decodeBody(zlib.gzipSync(Buffer.alloc(MAX_BODY_BYTES)), 'gzip')).resolves.toHaveLength(MAX_BODY_BYTES);
    await expect(decodeBody(zlib.gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1)), 'gzip')).rejects.toBeInstanceOf(IngestLimitError);
    await expect(decodeBody(Buffer.alloc(MAX_BODY_BYTES + 1), undefined)).rejects.toBeInstanceOf(IngestLimitError);
    await expect(decodeBody(Buffer.alloc(100), 'gzip', 10)).rejects.toBeInstanceOf(IngestLimitError);
  });

  it('answers corrupt data with 400 and unknown encodings with 415', async () => {
    const corrupt = await decodeBody(Buffer.from('not gzip at all'), 'gzip').catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(CorruptBodyError);
    expect(httpStatusOf(corrupt as CorruptBodyError)).toBe(400);
    const truncated = zlib.gzipSync(payload).subarray(0, 40);
    await expect(decodeBody(truncated, 'gzip')).rejects.toBeInstanceOf(CorruptBodyError);
    const unknown = await decodeBody(payload, 'zstd').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnsupportedEncodingError);
    expect(httpStatusOf(unknown as UnsupportedEncodingError)).toBe(415);
  });
});
