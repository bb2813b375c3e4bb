/**
 * How accepted log events travel on the event bus from ingest to the stream processor. On JetStream
 * they are JSON, one message per slice of a request small enough for the server (NATS' default max
 * payload is 1 MiB); JSON keeps the wire format readable with `nats sub`. The in-process bus hands
 * the decoded events over as they are: encoding and decoding them within one process would be
 * work done twice on the ingest path.
 */
import type { BusMessage, EventBus, PublishMessage } from '../../platform/bus/index.js';
import type { NormalisedEvent } from './normalise.js';

export const LOG_TOPIC = 'logs';

export interface LogMessage {
  orgId: string;
  events: NormalisedEvent[];
}

const EMPTY = new Uint8Array(0);

/**
 * The bus messages for one request's accepted events, in order. `approxBytes` (the request body's
 * size) stands for their size where they are not encoded, so the in-process queue bound still holds.
 */
export function logMessagesFor(bus: Pick<EventBus, 'kind' | 'maxMessageBytes'>, orgId: string, events: NormalisedEvent[], approxBytes: number): PublishMessage[] {
  if (events.length === 0) return [];
  if (bus.kind !== 'memory') return encodeLogMessages(orgId, events, bus.maxMessageBytes).map((data) => ({ data }));
  const slices = Math.max(1, Math.ceil(approxBytes / bus.maxMessageBytes));
  const perSlice = Math.ceil(events.length / slices);
  const messages: PublishMessage[] = [];
  for (let start = 0; start < events.length; start += perSlice) {
    const slice = events.slice(start, start + perSlice);
    messages.push({ data: EMPTY, value: { orgId, events: slice } satisfies LogMessage, size: Math.ceil((approxBytes * slice.length) / events.length) });
  }
  return messages;
}

/** Encodes a request's events as as few JSON messages as fit in `maxBytes` each, in order. */
export function encodeLogMessages(orgId: string, events: NormalisedEvent[], maxBytes: number): Uint8Array[] {
  if (events.length === 0) return [];
  const whole = Buffer.from(JSON.stringify({ orgId, events } satisfies LogMessage));
  if (whole.byteLength <= maxBytes) return [whole];
  if (events.length === 1) {
    // The ingest limits keep one event at 1 MB; an event that still does not fit is a configuration
    // mismatch (a NATS server with a smaller max_payload), reported rather than silently cut.
    throw new RangeError(`one log event encodes to ${whole.byteLength} bytes, more than the bus allows (${maxBytes}); raise the NATS server's max_payload`);
  }
  const half = Math.ceil(events.length / 2);
  return [...encodeLogMessages(orgId, events.slice(0, half), maxBytes), ...encodeLogMessages(orgId, events.slice(half), maxBytes)];
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
