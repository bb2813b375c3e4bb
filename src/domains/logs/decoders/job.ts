import { encodeCopyRows, type CopyRows } from '../copy-rows.js';
import type { EventDefaults, EventFields } from '../normalise.js';
import { decodeAccessLog } from './access-log.js';
import { decodeBody } from './body.js';
import { decodeDatadog, type DatadogQuery } from './datadog.js';
import type { DecodeResult } from './limits.js';
import { decodeLoki } from './loki.js';
import { decodeNative } from './native.js';
import { decodeOtlp, type OtlpFormat } from './otlp.js';

/**
 * One ingest request's decoding as data: what the route learnt from the request besides its body.
 * Plain and structured-cloneable, so the same job runs inline or on a decode worker thread
 * (../decode-pool.ts) and gives the same answer either way: both call `runDecodeJob`.
 */
export type DecodeJob = {
  /** The request's Content-Encoding (gzip, deflate, br, identity, or a list of them). */
  contentEncoding?: string | undefined;
  /** The Content-Type the decoder goes by (the native route's `?format=ndjson` already applied). */
  contentType?: string | undefined;
  /**
   * The organisation whose log_events rows the outcome also carries, encoded for COPY
   * (copy-rows.ts), when the stream processor will take them as they are (in process, PostgreSQL).
   */
  rowsFor?: string | undefined;
} & (
  | { protocol: 'native'; defaults: EventDefaults }
  | { protocol: 'clf' | 'combined' | 'csv'; defaults: EventDefaults }
  | { protocol: 'datadog'; query: DatadogQuery }
  | { protocol: 'loki' }
  | { protocol: 'otlp' }
);

/** What decoding a request gave, and what the route needs of the body besides its events. */
export interface DecodeOutcome {
  result: DecodeResult;
  /** When the request's body was decoded, epoch ms: its events' arrival time. */
  receivedAt: number;
  /** Bytes of the body once its Content-Encoding is undone. */
  bodyBytes: number;
  /** OTLP only: the encoding the answer is written in (that of the request). */
  format?: OtlpFormat;
  /** The events' rows for `job.rowsFor`, when it was set. */
  rows?: CopyRows;
}

/**
 * Undoes the body's Content-Encoding, then decodes it per the job's protocol. Throws what
 * decodeBody and the decoders throw (IngestLimitError 413, UnsupportedEncodingError 415,
 * CorruptBodyError 400): requests refused whole.
 *
 * `parseMessage`: the access-log line reader for messages of Loki, Datadog and OTLP events (see
 * DecodeOptions); made once per route set or per worker, as it keeps a small cache.
 */
export async function runDecodeJob(job: DecodeJob, raw: Uint8Array, parseMessage: (message: string) => EventFields | null): Promise<DecodeOutcome> {
  const body = await decodeBody(raw, job.contentEncoding);
  const receivedAt = Date.now();
  const options = { contentType: job.contentType, receivedAt, parseMessage };
  const outcome = (result: DecodeResult, format?: OtlpFormat): DecodeOutcome => ({
    result,
    receivedAt,
    bodyBytes: body.byteLength,
    ...(format ? { format } : {}),
    ...(job.rowsFor === undefined ? {} : { rows: encodeCopyRows(job.rowsFor, result.events) }),
  });
  switch (job.protocol) {
    case 'native':
      return outcome(decodeNative(body, { ...options, defaults: job.defaults }));
    case 'clf':
    case 'combined':
    case 'csv':
      return outcome(decodeAccessLog(body, job.protocol, { ...options, defaults: job.defaults }));
    case 'datadog':
      return outcome(decodeDatadog(body, { ...options, query: job.query }));
    case 'loki':
      return outcome(decodeLoki(body, options));
    case 'otlp': {
      const { format, ...result } = decodeOtlp(body, options);
      return outcome(result, format);
    }
  }
}
