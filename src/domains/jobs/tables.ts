import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';
import type { z } from 'zod';
import type { checkStatus, pingKind, runOutcome } from '../../contracts/jobs.js';
import { ownTables, type BigSerial, type Db, type NullableTimestamp, type Timestamp } from '../../platform/store/index.js';

/**
 * The jobs domain's tables (checks, their badge keys, pings, runs, flips; maintenance windows are the alert manager's mute windows since migration 011).
 * Only this domain runs SQL on them, through `jobsDb()`; other domains call its verbs. The SQL in
 * platform/store/migrations is the source of truth; these row types follow it.
 */

/** A check's stored status (shown as "late" too, once overdue: see lifecycle's displayStatus). */
export type CheckStatus = z.infer<typeof checkStatus>;
/** What a ping was taken as ("ign": ignored by the check's body filter). */
export type PingKind = z.infer<typeof pingKind>;
export type RunOutcome = z.infer<typeof runOutcome>;


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
  id: BigSerial;
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
  id: BigSerial;
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
  id: BigSerial;
  org_id: string;
  check_id: string;
  created_at: Timestamp;
  old_status: string;
  new_status: string;
  reason: string;
}

export interface JobsTables {
  checks: ChecksTable;
  badge_keys: BadgeKeysTable;
  pings: PingsTable;
  runs: RunsTable;
  flips: FlipsTable;
}

/** The store as the jobs domain sees it: its own tables only. */
export type JobsDb = Kysely<JobsTables>;
export type JobsTransaction = Transaction<JobsTables>;

/**
 * The jobs view of a store handle: the same connection or transaction, typed with the jobs tables
 * only. Generic so that any domain's view of a transaction (or the whole store's) can be passed on.
 */

export const jobsDb = (db: Db): JobsDb => ownTables<JobsTables>(db);
