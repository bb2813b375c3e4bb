import { sql } from 'kysely';
import type { LogEventAnswer } from '../../contracts/logs.js';
import { isoOf, pgJson, pgText, type CopyIn, type Db } from '../../platform/store/index.js';
import { EVENT_COLUMNS, eventCopyLine, type CopyRows } from './copy-rows.js';
import { badRequest } from '../../platform/errors.js';
import { hotRowToStored, toLogEventAnswer, type LogEvent } from './event.js';
import { logsDb } from './tables.js';
import type { BucketCount, VolumePlan } from './volume.js';

const DAY_MS = 86_400_000;

/** `2026-11-21` of an epoch-ms instant (UTC). */
const dayOf = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);

/**
 * Creates the daily partitions events fall in. Remembered per process; concurrent creation by
 * another instance is harmless (IF NOT EXISTS, and a lost race is retried as "exists").
 */
export class PartitionManager {
  private readonly known = new Set<string>();

  constructor(private readonly db: Db) {}

  async ensure(days: Iterable<string>): Promise<void> {
    for (const day of days) {
      if (this.known.has(day)) continue;
      try {
        // As the owner (the application's role changes no schema): log_events_pYYYYMMDD for [day, day + 1).
        await sql`SELECT vigil_create_log_partition(${day}::date)`.execute(this.db);
      } catch (error) {
        if (!/already exists/.test((error as Error).message)) throw error;
      }
      this.known.add(day);
    }
  }
}

export interface RetentionWindow {
  hotDays: number;
  now: number;
}

/**
 * Splits events into those the hot store accepts and those outside it (older than the hot
 * retention, or more than a day in the future — a clock far off would otherwise create partitions
 * for arbitrary days). Returns the indexes of the refused ones with the reason.
 */
export function partitionable(events: LogEvent[], window: RetentionWindow): { accepted: number[]; refused: { index: number; reason: string }[] } {
  const oldest = window.now - window.hotDays * DAY_MS;
  const newest = window.now + DAY_MS;
  const accepted: number[] = [];
  const refused: { index: number; reason: string }[] = [];
  events.forEach((e, index) => {
    if (e.timestamp < oldest) refused.push({ index, reason: `timestamp ${new Date(e.timestamp).toISOString()} is older than the ${window.hotDays}-day hot retention` });
    else if (e.timestamp > newest) refused.push({ index, reason: `timestamp ${new Date(e.timestamp).toISOString()} is more than a day in the future: check the sender's clock` });
    else accepted.push(index);
  });
  return { accepted, refused };
}

/** Events of one organisation, with the processor's verdict per event (default: not too late). */
export interface EventGroupRows {
  orgId: string;
  events: readonly LogEvent[];
  tooLate?: readonly boolean[];
  /** The events' rows as the decode worker encoded them (not too late), when it did. */
  rows?: CopyRows | undefined;
}

/** The day partitions `groups` fall in, created outside the caller's transaction (DDL takes a lock on the parent). */
export async function ensurePartitionsFor(partitions: PartitionManager, groups: readonly EventGroupRows[]): Promise<void> {
  // Day numbers first: formatting a date per event would cost more than the rest of this call.
  const dayNumbers = new Set<number>();
  for (const g of groups) for (const e of g.events) dayNumbers.add(Math.floor(e.timestamp / DAY_MS));
  await partitions.ensure([...dayNumbers].map((n) => dayOf(n * DAY_MS)));
}

/**
 * The rows of `groups` in COPY's text format, one line per event, in the order of EVENT_COLUMNS
 * (copy-rows.ts), as one string.
 */
export function encodeEventCopy(groups: readonly EventGroupRows[]): string {
  return [...encodeEventCopyChunks(groups, Number.POSITIVE_INFINITY)].map((c) => (typeof c === 'string' ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('utf8'))).join('');
}

/** Rows per chunk of `encodeEventCopyChunks`: ~50 KB, small enough to start PostgreSQL early, large enough to cost nothing per chunk. */
const ROWS_PER_CHUNK = 200;

/**
 * The rows of `groups` in chunks, each encoded only when it is pulled: given to COPY, the encoding
 * of the next chunk overlaps PostgreSQL's work on the one before. A group that came with its rows
 * encoded (`rows`, by the decode worker) is given as byte ranges of them, its too-late events
 * encoded again here; the others `rowsPerChunk` lines at a time, each line one `join` and the
 * lines one `join` (joins build flat strings, where concatenating the pieces built a tree of
 * millions of small string parts per batch: twice the garbage-collection time).
 */
