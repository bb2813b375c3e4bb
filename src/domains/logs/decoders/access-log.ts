import { AccessLogParser, type AccessLogFormat } from '../parsers/access-log.js';
import { ClfAccessLogParser } from '../parsers/clf.js';
import type { AccessRecord } from '../parsers/record.js';
import type { EventFields } from '../normalise.js';
import type { DecodeOptions, DecodeResult } from './limits.js';
import { decodeTextLines, type TextLineParser } from './native.js';

/**
 * Bridges the access-log parsers (../parsers: CSV, Common/Combined Log Format) to the decoders:
 * `?format=clf|combined|csv` plain-text bodies, and raw access-log lines shipped as messages
 * through Loki, Datadog or OTLP (`parseMessage`).
 */

export type AccessLogBodyFormat = 'clf' | 'combined' | 'csv' | 'auto';

/** An access-log record as raw event fields; `-` user/referer are left out. */
export function accessRecordFields(r: AccessRecord): EventFields {
  const attributes: Record<string, unknown> = {};
  if (r.user !== '-' && r.user !== '') attributes.user = r.user;
  if (r.protocol !== '') attributes.protocol = r.protocol;
  if (r.referer !== undefined && r.referer !== '-' && r.referer !== '') attributes.referer = r.referer;
  return {
    timestamp: new Date(r.time * 1000),
    method: r.method,
    path: r.path,
    status: r.status,
    bytes: r.bytes,
    remoteAddr: r.host,
    userAgent: r.userAgent,
    attributes,
  };
}

/** A line parser for one request body (fresh per request: a CSV header names the columns). */
export function accessLogLineParser(format: AccessLogBodyFormat): TextLineParser {
  // CLF and Combined share one parser: Combined is CLF plus referer and user agent.
  const parser = new AccessLogParser(format === 'auto' ? 'auto' : format === 'csv' ? 'csv' : ('clf' satisfies AccessLogFormat));
  return (line) => {
    const r = parser.parse(line);
    if (r === null) return { skip: true };
    return r.ok ? { ok: true, fields: accessRecordFields(r.record) } : { ok: false, reason: r.reason };
  };
}

/** `POST /api/v1/logs?format=clf|combined|csv`: each line one event, rejections by line number. */
export function decodeAccessLog(body: Uint8Array | string, format: AccessLogBodyFormat, options: DecodeOptions = {}): DecodeResult {
  return decodeTextLines(body, accessLogLineParser(format), options);
}

/**
 * `parseMessage` for decoders whose messages may be raw CLF/Combined lines (Fluent Bit or Vector
 * tailing an nginx log and shipping it as is). Non-matching messages are left alone.
 */
export function accessLogMessageParser(): (message: string) => EventFields | null {
  const clf = new ClfAccessLogParser();
  return (message) => {
    const r = clf.parse(message.replace(/\r?\n$/, ''));
    return r.ok ? accessRecordFields(r.record) : null;
  };
}
