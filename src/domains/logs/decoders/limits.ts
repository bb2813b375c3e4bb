import { DomainError } from '../../../platform/errors.js';
import type { LogEvent } from '../event.js';
import { buildEvent, type BuildResult, type EventDefaults, type EventFields } from '../normalise.js';
import { settleEvent } from './shape.js';

/**
 * Per-request ingest limits (the Datadog intake's figures, which Vector and Fluent Bit already batch
 * to): a body over 5 MB, decompressed, or over 10,000 events is refused whole with 413; a single event
 * over 1 MB is rejected with a reason while the rest of its batch is kept.
 */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;
export const MAX_EVENT_BYTES = 1024 * 1024;
export const MAX_EVENTS_PER_REQUEST = 10_000;

/** Which event of a request a rejection is about: `index` (0-based) or NDJSON/text `line` (1-based). */
export interface Rejection {
  /** 0-based position in a JSON array, or the record's ordinal across a Loki/OTLP request. */
  index?: number;
  /** 1-based line of an NDJSON or plain-text body. */
  line?: number;
  /** Where in a nested request (`streams[0].values[3]`, `resourceLogs[0].scopeLogs[0].logRecords[2]`). */
  path?: string;
  reason: string;
}

export interface DecodeResult {
  events: LogEvent[];
  /** Events (or, with neither index nor line, the whole body) that were refused, with the reason. */
  rejected: Rejection[];
  /** Where each of `events` was in the request, for refusals made after decoding (retention window, bus limits). */
  positions?: Omit<Rejection, 'reason'>[];
}

/** What a request tells a decoder besides its body. */
export interface DecodeOptions {
  /** The request's Content-Type (parameters such as charset allowed). */
  contentType?: string | undefined;
  /** When the request arrived, epoch ms; defaults to now. Also the timestamp of events without one. */
  receivedAt?: number;
  /** service/host/source for events that name none (e.g. from query parameters). */
  defaults?: EventDefaults;
  /**
   * Reads fields out of a plain-text message (e.g. the CLF/Combined parser) for protocols that ship
   * raw lines (Loki, OTLP, Datadog). Used when the message is not JSON and names no HTTP fields.
   */
  parseMessage?: (message: string) => EventFields | null;
}

/** 413: the request as a whole is over a limit. `limit` says which one. */
export class IngestLimitError extends DomainError {
  constructor(
    readonly limit: 'body' | 'events',
    message: string,
  ) {
    super('payload_too_large', message, { details: { limit, maxBodyBytes: MAX_BODY_BYTES, maxEvents: MAX_EVENTS_PER_REQUEST } });
    this.name = 'IngestLimitError';
  }
}

/** 415: a Content-Encoding Vigil cannot decode. */
export class UnsupportedEncodingError extends DomainError {
  constructor(encoding: string) {
    super('unsupported_encoding', `Content-Encoding ${encoding} is not supported: send gzip, deflate, br or identity`);
    this.name = 'UnsupportedEncodingError';
  }
}

/** 400: a compressed body that does not decompress. */
export class CorruptBodyError extends DomainError {
  constructor(encoding: string, detail: string) {
    super('corrupt_body', `body is not valid ${encoding} data: ${detail}`);
    this.name = 'CorruptBodyError';
  }
}

export const tooManyEvents = (count: number): IngestLimitError =>
  new IngestLimitError('events', `request has ${count} events, over the limit of ${MAX_EVENTS_PER_REQUEST.toLocaleString('en')} per request: send smaller batches`);

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/** Body bytes as text; invalid UTF-8 becomes U+FFFD rather than failing the request. */
export const bodyText = (body: Uint8Array | string): string => (typeof body === 'string' ? body : utf8.decode(body));

export const byteLength = (body: Uint8Array | string): number => (typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);

/**
 * Gathers a request's events and rejections in body order: builds each event from its fields with
 * the request's arrival time and defaults, and rejects events whose serialised size is over
 * MAX_EVENT_BYTES. Only a body larger than that limit can hold such an event, so smaller bodies
 * skip the (serialising) check entirely.
 */
export class Collector {
  readonly result: DecodeResult & { positions: Omit<Rejection, 'reason'>[] } = { events: [], rejected: [], positions: [] };
  /** When the request arrived (`options.receivedAt`, else now): one instant for all its events. */
  private readonly receivedAt: number;
  private readonly defaults: EventDefaults | undefined;
  private readonly checkSize: boolean;

  constructor(bodyBytes: number, options: DecodeOptions) {
    this.receivedAt = options.receivedAt ?? Date.now();
    this.defaults = options.defaults;
    this.checkSize = bodyBytes > MAX_EVENT_BYTES;
  }

  /** The event these fields make, or, when the decoder could not get fields (a string), its reason. */
  acceptFields(fields: EventFields | string, at: Omit<Rejection, 'reason'>): void {
    this.accept(typeof fields === 'string' ? { ok: false, reason: fields } : buildEvent(fields, this.receivedAt, this.defaults), at);
  }

  private accept(built: BuildResult, at: Omit<Rejection, 'reason'>): void {
    if (!built.ok) {
      this.reject(at, built.reason);
      return;
    }
    // Shape limits first: serialising a 10,000-level nesting for the size check would overflow the stack.
    const settled = settleEvent(built.event);
    if (!settled.ok) {
      this.reject(at, settled.reason);
      return;
    }
    if (this.checkSize) {
      const size = Buffer.byteLength(JSON.stringify(settled.event));
      if (size > MAX_EVENT_BYTES) {
        this.reject(at, `event is ${size.toLocaleString('en')} bytes, over the limit of ${MAX_EVENT_BYTES.toLocaleString('en')}`);
        return;
      }
    }
    this.result.events.push(settled.event);
    this.result.positions.push(at);
  }

  reject(at: Omit<Rejection, 'reason'>, reason: string): void {
    this.result.rejected.push({ ...at, reason });
  }
}

/** A result for a body that could not be read at all: one rejection naming no event. */
export const wholeBodyRejected = (reason: string): DecodeResult => ({ events: [], rejected: [{ reason }] });