export function* encodeEventCopyChunks(groups: readonly EventGroupRows[], rowsPerChunk = ROWS_PER_CHUNK): Generator<string | Uint8Array> {
  let lines: string[] = [];
  for (const g of groups) {
    if (g.rows && g.rows.starts.length === g.events.length) {
      if (lines.length) {
        yield `${lines.join('\n')}\n`;
        lines = [];
      }
      yield* preEncoded(g, g.rows);
      continue;
    }
    for (let i = 0; i < g.events.length; i++) {
      lines.push(eventCopyLine(g.orgId, g.events[i]!, g.tooLate?.[i] ?? false));
      if (lines.length >= rowsPerChunk) {
        yield `${lines.join('\n')}\n`;
        lines = [];
      }
    }
  }
  if (lines.length) yield `${lines.join('\n')}\n`;
}

/** A group's pre-encoded rows as runs of adjacent lines, its too-late events' lines encoded again (theirs say `f`). */
function* preEncoded(g: EventGroupRows, rows: CopyRows): Generator<string | Uint8Array> {
  let from = -1;
  let to = -1;
  for (let i = 0; i < g.events.length; i++) {
    if (g.tooLate?.[i]) {
      if (from >= 0) yield rows.bytes.subarray(from, to);
      from = -1;
      yield `${eventCopyLine(g.orgId, g.events[i]!, true)}\n`;
    } else if (from >= 0 && rows.starts[i] === to) to = rows.ends[i]!;
    else {
      if (from >= 0) yield rows.bytes.subarray(from, to);
      from = rows.starts[i]!;
      to = rows.ends[i]!;
    }
  }
  if (from >= 0) yield rows.bytes.subarray(from, to);
}

/**
 * Stores the events of several organisations in one statement (inside the caller's transaction
 * when `db` is one): COPY when `copy` is given (PostgreSQL; rows encoded as the connection takes
 * them), else INSERT … SELECT unnest(…). Partitions must exist: call
 * `ensurePartitionsFor` first.
 */
export async function insertEventGroups(db: Db, groups: readonly EventGroupRows[], copy?: CopyIn): Promise<void> {
  if (copy) {
    if (groups.some((g) => g.events.length > 0)) await copy('log_events', EVENT_COLUMNS, encodeEventCopyChunks(groups));
    return;
  }
  const rows = groups.flatMap((g) => g.events.map((e, i) => ({ orgId: g.orgId, e, tooLate: g.tooLate?.[i] ?? false })));
  if (rows.length === 0) return;
  const iso = isoOf;
  const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
  await sql`
    INSERT INTO log_events (org_id, ts, received_at, service, host, source, level, message, method, path, section, status, bytes, duration_ms, remote_addr, user_agent, attributes, too_late)
    SELECT * FROM unnest(${col((r) => r.orgId)}::uuid[], ${col((r) => iso(r.e.timestamp))}::timestamptz[], ${col((r) => iso(r.e.receivedAt))}::timestamptz[], ${col((r) => pgText(r.e.service))}::text[],
      ${col((r) => pgText(r.e.host))}::text[], ${col((r) => pgText(r.e.source))}::text[], ${col((r) => pgText(r.e.level))}::text[], ${col((r) => pgText(r.e.message))}::text[], ${col((r) => pgText(r.e.method))}::text[],
      ${col((r) => pgText(r.e.path))}::text[], ${col((r) => pgText(r.e.section))}::text[], ${col((r) => r.e.status)}::int[], ${col((r) => r.e.bytes)}::bigint[], ${col((r) => r.e.durationMs)}::float8[],
      ${col((r) => pgText(r.e.remoteAddr))}::text[], ${col((r) => pgText(r.e.userAgent))}::text[], ${col((r) => pgJson(r.e.attributes))}::jsonb[], ${col((r) => r.tooLate)}::boolean[])`.execute(db);
}

/** What the statistics read of a stored event (`countableEventsAfter`). */
export type CountableEvent = Pick<LogEvent, 'timestamp' | 'receivedAt' | 'service' | 'host' | 'source' | 'method' | 'path' | 'section' | 'status' | 'bytes' | 'durationMs' | 'remoteAddr'>;

/** Rows per query of `countableEventsAfter`: remote_addr is the one unbounded column it reads (up to ingest's 1 MB per event). */
const COUNTABLE_ROWS = 2_000;

/**
 * Stored events (every organisation's) with an id above `afterId`, in id order, as the statistics
 * count them: what the stream processor counts again after a lost memory. Only the columns counting
 * reads (not message, attributes or user agent, which a sender can make ~1 MB each); `path` says only
 * whether the event has one ('' when it has). At most COUNTABLE_ROWS; call again after the last id.
 */
