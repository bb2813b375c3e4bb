import { sql, type RawBuilder, type Selectable } from 'kysely';
import { bulkRows, ownTables, type BulkShape, type Db } from '../../platform/store/index.js';
import type { RecordContent } from './payload.js';
import type { ChannelKind, ChannelsTable, DeliveryAttemptsTable, DeliveryStatus, NotifyTables, OutboxTable } from './tables.js';

/**
 * All SQL of the notify domain: alert records, channels, the outbox and delivery attempts. Every function takes
 * the connection or the caller's transaction (`db`), so a verb joins the transaction it is given.
 */

const tables = (db: Db) => ownTables<NotifyTables>(db);

export type ChannelRow = Pick<Selectable<ChannelsTable>, 'id' | 'org_id' | 'kind' | 'name' | 'config' | 'created_at' | 'disabled_at' | 'disabled_reason'>;
const CHANNEL_COLUMNS = ['id', 'org_id', 'kind', 'name', 'config', 'created_at', 'disabled_at', 'disabled_reason'] as const;

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

/** An organisation's channels as notifications target them: all, or those of `only` that belong to it. */
export async function selectChannelTargets(db: Db, orgId: string, only?: readonly string[]): Promise<{ id: string; disabled_reason: string | null }[]> {
  if (only?.length === 0) return [];
  let query = tables(db).selectFrom('channels').select(['id', 'disabled_reason']).where('org_id', '=', orgId);
  if (only) query = query.where('id', 'in', only);
  return query.orderBy('created_at').orderBy('id').execute();
}

