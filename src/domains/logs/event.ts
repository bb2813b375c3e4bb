/**
 * The log event: ONE model from decode to archive to web.
 *
 * - `LogEvent`: what every ingest protocol is normalised into (normalise.ts), what the bus carries
 *   (bus-codec.ts) and the stream processor counts. Epoch milliseconds, camelCase.
 * - `StoredLogEvent`: a `LogEvent` as the hot store and the archive hold it, plus its hot-store `id`
 *   and the processor's `tooLate` verdict. It IS the archive's row (`ArchiveRow`, platform/archive,
 *   where the fields are declared once: the platform cannot import a domain, the domain names it).
 * - The `log_events` row (`LogEventsTable`, tables.ts): the same fields in snake_case with `ts` for
 *   `timestamp`, checked below; `hotRowToStored` (retention-plan.ts) converts a row read back.
 * - The API's event (`logEvent` in src/contracts/logs.ts, which the web app takes): the same fields
 *   in snake_case, instants as ISO 8601; checked below; `toLogEventAnswer` converts.
 *
 * A field added to `ArchiveRow` fails to compile until the table and the contract follow.
 */
import type { ArchivedLogEventAnswer } from '../../contracts/logs.js';
import type { ArchiveRow } from '../../platform/archive/index.js';
import type { Selectable } from 'kysely';
import type { LogEventsTable } from './tables.js';

/**
 * What every protocol is normalised into. Declared once, as the archive's row (the platform's
 * archive writes it and cannot import a domain); the event is that row without what storing adds.
 */
export type LogEvent = Omit<ArchiveRow, 'id' | 'tooLate'>;

/** A log event as stored (hot store and archive): plus its hot-store id (null when archived from elsewhere) and too-late flag. */
export type StoredLogEvent = ArchiveRow;

/** `durationMs` → `duration_ms`. */
type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}` ? `${Head extends Uppercase<Head> ? `_${Lowercase<Head>}` : Head}${SnakeCase<Tail>}` : S;
type SnakeKeys<T> = SnakeCase<Extract<keyof T, string>>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Compile-time checks that every shape of the event names the same fields (see the top of this file).
const answerHasEveryField: Same<SnakeKeys<StoredLogEvent>, keyof ArchivedLogEventAnswer> = true;
const tableHasEveryField: Same<Exclude<SnakeKeys<StoredLogEvent>, 'timestamp'> | 'ts' | 'org_id', keyof LogEventsTable> = true;
void [answerHasEveryField, tableHasEveryField];

/** The API's shape of a stored event (`GET /api/v1/logs`, `GET /api/v1/archive/logs`). */
export function toLogEventAnswer(event: StoredLogEvent): ArchivedLogEventAnswer {
  return {
    id: event.id,
    timestamp: new Date(event.timestamp).toISOString(),
    received_at: new Date(event.receivedAt).toISOString(),
    service: event.service,
    host: event.host,
    source: event.source,
    level: event.level,
    message: event.message,
    method: event.method,
    path: event.path,
    section: event.section,
    status: event.status,
    bytes: event.bytes,
    duration_ms: event.durationMs,
    remote_addr: event.remoteAddr,
    user_agent: event.userAgent,
    attributes: event.attributes,
    too_late: event.tooLate,
  };
}

/** A log_events row as PostgreSQL and PGlite return it (bigints as text, number or bigint; jsonb parsed or as text). */
export type HotRow = Omit<Selectable<LogEventsTable>, 'org_id' | 'id' | 'bytes' | 'attributes'> & {
  id: string | number | bigint;
  bytes: string | number | bigint | null;
  attributes: Record<string, unknown> | string;
};

/** A row read back from `log_events` as the event model (what the archive writes and the API answers). */
export function hotRowToStored(r: HotRow): StoredLogEvent {
  const attributes: unknown = typeof r.attributes === 'string' ? JSON.parse(r.attributes) : r.attributes;
  return {
    timestamp: r.ts.getTime(),
    receivedAt: r.received_at.getTime(),
    service: r.service,
    host: r.host,
    source: r.source,
    level: r.level,
    message: r.message,
    method: r.method,
    path: r.path,
    section: r.section,
    status: r.status,
    bytes: r.bytes === null ? null : Number(r.bytes),
    durationMs: r.duration_ms,
    remoteAddr: r.remote_addr,
    userAgent: r.user_agent,
    attributes: typeof attributes === 'object' && attributes !== null && !Array.isArray(attributes) ? (attributes as Record<string, unknown>) : {},
    id: String(r.id),
    tooLate: r.too_late,
  };
}
