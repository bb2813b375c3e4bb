/**
 * The logs domain's tables (migrations 001 and 004): the hot store of raw events, day-partitioned,
 * and the record of refused events. Only this domain's store modules run SQL on them, through
 * `ownTables<LogsTables>(db)`; the columns of `log_events` are checked against the one event model
 * (event.ts).
 */
import { ownTables, type BigSerial, type Db, type Timestamp } from '../../platform/store/index.js';
import type { ColumnType, Kysely, Generated, JSONColumnType } from 'kysely';


/** A `StoredLogEvent` as a row of `log_events` (partitioned by `ts`, one partition per UTC day). */
export interface LogEventsTable {
  id: BigSerial;
  org_id: string;
  ts: Timestamp;
  received_at: Timestamp;
  service: string | null;
  host: string | null;
  source: string | null;
  level: string | null;
  message: string;
  method: string | null;
  path: string | null;
  section: string | null;
  status: number | null;
  bytes: ColumnType<string | number | null, number | null | undefined, number | null>;
  duration_ms: number | null;
  remote_addr: string | null;
  user_agent: string | null;
  attributes: JSONColumnType<Record<string, unknown>>;
  /** Arrived after its bucket's allowed lateness: stored, not counted in the statistics. */
  too_late: Generated<boolean>;
}

/** A log event refused at ingest or set aside by the stream processor (migration 004). */
export interface LogRejectionsTable {
  id: BigSerial;
  org_id: string;
  at: Generated<Date>;
  stage: 'ingest' | 'processing';
  protocol: string | null;
  position: JSONColumnType<{ index?: number; line?: number; path?: string }>;
  reason: string;
  sample: string | null;
}

export interface LogsTables {
  log_events: LogEventsTable;
  log_rejections: LogRejectionsTable;
}

/**
 * This domain's view of a connection or transaction (the store's, or any other domain's view of
 * it): only the tables above can be queried through it.
 */
export const logsDb = (db: Db): Kysely<LogsTables> => ownTables<LogsTables>(db);