/** The channels of these organisations as notifications target them (each organisation's in creation order). */
export async function selectChannelTargetsOf(db: Db, orgIds: readonly string[]): Promise<{ id: string; org_id: string; disabled_reason: string | null }[]> {
  if (orgIds.length === 0) return [];
  return tables(db)
    .selectFrom('channels')
    .select(['id', 'org_id', 'disabled_reason'])
    .where(sql<boolean>`org_id = ANY(${[...orgIds]}::uuid[])`)
    .orderBy('org_id')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Deletes a channel; its queued and past notifications go with it (ON DELETE CASCADE). */
export async function deleteChannelRow(db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await tables(db).deleteFrom('channels').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

// --- alert records ----------------------------------------------------------------------------------

export interface AlertRecord {
  id: string;
  orgId: string;
  source: string;
  subjectId: string;
  kind: string;
  idempotencyKey: string;
  title: string;
  message: string;
  details: Record<string, unknown>;
  at: Date;
}

const ALERT_RECORD_SHAPE: BulkShape = {
  name: 'alerts',
  columns: [
    ['id', 'uuid'],
    ['org_id', 'uuid'],
    ['source', 'text'],
    ['subject_id', 'text'],
    ['kind', 'text'],
    ['idempotency_key', 'text'],
    ['title', 'text'],
    ['message', 'text'],
    ['details', 'jsonb'],
    ['created_at', 'timestamptz'],
  ],
};

/**
 * Records alerts (`alerts` rows) in one statement; returns the ids stored, leaving out those
 * whose idempotency key was used already (a redelivery: never recorded, nor sent, twice).
 */
export async function insertAlertRecords(db: Db, records: readonly AlertRecord[]): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const rows = records.map((a) => ({
    id: a.id,
    org_id: a.orgId,
    source: a.source,
    subject_id: a.subjectId,
    kind: a.kind,
    idempotency_key: a.idempotencyKey,
    title: a.title,
    message: a.message,
    details: a.details,
    created_at: a.at.toISOString(),
  }));
  const v = await bulkRows(db, ALERT_RECORD_SHAPE, rows);
  const { rows: stored } = await sql<{ id: string }>`
    INSERT INTO alerts (id, org_id, source, subject_id, kind, idempotency_key, title, message, details, created_at)
    SELECT v.id, v.org_id, v.source, v.subject_id, v.kind, v.idempotency_key, v.title, v.message, v.details, v.created_at
    FROM ${v}
    ON CONFLICT (org_id, idempotency_key) DO NOTHING
    RETURNING id`.execute(db);
  return new Set(stored.map((r) => r.id));
}

/** The id of the alert an organisation recorded under this idempotency key, if any. */
export async function selectAlertIdByKey(db: Db, orgId: string, idempotencyKey: string): Promise<string | undefined> {
  const row = await tables(db).selectFrom('alerts').select('id').where('org_id', '=', orgId).where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  return row?.id;
}

// --- the outbox ------------------------------------------------------------------------------------

export interface NewNotification {
  id: string;
  orgId: string;
  channelId: string;
  alertId: string | null;
  payload: Record<string, unknown>;
  /** Queued as `skipped` with this error (the channel is disabled) instead of due now. */
  skippedBecause?: string;
}

const NOTIFICATION_SHAPE: BulkShape = {
  name: 'outbox',
  columns: [
    ['id', 'uuid'],
    ['org_id', 'uuid'],
    ['channel_id', 'uuid'],
    ['alert_id', 'uuid'],
    ['payload', 'jsonb'],
    ['status', 'text'],
    ['last_error', 'text'],
  ],
};

/**
 * Queues notifications, due now, in one statement (the rows travel in bulk, bulkRows); an alert is
 * queued once per channel whatever happens.
 */
export async function insertNotifications(db: Db, rows: readonly NewNotification[]): Promise<void> {
  if (rows.length === 0) return;
  const v = await bulkRows(
    db,
    NOTIFICATION_SHAPE,
    rows.map((r) => ({
      id: r.id,
      org_id: r.orgId,
      channel_id: r.channelId,
      alert_id: r.alertId,
      payload: r.payload,
      ...(r.skippedBecause === undefined ? {} : { status: 'skipped', last_error: r.skippedBecause }),
    })),
  );
  await sql`
    INSERT INTO outbox (id, org_id, channel_id, alert_id, payload, status, last_error, next_attempt_at)
    SELECT v.id, v.org_id, v.channel_id, v.alert_id, v.payload, COALESCE(v.status, 'pending'), v.last_error, now()
    FROM ${v}
    ON CONFLICT (channel_id, alert_id) DO NOTHING`.execute(db);
}

export type OutboxRow = Pick<
  Selectable<OutboxTable>,
  'id' | 'channel_id' | 'alert_id' | 'payload' | 'status' | 'attempts' | 'next_attempt_at' | 'last_error' | 'created_at' | 'delivered_at'
>;
export type AttemptRow = Pick<Selectable<DeliveryAttemptsTable>, 'outbox_id' | 'attempted_at' | 'ok' | 'status_code' | 'error' | 'duration_ms'>;

/** A channel's recent notifications, newest first, with their attempts in order. */
export async function selectDeliveries(db: Db, orgId: string, channelId: string, limit: number): Promise<{ rows: (OutboxRow & { record_title: string | null })[]; attempts: AttemptRow[] }> {
  const rows = await tables(db)
    .selectFrom('outbox as o')
    // The record's title: a notification of a recorded alert does not repeat it (payload.ts).
    .leftJoin('alerts as a', 'a.id', 'o.alert_id')
    .select(['o.id', 'o.channel_id', 'o.alert_id', 'o.payload', 'o.status', 'o.attempts', 'o.next_attempt_at', 'o.last_error', 'o.created_at', 'o.delivered_at', 'a.title as record_title'])
    .where('o.org_id', '=', orgId)
    .where('o.channel_id', '=', channelId)
    .orderBy('o.created_at', 'desc')
    .orderBy('o.id', 'desc')
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

export type ClaimedRow = Pick<Selectable<OutboxTable>, 'id' | 'org_id' | 'channel_id' | 'payload' | 'attempts'> & {
  /** The content of the alert record the row references (null: none): what its payload leaves out. */
  record: RecordContent | null;
  /** The channel to deliver through (null: deleted since). */
  channel: ChannelRow | null;
};

/**
 * Claims up to `limit` due notifications in one statement that pushes `next_attempt_at` ahead by
 * the lease (FOR UPDATE SKIP LOCKED, so concurrent notifiers never take the same row), each with
 * the content of its alert record and its channel. Everything an attempt needs comes back with the
 * claim: a claimed row is hidden for the whole lease, so a query failing between the claim and the
 * attempt (PostgreSQL restarting) would hold its notification back for minutes.
 */
export async function claimDue(db: Db, limit: number, leaseMs: number): Promise<ClaimedRow[]> {
  const claimed = tables(db)
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
    .returning(['id', 'org_id', 'channel_id', 'alert_id', 'payload', 'attempts']);
  const rows = await tables(db)
    .with('claimed', () => claimed)
    .selectFrom('claimed as c')
    .leftJoin('alerts as a', 'a.id', 'c.alert_id')
    .leftJoin('channels as ch', 'ch.id', 'c.channel_id')
    .select(['c.id', 'c.org_id', 'c.channel_id', 'c.payload', 'c.attempts', 'a.title', 'a.message', 'a.details'])
    .select(['ch.id as ch_id', 'ch.org_id as ch_org_id', 'ch.kind', 'ch.name', 'ch.config', 'ch.created_at', 'ch.disabled_at', 'ch.disabled_reason'])
    .execute();
  return rows.map(({ title, message, details, ch_id, ch_org_id, kind, name, config, created_at, disabled_at, disabled_reason, ...row }) => ({
    ...row,
    record: title === null || message === null || details === null ? null : { title, message, details },
    channel:
      ch_id === null || ch_org_id === null || kind === null || name === null || config === null || created_at === null
        ? null
        : { id: ch_id, org_id: ch_org_id, kind, name, config, created_at, disabled_at, disabled_reason },
  }));
}

/** What a `delivery` live event says of a notification. */
export type DeliveryStateRow = Pick<Selectable<OutboxTable>, 'id' | 'org_id' | 'channel_id' | 'status' | 'attempts' | 'next_attempt_at' | 'last_error'>;
const DELIVERY_STATE_COLUMNS = ['id', 'org_id', 'channel_id', 'status', 'attempts', 'next_attempt_at', 'last_error'] as const;

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
 * Records an attempt and the notification's next step, in the caller's transaction. Returns the
 * notification's new state, or undefined when the row was no longer pending (delivered by another
 * notifier after a lease ran out, skipped, or its channel deleted): then nothing is recorded.
 */
export async function recordAttempt(trx: Db, a: AttemptRecord): Promise<DeliveryStateRow | undefined> {
  const next: RawBuilder<Date> | undefined =
    a.status === 'pending' && a.retryInMs !== undefined ? sql<Date>`now() + ${a.retryInMs}::integer * interval '1 millisecond'` : undefined;
  // Updating first locks the row, so a concurrent channel deletion (cascade) cannot orphan the attempt.
  const row = await tables(trx)
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
    .returning(DELIVERY_STATE_COLUMNS)
    .executeTakeFirst();
  if (!row) return undefined;
  await tables(trx)
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
  return row;
}

/**
 * Locks a channel row for the rest of the caller's transaction. The transaction that records an
 * attempt takes it first: disabling a channel then updates its other outbox rows, and a concurrent
 * recording that had locked one of those before waiting for the channel would deadlock.
 */
export async function lockChannel(trx: Db, channelId: string): Promise<void> {
  await tables(trx).selectFrom('channels').select('id').where('id', '=', channelId).forUpdate().execute();
}

/**
 * Counts an attempt in the channel's failure streak: a success resets it, a failure extends it
 * (the first failure sets `failing_since`). Returns the streak after this attempt, undefined when
 * the channel is gone.
 */
export async function updateFailureStreak(trx: Db, channelId: string, ok: boolean, attemptedAt: Date): Promise<{ failures: number; since: Date | null } | undefined> {
  const row = await tables(trx)
    .updateTable('channels')
    .set(
      ok
        ? { failure_streak: 0, failing_since: null }
        : { failure_streak: sql<number>`failure_streak + 1`, failing_since: sql<Date>`coalesce(failing_since, ${attemptedAt}::timestamptz)` },
    )
    .where('id', '=', channelId)
    .returning(['failure_streak', 'failing_since'])
    .executeTakeFirst();
  return row && { failures: row.failure_streak, since: row.failing_since === null ? null : new Date(row.failing_since) };
}

/** Disables an enabled channel with a reason; undefined when it is gone or already disabled. */
export async function disableChannelRow(trx: Db, channelId: string, reason: string): Promise<ChannelRow | undefined> {
  return tables(trx)
    .updateTable('channels')
    .set({ disabled_at: sql<Date>`now()`, disabled_reason: reason })
    .where('id', '=', channelId)
    .where('disabled_at', 'is', null)
    .returning(CHANNEL_COLUMNS)
    .executeTakeFirst();
}

/** Re-enables a channel with a fresh failure streak; undefined when it is not the organisation's. */
export async function enableChannelRow(db: Db, orgId: string, channelId: string): Promise<ChannelRow | undefined> {
  return tables(db)
    .updateTable('channels')
    .set({ disabled_at: null, disabled_reason: null, failure_streak: 0, failing_since: null })
    .where('org_id', '=', orgId)
    .where('id', '=', channelId)
    .returning(CHANNEL_COLUMNS)
    .executeTakeFirst();
}

/**
 * Marks pending notifications `skipped` with a reason, without an attempt: every pending one of a
 * channel (it was just disabled), or one (`outboxId`). Returns their new state.
 */
export async function skipPending(trx: Db, target: { channelId: string } | { outboxId: string }, reason: string): Promise<DeliveryStateRow[]> {
  let query = tables(trx).updateTable('outbox').set({ status: 'skipped', last_error: reason }).where('status', '=', 'pending');
  query = 'channelId' in target ? query.where('channel_id', '=', target.channelId) : query.where('id', '=', target.outboxId);
  return query.returning(DELIVERY_STATE_COLUMNS).execute();
}

/**
 * Queues a notification again, due now, with a fresh attempt count (and so a fresh retry
 * schedule); its past attempts stay listed. Undefined when it is not the organisation's.
 */
export async function requeueDelivery(db: Db, orgId: string, id: string): Promise<DeliveryStateRow | undefined> {
  return tables(db)
    .updateTable('outbox')
    .set({ status: 'pending', attempts: 0, last_error: null, delivered_at: null, next_attempt_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(DELIVERY_STATE_COLUMNS)
    .executeTakeFirst();
}

/** The channel a notification of the organisation goes to; undefined when there is no such notification. */
export async function selectDeliveryChannelId(db: Db, orgId: string, id: string): Promise<string | undefined> {
  const row = await tables(db).selectFrom('outbox').select('channel_id').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row?.channel_id;
}

/** A notification's state for a live event; undefined when the organisation has no such notification. */
export async function selectDeliveryState(db: Db, orgId: string, id: string): Promise<DeliveryStateRow | undefined> {
  return tables(db).selectFrom('outbox').select(DELIVERY_STATE_COLUMNS).where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
}
