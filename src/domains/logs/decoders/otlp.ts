import {
  OTLP_ALIASES,
  extractFields,
  isRecord,
  levelFromSeverityNumber,
  mergeFields,
  nanosStringToMs,
  NATIVE_ALIASES,
  preview,
  type EventFields,
  type Rec,
} from '../normalise.js';
import { enrichMessage } from './common.js';
import {
  Collector,
  MAX_EVENTS_PER_REQUEST,
  bodyText,
  byteLength,
  tooManyEvents,
  wholeBodyRejected,
  type DecodeOptions,
  type DecodeResult,
} from './limits.js';
import { mediaType } from '../../../platform/http/media-type.js';
import { OtlpAnyValue, OtlpExportLogsServiceResponse, OtlpExportLogsServiceRequestLazy, OtlpKeyValue, OtlpStatus, decodeProtobuf, encodeProtobuf } from './proto.js';

/**
 * OTLP/HTTP logs `POST /v1/logs`: an ExportLogsServiceRequest as protobuf (`application/x-protobuf`,
 * the OpenTelemetry Collector's `otlphttp` exporter default) or as OTLP/JSON (`application/json`:
 * lowerCamelCase keys, 64-bit integers as decimal strings, trace/span ids as hex). snake_case keys
 * are accepted too. Resource attributes `service.name`/`host.name` give service and host; record
 * and resource attributes become attributes (HTTP semantic conventions such as
 * `http.request.method`, `url.path`, `http.response.status_code` fill the HTTP fields).
 */

export type OtlpFormat = 'json' | 'protobuf';

export interface OtlpDecodeResult extends DecodeResult {
  /** The request's encoding: answer in the same one. */
  format: OtlpFormat;
}

/** AnyValue nesting beyond this is refused (it would only be a stack-exhaustion attempt). */
const MAX_DEPTH = 64;

class RecordError extends Error {}

const field = (o: Rec, camel: string, snake: string): unknown => (Object.hasOwn(o, camel) ? o[camel] : o[snake]);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** An OTLP AnyValue as a plain JSON value. */
export function anyValue(v: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new RecordError(`value nested deeper than ${MAX_DEPTH} levels`);
  if (!isRecord(v)) return null;
  const s = field(v, 'stringValue', 'string_value');
  if (s !== undefined) return typeof s === 'string' ? s : String(s);
  const b = field(v, 'boolValue', 'bool_value');
  if (b !== undefined) return b === true || b === 'true';
  const i = field(v, 'intValue', 'int_value');
  if (i !== undefined) {
    const n = Number(i);
    // int64 beyond 2^53 keeps its exact decimal string.
    return Number.isSafeInteger(n) ? n : String(i);
  }
  const d = field(v, 'doubleValue', 'double_value');
  if (d !== undefined) return typeof d === 'number' ? d : Number(d);
  const arr = field(v, 'arrayValue', 'array_value');
  if (arr !== undefined) return isRecord(arr) ? list(arr.values).map((x) => anyValue(x, depth + 1)) : [];
  const kv = field(v, 'kvlistValue', 'kvlist_value');
  if (kv !== undefined) return isRecord(kv) ? keyValues(kv.values, depth + 1) : {};
  const bytes = field(v, 'bytesValue', 'bytes_value');
  if (bytes !== undefined) return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('base64') : String(bytes);
  return null;
}

/** A KeyValue list as a record (later duplicates win; `__proto__` is dropped). */
export function keyValues(kvs: unknown, depth = 0): Rec {
  const out: Rec = {};
  for (const kv of list(kvs)) {
    if (!isRecord(kv) || typeof kv.key !== 'string' || kv.key === '__proto__') continue;
    out[kv.key] = anyValue(kv.value, depth + 1);
  }
  return out;
}

/** Epoch ms from a fixed64 nanosecond time (decimal string, or a number from lenient JSON); 0/absent → undefined. */
function nanosToMs(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '' || v === '0' || v === 0) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v / 1e6);
  const ms = typeof v === 'string' ? nanosStringToMs(v) : null;
  if (ms === null) throw new RecordError(`${name}: expected unix epoch nanoseconds as a decimal string, got ${preview(v)}`);
  return ms;
}

