import { sql, type RawBuilder, type Selectable } from 'kysely';
import { ownTables, type Db } from '../../platform/store/index.js';
import type { ChannelKind, ChannelsTable, DeliveryAttemptsTable, DeliveryStatus, NotifyTables, OutboxTable } from './tables.js';

/**
 * All SQL of the notify domain: channels, the outbox and delivery attempts. Every function takes
 * the connection or the caller's transaction (`db`), so a verb joins the transaction it is given.
 */

const tables = (db: Db) => ownTables<NotifyTables>(db);

export type ChannelRow = Pick<Selectable<ChannelsTable>, 'id' | 'org_id' | 'kind' | 'name' | 'config' | 'created_at'>;
const CHANNEL_COLUMNS = ['id', 'org_id', 'kind', 'name', 'config', 'created_at'] as const;

export async function insertChannel(
  db: Db,
  row: { id: string; orgId: string; kind: ChannelKind; name: string; config: Record<string, unknown> },
): Promise<ChannelRow> {
  return tables(db)
    .insertInto('channels')
    .values({ id: row.id, org_id: row.orgId, kind: row.kind, name: row.name, config: JSON.stringify(row.config) })
    .returning(CHANNEL_COLUMNS)
    .executeTakeFirstOrThrow();
}

export async function selectChannels(db: Db, orgId: string): Promise<ChannelRow[]> {
  return tables(db).selectFrom('channels').select(CHANNEL_COLUMNS).where('org_id', '=', orgId).orderBy('created_at').orderBy('id').execute();
}

export async function selectChannel(db: Db, orgId: string, id: string): Promise<ChannelRow | undefined> {
  return tables(db).selectFrom('channels').select(CHANNEL_COLUMNS).where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
}

/** Channels by id, whatever their organisation (the notifier checks it against the row's). */
export async function selectChannelsById(db: Db, ids: readonly string[]): Promise<ChannelRow[]> {
  if (ids.length === 0) return [];
  return tables(db).selectFrom('channels').select(CHANNEL_COLUMNS).where('id', 'in', ids).execute();
}

/** Ids of an organisation's channels: all of them, or those of `only` that belong to it. */
export async function selectChannelIds(db: Db, orgId: string, only?: readonly string[]): Promise<string[]> {
  if (only?.length === 0) return [];
  let query = tables(db).selectFrom('channels').select('id').where('org_id', '=', orgId);
  if (only) query = query.where('id', 'in', only);
  return (await query.orderBy('created_at').orderBy('id').execute()).map((r) => r.id);
}

/** Deletes a channel; its queued and past notifications go with it (ON DELETE CASCADE). */
export async function deleteChannelRow(db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await tables(db).deleteFrom('channels').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export interface NewNotification {
  id: string;
  orgId: string;
  channelId: string;
  alertId: string | null;
  payload: Record<string, unknown>;
}

/** Queues notifications, due now, in one statement; an alert is queued once per channel whatever happens. */
export async function insertNotifications(db: Db, rows: readonly NewNotification[]): Promise<void> {
  if (rows.length === 0) return;
  await tables(db)
    .insertInto('outbox')
    .values(
      rows.map((r) => ({
        id: r.id,
        org_id: r.orgId,
        channel_id: r.channelId,
        alert_id: r.alertId,
        payload: JSON.stringify(r.payload),
        next_attempt_at: sql<Date>`now()`,
      })),
    )
    .onConflict((oc) => oc.columns(['channel_id', 'alert_id']).doNothing())
    .execute();
}

export type OutboxRow = Pick<
  Selectable<OutboxTable>,
  'id' | 'alert_id' | 'payload' | 'status' | 'attempts' | 'next_attempt_at' | 'last_error' | 'created_at' | 'delivered_at'
>;
export type AttemptRow = Pick<Selectable<DeliveryAttemptsTable>, 'outbox_id' | 'attempted_at' | 'ok' | 'status_code' | 'error' | 'duration_ms'>;

/** A channel's recent notifications, newest first, with their attempts in order. */
export async function selectDeliveries(db: Db, orgId: string, channelId: string, limit: number): Promise<{ rows: OutboxRow[]; attempts: AttemptRow[] }> {
  const rows = await tables(db)
    .selectFrom('outbox')
    .select(['id', 'alert_id', 'payload', 'status', 'attempts', 'next_attempt_at', 'last_error', 'created_at', 'delivered_at'])
    .where('org_id', '=', orgId)
    .where('channel_id', '=', channelId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const attempts = rows.length
    ? await tables(db)
        .selectFrom('delivery_attempts')
        .select(['outbox_id', 'attempted_at', 'ok', 'status_code', 'error', 'duration_ms'])
        .where('org_id', '=', orgId)
        .where(
          'outbox_id',
          'in',
          rows.map((r) => r.id),
        )
        .orderBy('id')
        .execute()
    : [];
  return { rows, attempts };
}

export type ClaimedRow = Pick<Selectable<OutboxTable>, 'id' | 'org_id' | 'channel_id' | 'payload' | 'attempts'>;

/**
 * Claims up to `limit` due notifications in one statement that pushes `next_attempt_at` ahead by
 * the lease (FOR UPDATE SKIP LOCKED, so concurrent notifiers never take the same row).
 */
export async function claimDue(db: Db, limit: number, leaseMs: number): Promise<ClaimedRow[]> {
  return tables(db)
    .updateTable('outbox')
    .set({ next_attempt_at: sql<Date>`now() + ${leaseMs}::integer * interval '1 millisecond'` })
    .where('status', '=', 'pending')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(['id', 'org_id', 'channel_id', 'payload', 'attempts'])
    .execute();
}

export interface AttemptRecord {
  outboxId: string;
  orgId: string;
  status: DeliveryStatus;
  attempts: number;
  error: string | null;
  /** Pending only: when to try again. */
  retryInMs?: number;
  attemptedAt: Date;
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
}

/**
 * Records an attempt and the notification's next step in one short transaction. Returns false
 * when the row was no longer pending (delivered by another notifier after a lease ran out, or its
 * channel deleted): then nothing is recorded.
 */
export async function recordAttempt(db: Db, a: AttemptRecord): Promise<boolean> {
  const next: RawBuilder<Date> | undefined =
    a.status === 'pending' && a.retryInMs !== undefined ? sql<Date>`now() + ${a.retryInMs}::integer * interval '1 millisecond'` : undefined;
  return tables(db)
    .transaction()
    .execute(async (trx) => {
      // Updating first locks the row, so a concurrent channel deletion (cascade) cannot orphan the attempt.
      const res = await trx
        .updateTable('outbox')
        .set({
          status: a.status,
          attempts: a.attempts,
          last_error: a.error,
          ...(a.status === 'delivered' ? { delivered_at: sql<Date>`now()` } : {}),
          ...(next ? { next_attempt_at: next } : {}),
        })
        .where('id', '=', a.outboxId)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (!res) return false;
      await trx
        .insertInto('delivery_attempts')
        .values({
          outbox_id: a.outboxId,
          org_id: a.orgId,
          attempted_at: a.attemptedAt,
          ok: a.ok,
          status_code: a.statusCode,
          error: a.error,
          duration_ms: a.durationMs,
        })
        .execute();
      return true;
    });
}
