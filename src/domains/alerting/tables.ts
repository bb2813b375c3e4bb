import type { ColumnType, JSONColumnType, Kysely } from 'kysely';
import { ownTables } from '../../platform/store/index.js';

/** The alerting domain's table: alerts, one row per occurrence (unique per organisation and idempotency key). */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

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

/** The alerting view of a store handle (the same connection or transaction). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any domain's (or the whole store's) view of one connection
export type AnyStoreView = Kysely<any>;

export const alertingDb = (db: AnyStoreView): Kysely<AlertingTables> => ownTables<AlertingTables>(db);