function id(v: unknown): string | undefined {
  if (v instanceof Uint8Array) return v.byteLength === 0 || v.every((b) => b === 0) ? undefined : hex(v);
  if (typeof v === 'string' && v !== '' && !/^0*$/.test(v)) return v.toLowerCase();
  return undefined;
}

function recordFields(lr: Rec, resource: Rec, scope: Rec | undefined, options: DecodeOptions): EventFields {
  const attrs = keyValues(field(lr, 'attributes', 'attributes'));
  const fields = extractFields({ ...resource, ...attrs }, OTLP_ALIASES);
  const extra: Rec = {};
  const scopeName = scope === undefined ? undefined : scope.name;
  if (typeof scopeName === 'string' && scopeName !== '') extra['otel.scope.name'] = scopeName;
  const traceId = id(field(lr, 'traceId', 'trace_id'));
  if (traceId !== undefined) extra.trace_id = traceId;
  const spanId = id(field(lr, 'spanId', 'span_id'));
  if (spanId !== undefined) extra.span_id = spanId;
  const eventName = field(lr, 'eventName', 'event_name');
  if (typeof eventName === 'string' && eventName !== '') extra['event.name'] = eventName;
  fields.attributes = { ...fields.attributes, ...extra };

  const ms = nanosToMs(field(lr, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano') ?? nanosToMs(field(lr, 'observedTimeUnixNano', 'observed_time_unix_nano'), 'observedTimeUnixNano');
  // A Date, not the number: a number would have its unit guessed again from its magnitude
  // (milliseconds before 1973 read as seconds). None: the event takes its arrival time.
  fields.timestamp = ms === undefined ? undefined : new Date(ms);

  const severityText = field(lr, 'severityText', 'severity_text');
  if (typeof severityText === 'string' && severityText !== '') fields.level = severityText;
  else fields.level = levelFromSeverityNumber(Number(field(lr, 'severityNumber', 'severity_number') ?? 0)) ?? fields.level;

  const body = anyValue(field(lr, 'body', 'body'));
  if (typeof body === 'string') {
    fields.message = body;
    return enrichMessage(fields, options);
  }
  if (isRecord(body)) {
    // A structured body (e.g. a parsed access-log line) fills fields like a native event would.
    const inner = extractFields(body, NATIVE_ALIASES);
    const merged = mergeFields(fields, { ...inner, timestamp: undefined });
    merged.message = typeof inner.message === 'string' ? inner.message : JSON.stringify(body);
    return merged;
  }
  fields.message = body === null ? (typeof eventName === 'string' ? eventName : '') : JSON.stringify(body);
  return fields;
}

/**
 * A lazily decoded protobuf record (see ExportLogsServiceRequestLazy) with its body and attributes
 * decoded: throws for this record alone when they are malformed or nested too deep.
 */
function expandRecord(lr: Rec): Rec {
  const out: Rec = { ...lr };
  if (lr.body instanceof Uint8Array) out.body = decodeProtobuf(OtlpAnyValue, lr.body);
  if (Array.isArray(lr.attributes)) out.attributes = lr.attributes.map((kv) => (kv instanceof Uint8Array ? decodeProtobuf(OtlpKeyValue, kv) : kv));
  return out;
}

const expandAttributes = (attributes: unknown): unknown =>
  Array.isArray(attributes) ? attributes.map((kv) => (kv instanceof Uint8Array ? decodeProtobuf(OtlpKeyValue, kv) : kv)) : attributes;

function decodeRequest(root: unknown, collector: Collector, options: DecodeOptions, lazy: boolean): DecodeResult | string {
  if (!isRecord(root)) return 'body must be an ExportLogsServiceRequest object {"resourceLogs": [...]}';
  const resourceLogs = list(field(root, 'resourceLogs', 'resource_logs'));
  let total = 0;
  for (const rl of resourceLogs) {
    if (!isRecord(rl)) continue;
    for (const sl of list(field(rl, 'scopeLogs', 'scope_logs'))) if (isRecord(sl)) total += list(field(sl, 'logRecords', 'log_records')).length;
  }
  if (total > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(total);

  let index = 0;
  resourceLogs.forEach((rl, r) => {
    if (!isRecord(rl)) return;
    let resource: Rec = {};
    try {
      const res = field(rl, 'resource', 'resource');
      resource = isRecord(res) ? keyValues(lazy ? expandAttributes(res.attributes) : res.attributes) : {};
    } catch {
      resource = {};
    }
    list(field(rl, 'scopeLogs', 'scope_logs')).forEach((sl, s) => {
      if (!isRecord(sl)) return;
      const scope = field(sl, 'scope', 'scope');
      list(field(sl, 'logRecords', 'log_records')).forEach((lr, l) => {
        const at = { index: index++, path: `resourceLogs[${r}].scopeLogs[${s}].logRecords[${l}]` };
        if (!isRecord(lr)) {
          collector.reject(at, 'expected a LogRecord object');
          return;
        }
        let record: Rec;
        try {
          record = lazy ? expandRecord(lr) : lr;
        } catch (err) {
          // protobufjs' own errors (truncated value, "max depth exceeded") are about this record only.
          collector.reject(at, `record is not a valid LogRecord: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        try {
          collector.acceptFields(recordFields(record, resource, isRecord(scope) ? scope : undefined, options), at);
        } catch (err) {
          if (!(err instanceof RecordError) && !(err instanceof RangeError)) throw err;
          collector.reject(at, err.message);
        }
      });
    });
  });
  return collector.result;
}

/** Which encoding a request uses: by Content-Type, else by its first byte (`{` is JSON). */
export function otlpFormat(body: Uint8Array | string, contentType: string | undefined): OtlpFormat {
  const type = mediaType(contentType);
  if (type === 'application/json') return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  return bodyText(body.slice(0, 64)).trimStart().startsWith('{') ? 'json' : 'protobuf';
}

export function decodeOtlp(body: Uint8Array | string, options: DecodeOptions = {}): OtlpDecodeResult {
  const format = otlpFormat(body, options.contentType);
  const collector = new Collector(byteLength(body), options);
  let root: unknown;
  try {
    if (format === 'json') root = JSON.parse(bodyText(body));
    else root = decodeProtobuf(OtlpExportLogsServiceRequestLazy, typeof body === 'string' ? Buffer.from(body) : body);
  } catch (err) {
    const what = format === 'json' ? 'valid OTLP/JSON' : 'a valid ExportLogsServiceRequest protobuf';
    return { ...wholeBodyRejected(`body is not ${what}: ${err instanceof Error ? err.message : String(err)}`), format };
  }
  const result = decodeRequest(root, collector, options, format === 'protobuf');
  return typeof result === 'string' ? { ...wholeBodyRejected(result), format } : { ...result, format };
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface OtlpExportResponse {
  partialSuccess?: { rejectedLogRecords: string; errorMessage: string };
}

/**
 * The ExportLogsServiceResponse for a decoded request: empty on full success (the spec requires
 * `partial_success` unset then), else the rejected count and the first reasons. The count is an
 * int64, so OTLP/JSON writes it as a decimal string.
 */
export function otlpPartialSuccess(result: DecodeResult): OtlpExportResponse {
  const n = result.rejected.length;
  if (n === 0) return {};
  const shown = result.rejected.slice(0, 5).map((r) => (r.path === undefined ? r.reason : `${r.path}: ${r.reason}`));
  const more = n > shown.length ? `; and ${n - shown.length} more` : '';
  return { partialSuccess: { rejectedLogRecords: String(n), errorMessage: `${n} log record${n === 1 ? '' : 's'} rejected: ${shown.join('; ')}${more}` } };
}

/** The response body in the request's encoding. */
export function encodeOtlpResponse(response: OtlpExportResponse, format: OtlpFormat): Uint8Array | OtlpExportResponse {
  return format === 'json' ? response : encodeProtobuf(OtlpExportLogsServiceResponse, response as Rec);
}

/**
 * A google.rpc.Status for an OTLP/HTTP error response (400 for a bad body: code 3, INVALID_ARGUMENT),
 * in the request's encoding.
 */
export function otlpErrorStatus(message: string, format: OtlpFormat, code = 3): Uint8Array | { code: number; message: string } {
  const status = { code, message };
  return format === 'json' ? status : encodeProtobuf(OtlpStatus, status);
}
