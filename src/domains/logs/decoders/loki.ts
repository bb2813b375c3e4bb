import { LOKI_ALIASES, extractFields, isRecord, nanosStringToMs, parseTimestamp, preview, type Rec } from '../normalise.js';
import { enrichMessage } from './common.js';
import {
  Collector,
  IngestLimitError,
  MAX_BODY_BYTES,
  MAX_EVENTS_PER_REQUEST,
  bodyText,
  byteLength,
  tooManyEvents,
  wholeBodyRejected,
  type DecodeOptions,
  type DecodeResult,
} from './limits.js';
import { mediaType } from '../../../platform/http/media-type.js';
import { LokiPushRequest, decodeProtobuf } from './proto.js';
import { SnappyTooLargeError, uncompressSnappy } from './snappy.js';

/**
 * Loki push `POST /loki/api/v1/push`, in its three forms:
 * - JSON: `{"streams":[{"stream":{labels},"values":[["<unix ns>","<line>",{structured metadata}?]]}]}`
 *   (Fluent Bit's `loki` output, Promtail/Alloy with JSON, curl);
 * - legacy JSON: `{"streams":[{"labels":"{job=\"x\"}","entries":[{"ts":"<RFC 3339>","line":"..."}]}]}`;
 * - snappy-compressed protobuf `logproto.PushRequest` (Vector's `loki` sink, Promtail, Alloy), chosen
 *   by a non-JSON Content-Type such as `application/x-protobuf`.
 * Labels and structured metadata become fields (service_name/service/app/job, host, level...) and
 * attributes; the line is the message, and a JSON line is parsed like a native event.
 */

interface LokiEntry {
  /** Epoch ms, or a reason the entry's timestamp is unusable. */
  timestamp: number | string;
  line: unknown;
  metadata: Rec;
}

interface LokiStream {
  labels: Rec | string;
  entries: unknown[];
  /** JSON `values` or protobuf/legacy `entries`, for rejection paths. */
  key: 'values' | 'entries';
  readEntry: (raw: unknown) => LokiEntry | string;
}

/**
 * Prometheus-style label set `{job="web", host="a\"b"}` as a record, or a reason it is malformed.
 */
export function parseLokiLabels(text: string): Rec | string {
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) return 'labels: expected {name="value", ...}';
  const out: Rec = {};
  let i = 1;
  const end = s.length - 1;
  const skipSpace = (): void => {
    while (i < end && /\s/.test(s[i]!)) i++;
  };
  skipSpace();
  while (i < end) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i, Math.min(end, i + 1024)));
    if (!name) return `labels: expected a label name at offset ${i}`;
    i += name[0].length;
    skipSpace();
    if (s[i] !== '=') return `labels: expected = after ${name[0]}`;
    i++;
    skipSpace();
    if (s[i] !== '"') return `labels: expected a quoted value for ${name[0]}`;
    i++;
    let value = '';
    for (;;) {
      if (i >= end) return `labels: unterminated value for ${name[0]}`;
      const c = s[i]!;
      if (c === '"') break;
      if (c === '\\') {
        const next = s[i + 1];
        value += next === 'n' ? '\n' : next === 't' ? '\t' : (next ?? '');
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    i++;
    if (name[0] !== '__proto__') out[name[0]] = value;
    skipSpace();
    if (s[i] === ',') {
      i++;
      skipSpace();
    } else if (i < end) {
      return `labels: expected , or } after ${name[0]}`;
    }
  }
  return out;
}

/** Protobuf text fields arrive as bytes (see LOKI_PUSH_PROTO): invalid UTF-8 becomes U+FFFD, as in JSON bodies. */
const lenient = (v: unknown): unknown => (v instanceof Uint8Array ? bodyText(v) : v);

const metadataRecord = (pairs: unknown): Rec => {
  const out: Rec = {};
  if (!Array.isArray(pairs)) return out;
  for (const p of pairs) {
    if (!isRecord(p)) continue;
    const name = lenient(p.name);
    if (typeof name === 'string' && name !== '__proto__') out[name] = lenient(p.value) ?? '';
  }
  return out;
};

/** JSON `values` entry: `["<unix ns>", "<line>", {structured metadata}?]`. */
function readJsonValue(raw: unknown): LokiEntry | string {
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 3) return 'expected ["<unix epoch in nanoseconds>", "<log line>", {structured metadata}?]';
  const [ts, line, meta] = raw as [unknown, unknown, unknown];
  const ms = typeof ts === 'string' ? nanosStringToMs(ts) : null;
  if (ms === null) return `timestamp: expected unix epoch nanoseconds as a string of digits, got ${preview(ts)}`;
  if (typeof line !== 'string') return `line: expected a string, got ${preview(line)}`;
  if (meta !== undefined && !isRecord(meta)) return 'structured metadata: expected an object of strings';
  return { timestamp: ms, line, metadata: meta === undefined ? {} : { ...meta } };
}

