import type { ColumnType, Generated, JSONColumnType, Kysely } from 'kysely';
import { ownTables, type BigSerial, type Db, type NullableTimestamp, type Timestamp } from '../../platform/store/index.js';
import type { InstanceState } from './instance.js';
import type { Matcher } from './silences.js';

/**
 * The alerting domain's tables (migrations 008 the alert manager, 011 mute windows). Only this domain
 * queries them, through `alertingDb()`; the SQL is the source of truth.
 */

/** One alert instance (a fingerprint) and its current state. */
export interface AlertInstancesTable {
  org_id: string;
  fingerprint: string;
  source: string;
  rule_id: string;
  rule_name: string;
  labels: JSONColumnType<Record<string, string>>;
  severity: Generated<string>;
  summary: Generated<string>;
  /** What the source said last (for jobs: fail, missed, too_long, too_short, recovered). */
  kind: Generated<string>;
  state: Generated<InstanceState>;
  active_since: NullableTimestamp;
  firing_since: NullableTimestamp;
  clear_since: NullableTimestamp;
  resolved_at: NullableTimestamp;
  value: number | null;
  threshold: number | null;
  acknowledged_at: NullableTimestamp;
  acknowledged_by: string | null;
  group_key: string;
  link: string | null;
  details: JSONColumnType<Record<string, unknown>>;
  updated_at: Timestamp;
}

export interface AlertTransitionsTable {
  id: BigSerial;
  org_id: string;
  fingerprint: string;
  at: Timestamp;
  from_state: string;
  to_state: string;
  reason: string;
  value: number | null;
}

/** Routing as stored with a group (durations in ms; repeat null = never). */
export interface StoredRouting {
  channels: '*' | string[];
  group_by: string[];
  group_wait_ms: number;
  group_interval_ms: number;
  repeat_interval_ms: number | null;
  /** Routing.events; absent (as in every group stored before it existed) = false. */
  events?: boolean;
}

export interface AlertGroupsTable {
  org_id: string;
  group_key: string;
  source: string;
  rule_id: string;
  first_active_at: NullableTimestamp;
  last_notified_at: NullableTimestamp;
  announced: ColumnType<string[], string[] | undefined, string[]>;
  wake_at: NullableTimestamp;
  routing: JSONColumnType<StoredRouting>;
  updated_at: Timestamp;
}

export interface SilencesTable {
  id: string;
  org_id: string;
  matchers: JSONColumnType<Matcher[]>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  comment: Generated<string>;
  created_by: string | null;
  created_at: Timestamp;
}

/** A mute window (migration 011): silence matchers over a one-off range or a recurrence (mutes.ts). */
export interface MuteWindowsTable {
  id: string;
  org_id: string;
  kind: ColumnType<'mute' | 'maintenance', 'mute' | 'maintenance' | undefined, 'mute' | 'maintenance'>;
  name: Generated<string>;
  reason: Generated<string>;
  matchers: JSONColumnType<Matcher[]>;
  starts_at: NullableTimestamp;
  ends_at: NullableTimestamp;
  cron: string | null;
  tz: Generated<string>;
  duration_s: number | null;
  created_by: string | null;
  created_at: Generated<Date>;
}

export interface AlertingTables {
  alert_instances: AlertInstancesTable;
  alert_transitions: AlertTransitionsTable;
  alert_groups: AlertGroupsTable;
  silences: SilencesTable;
  mute_windows: MuteWindowsTable;
}

export const alertingDb = (db: Db): Kysely<AlertingTables> => ownTables<AlertingTables>(db);
