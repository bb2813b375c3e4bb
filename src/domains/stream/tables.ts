/**
 * The stream domain's tables (migrations 003, 005, 007): event-time traffic statistics and the
 * processor's checkpoints. Only this domain's store modules run SQL on them, through
 * `ownTables<StreamTables>(db)`.
 */
import { ownTables, type Db, type Timestamp } from '../../platform/store/index.js';
import type { ColumnType, Kysely, JSONColumnType } from 'kysely';

type BigCount = ColumnType<string | number, number | string, number | string>;

/** Additive event-time counters; `resolution` is the bucket width in seconds (1, 10, 60, 3600). */
export interface TrafficCountsTable {
  org_id: string;
  resolution: number;
  bucket: Timestamp;
  service: string;
  section: string;
  /** '2xx'…'5xx', '1xx', or '' for events without a status. */
  status_class: string;
  method: string;
  hits: BigCount;
  bytes: BigCount;
  duration_count: BigCount;
  duration_sum_ms: number;
}

/** Per-bucket sketches: HyperLogLog registers of remote hosts, latency histogram counts. */
export interface TrafficSketchesTable {
  org_id: string;
  resolution: number;
  bucket: Timestamp;
  hosts: Uint8Array;
  latency: ColumnType<string[] | number[], (number | string)[], (number | string)[]>;
  too_late: ColumnType<string | number, number | string | undefined, number | string>;
}

export interface StreamCheckpointsTable {
  consumer: string;
  position: JSONColumnType<{ epoch: string; floor: number; done: number[] }>;
  updated_at: Timestamp;
  /** Commits so far (migration 007). */
  version: ColumnType<string | number, number | string | undefined, number | string>;
  /** The version through which the statistics tables include every batch (migration 022). */
  counted_version: ColumnType<string | number, number | string | undefined, number | string>;
  /** The highest log_events id the statistics tables include (migration 022). */
  counted_id: ColumnType<string | number, number | string | undefined, number | string>;
}

export interface StreamProgressTable {
  consumer: string;
  org_id: string;
  watermark: Timestamp | null;
  too_late: ColumnType<string | number, number | string | undefined, number | string>;
  updated_at: Timestamp;
  /** The folded sources as one (migration 007): newest event time and arrival, epoch ms. */
  fold_max_ts: number | null;
  fold_received_at: number | null;
}

/** A watermark source of one organisation (migration 007); at most VIGIL_STATS_MAX_SOURCES per organisation. */
export interface StreamSourcesTable {
  consumer: string;
  org_id: string;
  source: string;
  max_ts: number;
  last_received_at: number;
}

export interface StreamTables {
  traffic_counts: TrafficCountsTable;
  traffic_sketches: TrafficSketchesTable;
  stream_checkpoints: StreamCheckpointsTable;
  stream_progress: StreamProgressTable;
  stream_sources: StreamSourcesTable;
}

/**
 * This domain's view of a connection or transaction (the store's, or any other domain's view of
 * it): only the tables above can be queried through it.
 */
export const streamDb = (db: Db): Kysely<StreamTables> => ownTables<StreamTables>(db);