export async function countableEventsAfter(db: Db, afterId: number): Promise<{ id: number; orgId: string; tooLate: boolean; event: CountableEvent }[]> {
  // log_events_id_brin (migration 022) finds them without reading every partition.
  const rows = await logsDb(db)
    .selectFrom('log_events')
    .select(['id', 'org_id', 'ts', 'received_at', 'service', 'host', 'source', 'method', 'section', 'status', 'bytes', 'duration_ms', 'remote_addr', 'too_late'])
    .select(sql<boolean>`path IS NOT NULL`.as('has_path'))
    .where('id', '>', String(afterId))
    .orderBy('id')
    .limit(COUNTABLE_ROWS)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    orgId: r.org_id,
    tooLate: r.too_late,
    event: {
      timestamp: r.ts.getTime(),
      receivedAt: r.received_at.getTime(),
      service: r.service,
      host: r.host,
      source: r.source,
      method: r.method,
      path: r.has_path ? '' : null,
      section: r.section,
      status: r.status,
      bytes: r.bytes === null ? null : Number(r.bytes),
      durationMs: r.duration_ms,
      remoteAddr: r.remote_addr,
    },
  }));
}

/** Stores one organisation's events in one statement; resolves once they are committed (durable). */
export async function insertEvents(db: Db, partitions: PartitionManager, orgId: string, events: LogEvent[]): Promise<void> {
  const groups = [{ orgId, events }];
  await ensurePartitionsFor(partitions, groups);
  await insertEventGroups(db, groups);
}

export interface LogQuery {
  from?: Date;
  to?: Date;
  q?: string;
  service?: string;
  status?: number;
  section?: string;
  limit: number;
  cursor?: string;
  /**
   * Only events stored after the event with this id (ids grow in arrival order): a live tail asks
   * for what arrived since its last look, late events included, without fetching the same rows again.
   */
  afterId?: string;
}

/** Opaque keyset cursor: the (ts, id) of the last event of the previous page. */
function encodeCursor(ts: Date, id: string): string {
  return Buffer.from(JSON.stringify([ts.toISOString(), id])).toString('base64url');
}
function decodeCursor(cursor: string): [string, string] {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof ts !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(ts)) || !/^\d+$/.test(id)) throw new Error('shape');
    return [ts, id];
  } catch {
    throw badRequest('cursor: not a cursor this API returned; start again without it');
  }
}

/** The filters a search and a count share. */
export type LogFilter = Pick<LogQuery, 'from' | 'to' | 'q' | 'service' | 'status' | 'section'>;

/** One organisation's events matching `query`: the rows the search pages through and the volume counts. */
function matching(db: Db, orgId: string, query: LogFilter) {
  let q = logsDb(db).selectFrom('log_events').where('org_id', '=', orgId);
  if (query.from) q = q.where('ts', '>=', query.from);
  if (query.to) q = q.where('ts', '<', query.to);
  if (query.service) q = q.where('service', '=', query.service);
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.section) q = q.where('section', '=', query.section);
  // Substring search, not a user regex: escape LIKE's wildcards so the text matches literally.
  if (query.q) q = q.where('message', 'ilike', `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  return q;
}

/** Newest first, filtered, with keyset pagination (stable while new events arrive). */
export async function searchEvents(db: Db, orgId: string, query: LogQuery): Promise<{ events: LogEventAnswer[]; next_cursor: string | null }> {
  let q = matching(db, orgId, query).selectAll();
  if (query.afterId !== undefined) q = q.where(sql<boolean>`id > ${query.afterId}::bigint`);
  if (query.cursor) {
    const [ts, id] = decodeCursor(query.cursor);
    q = q.where(sql<boolean>`(ts, id) < (${ts}::timestamptz, ${id}::bigint)`);
  }
  const rows = await q.orderBy('ts', 'desc').orderBy('id', 'desc').limit(query.limit + 1).execute();
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => {
      const id = String(r.id);
      return { ...toLogEventAnswer(hotRowToStored({ ...r, id })), id };
    }),
    next_cursor: rows.length > query.limit && last ? encodeCursor(last.ts, String(last.id)) : null,
  };
}

/**
 * Matches of `filter` per bucket of `plan` (see volume.ts), counting the newest `cap + 1` at most:
 * the search's own newest-first walk over the (org_id, ts, id) index, so counting stops where paging
 * through that many matches would, however wide the range.
 */
export async function countEventsByBucket(db: Db, orgId: string, filter: LogFilter, plan: VolumePlan, cap: number): Promise<BucketCount[]> {
  const newest = matching(db, orgId, filter).select('ts').orderBy('ts', 'desc').orderBy('id', 'desc').limit(cap + 1);
  const rows = await logsDb(db)
    .selectFrom(newest.as('matched'))
    .select(sql<number>`floor((extract(epoch FROM ts) * 1000 - ${plan.startMs}) / ${plan.stepMs})::int`.as('bucket'))
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .groupBy('bucket')
    .execute();
  return rows.map((r) => ({ bucket: Number(r.bucket), n: Number(r.n) }));
}
