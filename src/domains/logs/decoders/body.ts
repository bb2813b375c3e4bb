import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { CorruptBodyError, IngestLimitError, MAX_BODY_BYTES, UnsupportedEncodingError } from './limits.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

const tooLarge = (limit: number, what: string): IngestLimitError =>
  new IngestLimitError('body', `${what} is over the limit of ${limit.toLocaleString('en')} bytes: send smaller batches`);

/** zlib stops and fails with this code once the output passes `maxOutputLength`. */
const isOutputLimit = (err: unknown): boolean =>
  err instanceof RangeError || (err as NodeJS.ErrnoException | null)?.code === 'ERR_BUFFER_TOO_LARGE';

async function inflateEither(body: Buffer, opts: zlib.ZlibOptions): Promise<Buffer> {
  try {
    return await inflate(body, opts);
  } catch (err) {
    // `Content-Encoding: deflate` means zlib-wrapped data (RFC 9110), but some clients send raw
    // deflate; a header error is the sign of that.
    if ((err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') return inflateRaw(body, opts);
    throw err;
  }
}

/**
 * Decodes a request body per its Content-Encoding (`gzip`, `x-gzip`, `deflate`, `br`, `identity`,
 * or a comma-separated list of them, applied in order). Decompression runs on the libuv pool and is
 * cut off as soon as the output passes `limit`, so a zip bomb costs at most `limit` bytes of memory.
 *
 * Throws IngestLimitError (413) when the body or its decompressed form is over `limit`,
 * UnsupportedEncodingError (415) for other encodings, CorruptBodyError (400) for corrupt data.
 */
export async function decodeBody(body: Buffer | Uint8Array, contentEncoding: string | undefined, limit = MAX_BODY_BYTES): Promise<Buffer> {
  let out = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (out.byteLength > limit) throw tooLarge(limit, codings.length > 0 ? 'compressed body' : 'body');
  // Codings are listed in the order they were applied: undo them last to first.
  for (const coding of codings.reverse()) {
    const opts = { maxOutputLength: limit };
    try {
      switch (coding) {
        case 'gzip':
        case 'x-gzip':
          out = await gunzip(out, opts);
          break;
        case 'deflate':
          out = await inflateEither(out, opts);
          break;
        case 'br':
          out = await brotli(out, opts);
          break;
        default:
          throw new UnsupportedEncodingError(coding);
      }
    } catch (err) {
      if (err instanceof UnsupportedEncodingError) throw err;
      if (isOutputLimit(err)) throw tooLarge(limit, 'decompressed body');
      throw new CorruptBodyError(coding, err instanceof Error ? err.message : String(err));
    }
    // maxOutputLength allows exactly `limit` bytes; one more is already over.
    if (out.byteLength > limit) throw tooLarge(limit, 'decompressed body');
  }
  return out;
}
