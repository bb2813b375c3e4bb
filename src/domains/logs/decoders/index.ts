/**
 * Ingest decoders: request bytes of each log protocol → normalised events plus per-event
 * rejections. Pure (no I/O besides zlib); the HTTP routes wire them to storage.
 */

export { otlpPartialSuccess, encodeOtlpResponse, otlpErrorStatus } from './otlp.js';
export { MAX_BODY_BYTES, type Rejection } from './limits.js';