/** Legacy JSON / protobuf entry: `{ts|timestamp, line, structuredMetadata?}`. */
function readEntryObject(raw: unknown): LokiEntry | string {
  if (!isRecord(raw)) return 'expected an entry object {ts, line}';
  const ts = raw.timestamp ?? raw.ts;
  let timestamp: number | string;
  if (isRecord(ts)) {
    // google.protobuf.Timestamp {seconds, nanos}; seconds arrives as a decimal string.
    const seconds = Number(ts.seconds ?? 0);
    const nanos = Number(ts.nanos ?? 0);
    timestamp = Number.isFinite(seconds) && Number.isFinite(nanos) ? seconds * 1000 + Math.floor(nanos / 1e6) : 'timestamp: not a valid protobuf Timestamp';
  } else if (typeof ts === 'string' && ts.trim() !== '') {
    // The normaliser's reading, not Date.parse: that reads a zone-less time in the server's zone
    // (events are UTC) and accepts loose forms such as "May 1, 2024".
    const ms = parseTimestamp(ts);
    timestamp = ms === null ? `timestamp: cannot read ${preview(ts)} as RFC 3339` : ms;
  } else {
    timestamp = 'timestamp: missing';
  }
  return { timestamp, line: lenient(raw.line), metadata: metadataRecord(raw.structuredMetadata) };
}

function streamsOf(root: unknown): LokiStream[] | string {
  if (!isRecord(root)) return 'body must be a JSON object {"streams": [...]}';
  const streams = root.streams;
  if (!Array.isArray(streams)) return 'body has no "streams" array';
  return streams.map((st): LokiStream => {
    if (!isRecord(st)) return { labels: 'stream: expected an object', entries: [], key: 'values', readEntry: readJsonValue };
    if (Array.isArray(st.values) || isRecord(st.stream)) {
      const labels = st.stream === undefined ? {} : isRecord(st.stream) ? { ...st.stream } : 'stream: expected an object of labels';
      return { labels, entries: Array.isArray(st.values) ? st.values : [], key: 'values', readEntry: readJsonValue };
    }
    const labelText = lenient(st.labels);
    const labels = typeof labelText === 'string' && labelText.trim() !== '' ? parseLokiLabels(labelText) : {};
    return { labels, entries: Array.isArray(st.entries) ? st.entries : [], key: 'entries', readEntry: readEntryObject };
  });
}

function decodeStreams(streams: LokiStream[], collector: Collector, options: DecodeOptions): DecodeResult {
  let total = 0;
  for (const st of streams) total += st.entries.length;
  if (total > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(total);
  let index = 0;
  streams.forEach((st, s) => {
    st.entries.forEach((raw, e) => {
      const at = { index: index++, path: `streams[${s}].${st.key}[${e}]` };
      if (typeof st.labels === 'string') {
        collector.reject(at, `streams[${s}] ${st.labels}`);
        return;
      }
      const entry = st.readEntry(raw);
      if (typeof entry === 'string') {
        collector.reject(at, entry);
        return;
      }
      if (typeof entry.timestamp === 'string') {
        collector.reject(at, entry.timestamp);
        return;
      }
      if (typeof entry.line !== 'string') {
        collector.reject(at, 'line: expected a string');
        return;
      }
      const fields = extractFields({ ...st.labels, ...entry.metadata }, LOKI_ALIASES);
      // A Date, not the number: a number would have its unit guessed again from its magnitude
      // (milliseconds before 1973 read as seconds).
      fields.timestamp = new Date(entry.timestamp);
      fields.message = entry.line;
      collector.acceptFields(enrichMessage(fields, options), at);
    });
  });
  return collector.result;
}

export function decodeLoki(body: Uint8Array | string, options: DecodeOptions = {}): DecodeResult {
  const type = mediaType(options.contentType);
  const isJson = type.includes('json') || (type === '' && bodyText(body.slice(0, 64)).trimStart().startsWith('{'));

  if (isJson) {
    const text = bodyText(body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return wholeBodyRejected(`body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const streams = streamsOf(parsed);
    if (typeof streams === 'string') return wholeBodyRejected(streams);
    return decodeStreams(streams, new Collector(byteLength(body), options), options);
  }

  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  let raw: Uint8Array;
  try {
    raw = uncompressSnappy(bytes, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof SnappyTooLargeError) {
      throw new IngestLimitError('body', `decompressed body is over the limit of ${MAX_BODY_BYTES.toLocaleString('en')} bytes: send smaller batches`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return wholeBodyRejected(`body is not snappy-compressed protobuf (${message}); send Content-Type: application/json for JSON`);
  }
  let decoded: Rec;
  try {
    decoded = decodeProtobuf(LokiPushRequest, raw);
  } catch (err) {
    return wholeBodyRejected(`body is not a valid Loki PushRequest protobuf: ${err instanceof Error ? err.message : String(err)}`);
  }
  const streams = streamsOf({ streams: decoded.streams ?? [] });
  if (typeof streams === 'string') return wholeBodyRejected(streams);
  return decodeStreams(streams, new Collector(raw.byteLength, options), options);
}
