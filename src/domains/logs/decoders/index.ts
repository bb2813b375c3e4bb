/**
 * Ingest decoders: request bytes of each log protocol → normalised events plus per-event
 * rejections. Pure (no I/O besides zlib); the HTTP routes wire them to storage.
 */
export { decodeBody } from './body.js';
export { decodeNative } from './native.js';
export { decodeAccessLog, accessLogMessageParser } from './access-log.js';
export { decodeDatadog } from './datadog.js';
export { decodeLoki } from './loki.js';
export { decodeOtlp, otlpFormat, otlpPartialSuccess, encodeOtlpResponse, otlpErrorStatus } from './otlp.js';
export { MAX_BODY_BYTES, type DecodeResult, type Rejection } from './limits.js';
