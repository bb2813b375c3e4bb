import { NATIVE_ALIASES, extractFields, isRecord, type EventFields } from '../normalise.js';
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
import { enrichMessage, notAnObject } from './common.js';

/**
 * Native `POST /api/v1/logs`: a JSON array of events, one JSON object, or NDJSON (one object per
 * line). NDJSON is chosen by Content-Type (`application/x-ndjson`, `application/jsonlines`...) or,
 * for other types, when the body is not one JSON document. Field names are flexible (see
 * NATIVE_ALIASES): this is what Vector's `http` sink (json codec), Fluent Bit's `http` output
 * (`json`, `json_lines`) and curl send.
 */

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonlines', 'application/x-jsonlines', 'application/jsonl', 'application/json-seq']);

/** One event from one parsed JSON value. */
function fieldsOf(value: unknown, options: DecodeOptions): EventFields | string {
  if (!isRecord(value)) return notAnObject(value);
  return enrichMessage(extractFields(value, NATIVE_ALIASES), options);
}

function parseError(err: unknown): string {
  return `invalid JSON: ${err instanceof Error ? err.message : String(err)}`;
}

export function decodeNative(body: Uint8Array | string, options: DecodeOptions = {}): DecodeResult {
  const text = bodyText(body);
  const collector = new Collector(byteLength(body), options);
  const type = mediaType(options.contentType);

  if (!NDJSON_TYPES.has(type)) {
    const first = text.trimStart()[0];
    if (first === undefined) return wholeBodyRejected('body is empty: send a JSON array, a JSON object or NDJSON');
    if (first === '[') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return wholeBodyRejected(`body is not a valid JSON array: ${parseError(err)}`);
      }
      const items = parsed as unknown[];
      if (items.length > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(items.length);
      items.forEach((item, index) => collector.acceptFields(fieldsOf(item, options), { index }));
      return collector.result;
    }
    if (first !== '{') {
      return wholeBodyRejected(`body must be a JSON array, a JSON object or NDJSON (it starts with ${JSON.stringify(first)})`);
    }
    // One object, possibly pretty-printed over several lines; if it does not parse as one
    // document, it is NDJSON sent with a generic content type.
    try {
      const parsed: unknown = JSON.parse(text);
      collector.acceptFields(fieldsOf(parsed, options), { index: 0 });
      return collector.result;
    } catch {
      // fall through to NDJSON
    }
  }
  return decodeNdjson(text, collector, options);
}

function decodeNdjson(text: string, collector: Collector, options: DecodeOptions): DecodeResult {
  const lines = splitLines(text);
  let count = 0;
  for (const line of lines) if (line.trim() !== '') count++;
  if (count > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(count);
  lines.forEach((raw, i) => {
    // RFC 7464 json-seq prefixes records with RS; tolerate it.
    const line = (raw.startsWith('\u001e') ? raw.slice(1) : raw).trim();
    if (line === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      collector.reject({ line: i + 1 }, parseError(err));
      return;
    }
    collector.acceptFields(fieldsOf(parsed, options), { line: i + 1 });
  });
  return collector.result;
}

/** Lines of a body; CRLF and LF both end a line. */
export const splitLines = (text: string): string[] => text.split(/\r?\n/);

/**
 * What a plain-text line parser (CLF, Combined, CSV access logs) says about one line: its fields,
 * a reason it is bad, or that it is to be skipped (a CSV header, a comment).
 */
export type TextLineResult = { ok: true; fields: EventFields } | { ok: false; reason: string } | { skip: true };

/**
 * Parses one line of a plain-text body. Stateful parsers (a CSV header that names the columns)
 * are made fresh for each request.
 */
export type TextLineParser = (line: string, lineNumber: number) => TextLineResult;

/**
 * Native `POST /api/v1/logs?format=clf|combined|csv`: one access-log line per event, parsed by the
 * given line parser (see ../parsers). Rejections name the 1-based line.
 */
export function decodeTextLines(body: Uint8Array | string, parseLine: TextLineParser, options: DecodeOptions = {}): DecodeResult {
  const text = bodyText(body);
  const collector = new Collector(byteLength(body), options);
  const lines = splitLines(text);
  let count = 0;
  for (const line of lines) if (line.trim() !== '') count++;
  // A CSV header is one line more than its events.
  if (count > MAX_EVENTS_PER_REQUEST + 1) throw tooManyEvents(count);
  let accepted = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: TextLineResult;
    try {
      parsed = parseLine(line, i + 1);
    } catch (err) {
      // A parser bug must not lose the rest of the batch.
      parsed = { ok: false, reason: `cannot parse line: ${err instanceof Error ? err.message : String(err)}` };
    }
    if ('skip' in parsed) return;
    if (!parsed.ok) {
      collector.reject({ line: i + 1 }, parsed.reason);
      return;
    }
    accepted++;
    collector.acceptFields({ message: line, ...parsed.fields }, { line: i + 1 });
  });
  if (accepted > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(accepted);
  return collector.result;
}
