/**
 * Log ingest as a domain verb: admission (a bounded number of batches at once), decoding (inline or
 * on worker threads), the hot window, publishing on the event bus, and the record of what was
 * refused. The routes (http.ts) turn a request into a `DecodeJob` and the outcome into each
 * protocol's answer; everything between is here.
 *
 * Durability: `ingest` resolves only once the bus says the accepted events are durable (in-process
 * bus: the stream processor committed them; JetStream: the stream stored them), so a 2xx answer
 * built from its outcome never acknowledges what could still be lost.
 */
import type { Logger } from 'pino';
import type { EventBus } from '../../platform/bus/index.js';
import { DomainError } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { LOG_TOPIC, logMessagesFor } from './bus-codec.js';
import { selectCopyRows } from './copy-rows.js';
import { openLogDecoder } from './decode-pool.js';
import type { Rejection } from './decoders/index.js';
import type { DecodeJob } from './decoders/job.js';
import type { OtlpFormat } from './decoders/otlp.js';
import { recordRejections } from './rejections.js';
import { partitionable } from './store.js';

/** Ingest requests being handled at once; beyond this, callers are asked to retry (never an unbounded queue). */
export const MAX_CONCURRENT_INGESTS = 32;

export interface LogIngestDeps {
  db: Db;
  bus: EventBus;
  logger: Logger;
  /** VIGIL_HOT_DAYS: events older than this are refused (they would land in an expired partition). */
  hotDays: number;
  /** VIGIL_DECODE_THREADS: decode worker threads; 0 decodes inline. */
  decodeThreads: number;
  /**
   * Whether decoding also encodes the events' log_events rows for COPY: only when the stream
   * processor takes them as they are (in-process bus, PostgreSQL store), so the encoding is done
   * on the decode thread instead of under the processor's lock.
   */
  encodeRows: boolean;
}

/** What one request gave: events stored, events refused (with where and why), OTLP's answer encoding. */
export interface IngestOutcome {
  accepted: number;
  rejected: Rejection[];
  format?: OtlpFormat;
}

export interface LogIngest {
  /**
   * Decodes `raw` per `job`, publishes what the hot store accepts for `orgId` and records what was
   * refused. Throws DomainError 'overloaded' (retry after 1 s) when too many batches are in flight,
   * and what decoding and the bus throw (limits, encodings, bus full or away).
   */
  ingest(orgId: string, job: DecodeJob, raw: Buffer, log: Pick<Logger, 'warn'>): Promise<IngestOutcome>;
  /** Ends the decode threads. */
  close(): Promise<void>;
}

export function openLogIngest(deps: LogIngestDeps): LogIngest {
  const { db, bus, hotDays } = deps;
  const decoder = openLogDecoder({ threads: deps.decodeThreads, logger: deps.logger });
  let inFlight = 0;

  /**
   * Records a request's rejections for `GET /api/v1/logs/rejected` (Datadog and Loki answers have no
   * room for them). Best effort: the events that were kept are already durable, so a failure to
   * record is logged and the request still succeeds.
   */
  async function remember(orgId: string, protocol: string, rejected: readonly Rejection[], log: Pick<Logger, 'warn'>): Promise<void> {
    if (rejected.length === 0) return;
    try {
      await recordRejections(
        db,
        orgId,
        rejected.map(({ reason, ...position }) => ({ stage: 'ingest', protocol, position, reason })),
      );
    } catch (error) {
      log.warn({ err: error, count: rejected.length }, 'log ingest: could not record rejected events');
    }
  }

  return {
    async ingest(orgId, job, raw, log) {
      if (inFlight >= MAX_CONCURRENT_INGESTS) {
        throw new DomainError('overloaded', 'Vigil is storing as many batches as it can; retry after the delay in Retry-After.', { retryAfterSeconds: 1 });
      }
      inFlight++;
      try {
        const { result: decoded, receivedAt, bodyBytes, format, rows } = await decoder.decode(deps.encodeRows ? { ...job, rowsFor: orgId } : job, raw);
        const at = (i: number): Omit<Rejection, 'reason'> => decoded.positions?.[i] ?? {};
        const window = partitionable(decoded.events, { hotDays, now: receivedAt });
        const events = window.accepted.map((i) => decoded.events[i]!);
        const { messages, tooLarge, unencodable } = logMessagesFor(bus, orgId, events, bodyBytes, rows && selectCopyRows(rows, window.accepted));
        // BusFullError / BusDeliveryError are 503s with a retry delay (Retry-After set by the error handler).
        await bus.publish(LOG_TOPIC, messages);
        const refused: Rejection[] = [
          ...window.refused.map((r) => ({ ...at(r.index), reason: r.reason })),
          ...tooLarge.map((t) => ({
            ...at(window.accepted[t.index]!),
            reason: `event encodes to ${t.bytes.toLocaleString('en')} bytes, more than the event bus carries in one message (${bus.maxMessageBytes.toLocaleString('en')}; raise the NATS server's max_payload)`,
          })),
          ...unencodable.map((u) => ({ ...at(window.accepted[u.index]!), reason: u.reason })),
        ];
        const rejected = [...decoded.rejected, ...refused];
        await remember(orgId, job.protocol, rejected, log);
        return { accepted: events.length - tooLarge.length - unencodable.length, rejected, ...(format ? { format } : {}) };
      } finally {
        inFlight--;
      }
    },
    close: () => decoder.close(),
  };
}

/**
 * A batch where nothing could be kept is a client error naming every reason (the native, Datadog
 * and Loki intakes; OTLP answers its own Status instead).
 */
export function requireSomeStored(outcome: IngestOutcome): void {
  if (outcome.accepted === 0 && outcome.rejected.length > 0) {
    const more = outcome.rejected.length > 1 ? ` (and ${outcome.rejected.length - 1} more)` : '';
    throw new DomainError('no_valid_events', `No event could be stored: ${outcome.rejected[0]!.reason}${more}`, { details: outcome.rejected });
  }
}

/** OTLP: a request where nothing could be kept answers 400 with this Status message; null when something was kept. */
export function otlpRefusal(outcome: IngestOutcome, bodyBytes: number): string | null {
  if (outcome.accepted > 0 || outcome.rejected.length === 0 || bodyBytes === 0) return null;
  return outcome.rejected
    .slice(0, 5)
    .map((r) => (r.path ? `${r.path}: ${r.reason}` : r.reason))
    .join('; ');
}
