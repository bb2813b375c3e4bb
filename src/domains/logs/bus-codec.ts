/**
 * How accepted log events travel on the event bus from ingest to the stream processor. On JetStream
 * they are JSON, one message per slice of a request small enough for the server (NATS' default max
 * payload is 1 MiB); JSON keeps the wire format readable with `nats sub`. The in-process bus hands
 * the decoded events over as they are: encoding and decoding them within one process would be
 * work done twice on the ingest path.
 */
import type { BusMessage, EventBus, PublishMessage } from '../../platform/bus/index.js';
import type { CopyRows } from './copy-rows.js';
import type { LogEvent } from './event.js';

export const LOG_TOPIC = 'logs';

export interface LogMessage {
  orgId: string;
  events: LogEvent[];
  /** In process only: the events' rows as the decode worker encoded them for COPY (copy-rows.ts), one per event. */
  rows?: CopyRows;
}

const EMPTY = new Uint8Array(0);

export interface LogMessages {
  messages: PublishMessage[];
  /** Events that encode larger than one bus message may be (JetStream with a small max_payload), with their encoded size; `index` into the events given. */
  tooLarge: { event: LogEvent; index: number; bytes: number }[];
  /** Events JSON cannot encode (the decoders' limits should make this impossible: a last line of defence), with the reason. */
  unencodable: { event: LogEvent; index: number; reason: string }[];
}

/**
 * The bus messages for one request's accepted events, in order. In process: one message holding
 * the events themselves (and their COPY rows, when given), `approxBytes` (the request body's size)
 * plus the rows' bytes standing for its size in the queue bound. JetStream: JSON slices that fit its message limit.
 */
export function logMessagesFor(bus: Pick<EventBus, 'kind' | 'maxMessageBytes'>, orgId: string, events: LogEvent[], approxBytes: number, rows?: CopyRows): LogMessages {
  if (events.length === 0) return { messages: [], tooLarge: [], unencodable: [] };
  if (bus.kind === 'memory') {
    const value: LogMessage = rows ? { orgId, events, rows } : { orgId, events };
    // The rows' bytes are held with the events until the processor stores them: they count too.
    return { messages: [{ data: EMPTY, value, size: approxBytes + (rows?.bytes.buffer.byteLength ?? 0) }], tooLarge: [], unencodable: [] };
  }
  const out: LogMessages = { messages: [], tooLarge: [], unencodable: [] };
  encodeInto(out, orgId, events, 0, bus.maxMessageBytes);
  return out;
}

/** JSON of a slice, or why one of its events cannot be JSON (a throw here was a 500 at ingest). */
function encode(orgId: string, events: LogEvent[]): Buffer | Error {
  try {
    return Buffer.from(JSON.stringify({ orgId, events } satisfies LogMessage));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Encodes events (`offset`: index of the first in the request's events) as as few JSON messages as
 * fit in `maxBytes` each, in order; halves a slice that does not fit or does not encode.
 */
function encodeInto(out: LogMessages, orgId: string, events: LogEvent[], offset: number, maxBytes: number): void {
  const whole = encode(orgId, events);
  if (!(whole instanceof Error) && whole.byteLength <= maxBytes) {
    out.messages.push({ data: whole });
    return;
  }
  if (events.length === 1) {
    if (!(whole instanceof Error)) out.tooLarge.push({ event: events[0]!, index: offset, bytes: whole.byteLength });
    else out.unencodable.push({ event: events[0]!, index: offset, reason: `event cannot be encoded as JSON: ${whole.message}` });
    return;
  }
  const half = Math.ceil(events.length / 2);
  encodeInto(out, orgId, events.slice(0, half), offset, maxBytes);
  encodeInto(out, orgId, events.slice(half), offset + half, maxBytes);
}

function isLogMessage(value: unknown): value is LogMessage {
  return typeof value === 'object' && value !== null && typeof (value as LogMessage).orgId === 'string' && Array.isArray((value as LogMessage).events);
}

/** The events a bus message carries: as handed over in process, else decoded from JSON. */
export function readLogMessage(message: Pick<BusMessage, 'data' | 'value'>): LogMessage {
  if (isLogMessage(message.value)) return message.value;
  const parsed: unknown = JSON.parse(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('utf8'));
  if (!isLogMessage(parsed)) throw new TypeError('not a Vigil log message');
  return parsed;
}
