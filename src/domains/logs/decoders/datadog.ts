import { DATADOG_ALIASES, extractFields, isRecord, type EventFields, type Rec } from '../normalise.js';
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
import { splitLines } from './native.js';

/**
 * Datadog-compatible `POST /api/v2/logs` (the HTTP logs intake): a JSON array of log objects
 * `{ddsource, ddtags: "k:v,k2:v2", hostname, message, service, status, timestamp?, ...attributes}`,
 * or one such object, or (`text/plain`) one message per line with tags in the query string.
 * Vector's `datadog_logs` sink and Fluent Bit's `datadog` output send the array form, with
 * `timestamp` in epoch milliseconds.
 *
 * Datadog semantics kept here: `status` is the log level; HTTP fields are the standard attributes
 * (`http.method`, `http.status_code`, `http.url`, `http.url_details.path`, `network.client.ip`,
 * `http.useragent`, `duration` in nanoseconds); a message that is itself a JSON object is parsed.
 */

/** Query parameters the intake accepts, applied to events that do not set them. */
export interface DatadogQuery {
  ddtags?: string | undefined;
  ddsource?: string | undefined;
  service?: string | undefined;
  hostname?: string | undefined;
}

export interface DatadogDecodeOptions extends DecodeOptions {
  query?: DatadogQuery;
}

/**
 * `ddtags` (`env:prod,team:web,beta`) as a record: a repeated key keeps every value (an array),
 * a tag without `:` maps to "".
 */
export function parseDdtags(tags: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const raw of tags.split(',')) {
    const tag = raw.trim();
    if (tag === '') continue;
    const colon = tag.indexOf(':');
    const key = colon < 0 ? tag : tag.slice(0, colon);
    const value = colon < 0 ? '' : tag.slice(colon + 1);
    if (key === '__proto__') continue;
    // Own keys only: a `constructor` tag must not find Object.prototype's member.
    const prev = Object.hasOwn(out, key) ? out[key] : undefined;
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

const firstTag = (tags: Record<string, string | string[]>, key: string): string | undefined => {
  const v = tags[key];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Parsed `ddtags` by tag string, for one request: agents repeat the same tags on every log of a
 * batch. The parsed records are frozen because events of the request share them.
 */
type TagCache = Map<string, Readonly<Record<string, string | string[]>>>;

function cachedTags(cache: TagCache, tagString: string): Readonly<Record<string, string | string[]>> {
  let tags = cache.get(tagString);
  if (tags === undefined) {
    const parsed = parseDdtags(tagString);
    for (const v of Object.values(parsed)) if (Array.isArray(v)) Object.freeze(v);
    tags = Object.freeze(parsed);
    // Bounded: a hostile batch of distinct tag strings must not grow it past the batch size.
    if (cache.size < 1000) cache.set(tagString, tags);
  }
  return tags;
}

function datadogFields(item: unknown, query: DatadogQuery, options: DecodeOptions, cache: TagCache): EventFields | string {
  if (!isRecord(item)) return notAnObject(item);
  let record: Rec = { ...item };
  // Some senders nest the structured log under `message`; its fields count as top-level ones.
  if (isRecord(record.message)) {
    const { message: inner, ...envelope } = record;
    record = { ...(inner as Rec), ...envelope };
  }
  const tagString = [typeof record.ddtags === 'string' ? record.ddtags : '', query.ddtags ?? ''].filter((t) => t !== '').join(',');
  delete record.ddtags;
  const fields = enrichMessage(extractFields(record, DATADOG_ALIASES), options, DATADOG_ALIASES);
  if (tagString !== '') {
    const tags = cachedTags(cache, tagString);
    fields.attributes = { ...fields.attributes, tags };
    // Unified service tagging: `service:`/`host:`/`source:` tags stand in for missing fields.
    fields.service ??= firstTag(tags, 'service');
    fields.host ??= firstTag(tags, 'host');
    fields.source ??= firstTag(tags, 'source');
  }
  fields.service ??= query.service;
  fields.host ??= query.hostname;
  fields.source ??= query.ddsource;
  return fields;
}

export function decodeDatadog(body: Uint8Array | string, options: DatadogDecodeOptions = {}): DecodeResult {
  const query = options.query ?? {};
  const text = bodyText(body);
  const collector = new Collector(byteLength(body), options);
  const cache: TagCache = new Map();
  const accept = (item: unknown, at: { index?: number; line?: number }): void => collector.acceptFields(datadogFields(item, query, options, cache), at);

  const first = text.trimStart()[0];
  if (mediaType(options.contentType) === 'text/plain' || (first !== '[' && first !== '{' && first !== undefined)) {
    // Plain text: each line is a message (the intake's text/plain form).
    const lines = splitLines(text);
    const count = lines.filter((l) => l.trim() !== '').length;
    if (count > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(count);
    lines.forEach((line, i) => {
      if (line.trim() !== '') accept({ message: line }, { line: i + 1 });
    });
    return collector.result;
  }
  if (first === undefined) return wholeBodyRejected('body is empty: send a JSON array of log objects');

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return wholeBodyRejected(`body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(parsed)) {
    accept(parsed, { index: 0 });
    return collector.result;
  }
  if (parsed.length > MAX_EVENTS_PER_REQUEST) throw tooManyEvents(parsed.length);
  parsed.forEach((item, index) => accept(item, { index }));
  return collector.result;
}
