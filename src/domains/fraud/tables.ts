/**
 * The fraud domain's tables (migration 015): criteria and their immutable versions, the
 * organisation's lists, the audit log and the alerts. Only this domain's modules run SQL on them,
 * through `fraudDb(db)`.
 */
import type { ColumnType, Kysely } from 'kysely';
import { ownTables, type Db, type NullableTimestamp, type Timestamp } from '../../platform/store/index.js';
import type { AggregateUse, FraudVerdict } from '../../contracts/fraud.js';
import type { ChannelSelection, Severity } from '../../contracts/alerting.js';

type Json<T> = ColumnType<T, string, string>;

/** What a version fixes (also the current state in fraud_criteria). */
interface CriterionSpecColumns {
  name: string;
  description: string;
  expression: string;
  enabled: boolean;
  shadow: boolean;
  severity: Severity;
  channels: Json<ChannelSelection>;
  group_by: Json<string[]>;
  group_wait: string;
  group_interval: string;
  aggregates: Json<AggregateUse[]>;
}

export interface FraudCriteriaTable extends CriterionSpecColumns {
  id: string;
  org_id: string;
  version: number;
  paused_reason: string | null;
  paused_at: NullableTimestamp;
  created_at: Timestamp;
  created_by: string | null;
  updated_at: Timestamp;
  updated_by: string | null;
  deleted_at: NullableTimestamp;
}

export interface FraudCriterionVersionsTable extends CriterionSpecColumns {
  criterion_id: string;
  version: number;
  org_id: string;
  created_at: Timestamp;
  created_by: string | null;
}

export interface FraudListsTable {
  org_id: string;
  name: string;
  description: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  updated_by: string | null;
}

export interface FraudListItemsTable {
  org_id: string;
  list_name: string;
  value: string;
}

export interface FraudAuditTable {
  id: string;
  org_id: string;
  at: Timestamp;
  actor: string | null;
  action: string;
  criterion_id: string | null;
  list_name: string | null;
  version: number | null;
  changes: Json<Record<string, { from: unknown; to: unknown }>>;
}

export interface FraudAlertsTable {
  id: string;
  org_id: string;
  criterion_id: string;
  criterion_version: number;
  /** shipments.id (bigint: a string on PostgreSQL, a number on PGlite). */
  shipment_id: ColumnType<string | number, number | bigint | string, number | bigint | string>;
  external_id: string;
  shipment_created_at: Timestamp;
  matched_at: Timestamp;
  shadow: boolean;
  severity: Severity;
  values: Json<Record<string, unknown>>;
  acknowledged_at: NullableTimestamp;
  acknowledged_by: string | null;
  verdict: FraudVerdict | null;
  verdict_note: string | null;
  verdict_by: string | null;
  verdict_at: NullableTimestamp;
}

export interface FraudTables {
  fraud_criteria: FraudCriteriaTable;
  fraud_criterion_versions: FraudCriterionVersionsTable;
  fraud_lists: FraudListsTable;
  fraud_list_items: FraudListItemsTable;
  fraud_audit: FraudAuditTable;
  fraud_alerts: FraudAlertsTable;
}

export const fraudDb = (db: Db): Kysely<FraudTables> => ownTables<FraudTables>(db);
