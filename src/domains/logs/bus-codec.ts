/**
 * How accepted log events travel on the event bus from ingest to the stream processor: one JSON
 * message per slice of a request's events, small enough for the bus (NATS' default max payload is
 * 1 MiB). JSON keeps the wire format readable with `nats sub` and costs less than the decoding
 * the events already went through.
 */
import type { NormalisedEvent } from './normalise.js';

export const LOG_TOPIC = 'logs';

export interface LogMessage {
  orgId: string;
  events: NormalisedEvent[];
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000, which JSON and protobuf payloads can carry; it is
 * replaced by U+FFFD here so one such event cannot fail the batch it travels in. Only a `\u0000`
 * escape preceded by an even number of backslashes is a NUL (an odd number escapes the backslash).
 */
const ESCAPED_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;

function encodeOne(message: LogMessage): Uint8Array {
  const json = JSON.stringify(message);
  return Buffer.from(json.includes('\\u0000') ? json.replace(ESCAPED_NUL, '$1\\ufffd') : json);
}

/** Encodes a request's events as as few messages as fit in `maxBytes` each, in order. */
export function encodeLogMessages(orgId: string, events: NormalisedEvent[], maxBytes: number): Uint8Array[] {
  if (events.length === 0) return [];
  const whole = encodeOne({ orgId, events });
  if (whole.byteLength <= maxBytes) return [whole];
  if (events.length === 1) {
    // The ingest limits keep one event at 1 MB; an event that still does not fit is a configuration
    // mismatch (a NATS server with a smaller max_payload), reported rather than silently cut.
    throw new RangeError(`one log event encodes to ${whole.byteLength} bytes, more than the bus allows (${maxBytes}); raise the NATS server's max_payload`);
  }
  const half = Math.ceil(events.length / 2);
  return [...encodeLogMessages(orgId, events.slice(0, half), maxBytes), ...encodeLogMessages(orgId, events.slice(half), maxBytes)];
}

export function decodeLogMessage(data: Uint8Array): LogMessage {
  const parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as LogMessage;
  if (typeof parsed.orgId !== 'string' || !Array.isArray(parsed.events)) throw new TypeError('not a Vigil log message');
  return parsed;
}
