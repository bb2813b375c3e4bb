import type { JSONColumnType, Kysely } from 'kysely';
import { ownTables, type Db, type Timestamp } from '../../platform/store/index.js';

/** The alerting domain's table: alerts, one row per occurrence (unique per organisation and idempotency key). */
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

export interface AlertingTables {
  alerts: AlertsTable;
}


export const alertingDb = (db: Db): Kysely<AlertingTables> => ownTables<AlertingTables>(db);
