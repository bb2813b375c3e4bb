/**
 * The rules domain's tables (migration 009): log-traffic alert rules and the evaluator's progress
 * per organisation. Only this domain's modules run SQL on them, through `rulesDb(db)`.
 */
import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import type { RuleSpec } from '../../contracts/alerting.js';
import { ownTables, type Db, type NullableTimestamp, type Timestamp } from '../../platform/store/index.js';

export interface AlertRulesTable {
  id: string;
  org_id: string;
  name: string;
  spec: JSONColumnType<RuleSpec>;
  is_default: ColumnType<boolean, boolean | undefined, boolean>;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  error: string | null;
  error_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: ColumnType<number, number | undefined, number>;
}

/** The evaluator's snapshot of one instance that was active or firing (see evaluator-state in engine.ts). */
export type StoredInstances = Record<string, unknown>;

export interface RuleEvaluatorTable {
  org_id: string;
  /** The last event-time second evaluated, null before the first. */
  position: NullableTimestamp;
  instances: JSONColumnType<StoredInstances>;
  default_seeded: ColumnType<boolean, boolean | undefined, boolean>;
  updated_at: Timestamp;
  /** The process evaluating this organisation while `lease_until` holds (migration 012). */
  owner: string | null;
  lease_until: NullableTimestamp;
}

export interface RulesTables {
  alert_rules: AlertRulesTable;
  rule_evaluator: RuleEvaluatorTable;
}

export const rulesDb = (db: Db): Kysely<RulesTables> => ownTables<RulesTables>(db);
