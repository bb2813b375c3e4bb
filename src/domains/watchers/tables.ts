/**
 * The watchers domain's tables (migration 017): shipment table watchers (configuration, position,
 * state, lease) and the rows they saw refused. Only this domain's modules run SQL on them, through
 * `watchersDb(db)`.
 */
import type { ColumnType, Kysely } from 'kysely';
import { ownTables, type BigSerial, type Db, type NullableTimestamp, type Timestamp } from '../../platform/store/index.js';

/** An int8: a string on PostgreSQL (kept exact), a number on PGlite; callers use Number(). */
type Int8 = ColumnType<string | number, number | string | bigint, number | string | bigint>;
type NullableInt8 = ColumnType<string | number | null, number | string | bigint | null | undefined, number | string | bigint | null>;
type Json<T> = ColumnType<T, string, string>;

export interface ShipmentWatchersTable {
  id: string;
  name: string;
  connection_url: string;
  table_schema: string;
  table_name: string;
  order_column: string;
  columns: Json<Record<string, string>>;
  org_id: string | null;
  org_column: string | null;
  org_map: ColumnType<Record<string, string> | null, string | null, string | null>;
  poll_interval_ms: number;
  batch_size: number;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  settled: Int8;
  read_above: ColumnType<[number, number][], string | undefined, string>;
  pending_settle: NullableInt8;
  pending_xid: ColumnType<string | null, string | null | undefined, string | null>;
  max_seen: NullableInt8;
  state_version: ColumnType<string | number, number | undefined, number | string>;
  rows_read: ColumnType<string | number, number | undefined, number | string>;
  rows_stored: ColumnType<string | number, number | undefined, number | string>;
  rows_rejected: ColumnType<string | number, number | undefined, number | string>;
  last_read_at: NullableTimestamp;
  caught_up_at: NullableTimestamp;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  last_error_at: NullableTimestamp;
  failures: ColumnType<number, number | undefined, number>;
  owner: ColumnType<string | null, string | null | undefined, string | null>;
  lease_until: NullableTimestamp;
}

export interface ShipmentWatcherRejectionsTable {
  id: BigSerial;
  watcher_id: string;
  at: Timestamp;
  source_key: Int8;
  org_id: string | null;
  field: string;
  message: string;
}

export interface WatchersTables {
  shipment_watchers: ShipmentWatchersTable;
  shipment_watcher_rejections: ShipmentWatcherRejectionsTable;
}

export const watchersDb = (db: Db): Kysely<WatchersTables> => ownTables<WatchersTables>(db);
