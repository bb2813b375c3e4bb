import type { Generated, JSONColumnType } from 'kysely';
import type { ChannelKind, DeliveryStatus } from '../../contracts/notify.js';
import type { BigSerial, NullableTimestamp, Timestamp } from '../../platform/store/index.js';

/**
 * The notify domain's tables, as Kysely sees them (the SQL in platform/store/migrations is the source
 * of truth). Only this domain's store module (`store.ts`) queries them, through `ownTables<NotifyTables>`.
 */


export type { ChannelKind, DeliveryStatus };

export interface ChannelsTable {
  id: string;
  org_id: string;
  kind: ChannelKind;
  name: Generated<string>;
  config: JSONColumnType<Record<string, unknown>>;
  created_at: Generated<Date>;
  disabled_at: NullableTimestamp;
  disabled_reason: string | null;
  failure_streak: Generated<number>;
  failing_since: NullableTimestamp;
}
/**
 * The record of an alert notified (unique per organisation and idempotency key): its content,
 * written once and never changed. Its outbox rows (one per channel) reference it and leave out
 * what it holds (title, message, details: payload.ts).
 */
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
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Generated<Date>;
  delivered_at: NullableTimestamp;
}
export interface DeliveryAttemptsTable {
  id: BigSerial;
  outbox_id: string;
  org_id: string;
  attempted_at: Timestamp;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface NotifyTables {
  alerts: AlertsTable;
  channels: ChannelsTable;
  outbox: OutboxTable;
  delivery_attempts: DeliveryAttemptsTable;
}
