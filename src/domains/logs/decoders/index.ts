/**
 * Ingest decoders: request bytes of each log protocol → normalised events plus per-event
 * rejections. Pure (no I/O besides zlib); the HTTP routes wire them to storage.
 */
export { decodeBody } from './body.js';
export { decodeNative, decodeTextLines, splitLines, type TextLineParser, type TextLineResult } from './native.js';
export {
  decodeAccessLog,
  accessLogLineParser,
  accessLogMessageParser,
  accessRecordFields,
  type AccessLogBodyFormat,
} from './access-log.js';
export { decodeDatadog, parseDdtags, type DatadogDecodeOptions, type DatadogQuery } from './datadog.js';
export { decodeLoki, parseLokiLabels } from './loki.js';
export {
  decodeOtlp,
  otlpFormat,
  otlpPartialSuccess,
  encodeOtlpResponse,
  otlpErrorStatus,
  type OtlpDecodeResult,
  type OtlpExportResponse,
  type OtlpFormat,
} from './otlp.js';
export {
  MAX_BODY_BYTES,
  MAX_EVENT_BYTES,
  MAX_EVENTS_PER_REQUEST,
  IngestLimitError,
  UnsupportedEncodingError,
  CorruptBodyError,
  type DecodeOptions,
  type DecodeResult,
  type Rejection,
} from './limits.js';
