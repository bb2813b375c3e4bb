import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** Row types as Kysely sees them; the SQL in migrations/ is the source of truth. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** pg returns bigint as string; PGlite as number. Callers use Number(). */
type BigIntColumn = ColumnType<string | number, number | bigint, number | bigint>;

export type Role = 'admin' | 'member' | 'read-only';
export type CheckStatus = 'new' | 'up' | 'down' | 'paused';
export type PingKind = 'success' | 'start' | 'fail' | 'log' | 'ign';
export type RunOutcome = 'running' | 'success' | 'fail' | 'too_long' | 'too_short';
export type ChannelKind = 'webhook' | 'email' | 'slack';

export interface OrgsTable {
  id: string;
  name: string;
  ping_key: string;
  created_at: Generated<Date>;
}
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: Generated<Date>;
}
export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
}
export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  role: Role;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}
export interface SessionsTable {
  token_hash: string;
  user_id: string;
  org_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}
export interface LoginThrottleTable {
  account: string;
  failures: number;
  locked_until: NullableTimestamp;
  last_attempt_at: Timestamp;
}
export interface ChecksTable {
  id: string;
  org_id: string;
  name: Generated<string>;
  slug: Generated<string>;
  tags: Generated<string>;
  description: Generated<string>;
  kind: Generated<'simple' | 'cron'>;
  timeout_s: Generated<number>;
  grace_s: Generated<number>;
  schedule: Generated<string>;
  tz: Generated<string>;
  manual_resume: Generated<boolean>;
  methods: Generated<string>;
  channels: Generated<string>;
  max_runtime_s: number | null;
  min_runtime_s: number | null;
  failure_threshold: Generated<number>;
  realert_s: number | null;
  status: Generated<CheckStatus>;
  status_reason: Generated<string>;
  last_ping_at: NullableTimestamp;
  last_start_at: NullableTimestamp;
  last_start_rid: string | null;
  last_duration_ms: ColumnType<string | number | null, number | null | undefined, number | null>;
  n_pings: Generated<number>;
  consecutive_failures: Generated<number>;
  alerted_down: Generated<boolean>;
  late_at: NullableTimestamp;
  down_at: NullableTimestamp;
  runtime_deadline_at: NullableTimestamp;
  next_realert_at: NullableTimestamp;
  created_at: Generated<Date>;
  badge_key: Generated<string>;
  filter_http_body: Generated<boolean>;
  filter_default_fail: Generated<boolean>;
  start_kw: Generated<string>;
  success_kw: Generated<string>;
  failure_kw: Generated<string>;
}
/** An organisation's key and signing secret for tag badges (jobs domain). */
export interface BadgeKeysTable {
  org_id: string;
  key: string;
  secret: string;
  created_at: Generated<Date>;
}
export interface PingsTable {
  id: Generated<BigIntColumn>;
  org_id: string;
  check_id: string;
  n: number;
  kind: PingKind;
  created_at: Timestamp;
  scheme: string;
  method: string;
  remote_addr: string;
  user_agent: string;
  exit_status: number | null;
  rid: string | null;
  body: string | null;
  body_size: number;
  duration_ms: ColumnType<string | number | null, number | null | undefined, number | null>;
}
export interface RunsTable {
  id: Generated<BigIntColumn>;
  org_id: string;
  check_id: string;
  rid: string | null;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  outcome: RunOutcome;
  exit_status: number | null;
  duration_ms: ColumnType<string | number | null, number | null | undefined, number | null>;
  output_tail: string | null;
}
export interface FlipsTable {
  id: Generated<BigIntColumn>;
  org_id: string;
  check_id: string;
  created_at: Timestamp;
  old_status: string;
  new_status: string;
  reason: string;
}
export interface MaintenanceWindowsTable {
  id: string;
  org_id: string;
  check_id: string | null;
  starts_at: NullableTimestamp;
  ends_at: NullableTimestamp;
  cron: string | null;
  tz: Generated<string>;
  duration_s: number | null;
  reason: Generated<string>;
  created_at: Generated<Date>;
}
export interface ChannelsTable {
  id: string;
  org_id: string;
  kind: ChannelKind;
  name: Generated<string>;
  config: JSONColumnType<Record<string, unknown>>;
  created_at: Generated<Date>;
}
export interface AlertsTable {
  id: string;
  org_id: string;
  source: string;
  subject_id: string;
  kind: string;
  idempotency_key: string;
  title: string;
  message: string;
  details: JSONColumnType<Record<string, unknown>>;
  created_at: Timestamp;
}
export interface OutboxTable {
  id: string;
  org_id: string;
  channel_id: string;
  alert_id: string | null;
  payload: JSONColumnType<Record<string, unknown>>;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Generated<Date>;
  delivered_at: NullableTimestamp;
}
export interface DeliveryAttemptsTable {
  id: Generated<BigIntColumn>;
  outbox_id: string;
  org_id: string;
  attempted_at: Timestamp;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface LogEventsTable {
  id: Generated<BigIntColumn>;
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

/** A log event refused at ingest or set aside by the stream processor (migration 004). */
export interface LogRejectionsTable {
  id: Generated<BigIntColumn>;
  org_id: string;
  at: Generated<Date>;
  stage: 'ingest' | 'processing';
  protocol: string | null;
  position: JSONColumnType<{ index?: number; line?: number; path?: string }>;
  reason: string;
  sample: string | null;
}

export interface Database {
  orgs: OrgsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  checks: ChecksTable;
  badge_keys: BadgeKeysTable;
  pings: PingsTable;
  runs: RunsTable;
  flips: FlipsTable;
  maintenance_windows: MaintenanceWindowsTable;
  channels: ChannelsTable;
  alerts: AlertsTable;
  outbox: OutboxTable;
  delivery_attempts: DeliveryAttemptsTable;
  log_events: LogEventsTable;
  traffic_counts: TrafficCountsTable;
  traffic_sketches: TrafficSketchesTable;
  stream_checkpoints: StreamCheckpointsTable;
  stream_progress: StreamProgressTable;
  stream_sources: StreamSourcesTable;
  log_rejections: LogRejectionsTable;
}
