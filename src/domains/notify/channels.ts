import type { ChannelInput, ChannelView, DeliveryEvent, DeliveryView, NotificationPayload, NotifiedAlert } from '../../contracts/notify.js';
import { conflict, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { LiveHub } from '../../platform/live.js';
import { disableReason, type FailureStreak } from './channel-health.js';
import { storedAlert, type RecordContent } from './payload.js';
import { channelOf, type ChannelOptions } from './registry.js';
import {
  deleteChannelRow,
  disableChannelRow,
  enableChannelRow,
  insertAlertRecords,
  insertChannel,
  insertNotifications,
  requeueDelivery,
  selectAlertIdByKey,
  selectChannel,
  selectChannels,
  selectChannelTargets,
  selectChannelTargetsOf,
  selectDeliveries,
  selectDeliveryChannelId,
  selectDeliveryState,
  skipPending,
  type AlertRecord,
  type ChannelRow,
  type DeliveryStateRow,
  type NewNotification,
} from './store.js';
import type { Db } from '../../platform/store/index.js';

/** The notify domain's verbs: channels, their deliveries, and queueing notifications. Kinds differ only in the registry. */

const iso = (d: Date | string): string => new Date(d).toISOString();

const isoOrNull = (d: Date | string | null): string | null => (d === null ? null : iso(d));

export function channelView(row: ChannelRow, reveal = false): ChannelView {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    created_at: iso(row.created_at),
    disabled_at: isoOrNull(row.disabled_at),
    disabled_reason: row.disabled_reason,
    ...channelOf(row.kind).details(row.config, reveal),
  };
}

const view = channelView;

/** A notification's state as the `delivery` live event carries it. */
export function deliveryEvent(row: DeliveryStateRow): DeliveryEvent {
  return {
    id: row.id,
    channel_id: row.channel_id,
    status: row.status,
    attempt_count: row.attempts,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    last_error: row.last_error,
  };
}

/**
 * Live updates of the notify domain: a channel (disabled, enabled) and a notification's state. Each
 * is published here and announced (topic + id) to the other instances, whose dashboards may be
 * served by a web process while a separate notify process delivers.
 */
type Live = Pick<LiveHub, 'publish' | 'announce'>;
export function publishChannel(live: Live, row: ChannelRow): void {
  live.publish(row.org_id, { type: 'channel', data: view(row) });
  live.announce(row.org_id, { topic: 'channel', id: row.id });
}
export function publishDelivery(live: Live, row: DeliveryStateRow): void {
  live.publish(row.org_id, { type: 'delivery', data: deliveryEvent(row) });
  live.announce(row.org_id, { topic: 'delivery', id: row.id });
}

/** On an instance serving dashboards: turns other instances' announcements into local events, read back from the store. */
export function resolveRemoteNotify(db: Db, live: Pick<LiveHub, 'publish' | 'onRemoteChange'>): void {
  live.onRemoteChange('channel', async (orgId, id) => {
    const row = await selectChannel(db, orgId, id);
    if (row) live.publish(orgId, { type: 'channel', data: view(row) });
  });
  live.onRemoteChange('delivery', async (orgId, id) => {
    const row = await selectDeliveryState(db, orgId, id);
    if (row) live.publish(orgId, { type: 'delivery', data: deliveryEvent(row) });
  });
}

/**
 * Registers a channel. Webhook and Slack targets pass the SSRF guard; a webhook without a secret
 * gets a generated one, returned here once (later reads redact it).
 */
export async function createChannel(db: Db, orgId: string, input: ChannelInput, options: ChannelOptions): Promise<ChannelView> {
  const config = await channelOf(input.kind).configure(input, options);
  const row = await insertChannel(db, { id: newId(), orgId, kind: input.kind, name: input.name ?? '', config });
  return view(row, true);
}

export async function listChannels(db: Db, orgId: string): Promise<ChannelView[]> {
  return (await selectChannels(db, orgId)).map((row) => view(row));
}

export async function getChannel(db: Db, orgId: string, id: string): Promise<ChannelView> {
  const row = await selectChannel(db, orgId, id);
  if (!row) throw notFound('Channel');
  return view(row);
}

/** Deletes a channel; its queued and past notifications go with it (ON DELETE CASCADE). */
export async function deleteChannel(db: Db, orgId: string, id: string): Promise<void> {
  if (!(await deleteChannelRow(db, orgId, id))) throw notFound('Channel');
}

/** Recent notifications of a channel, newest first, each with every attempt made (so users see why one failed). */
export async function listDeliveries(db: Db, orgId: string, channelId: string, limit = 50): Promise<DeliveryView[]> {
  await getChannel(db, orgId, channelId);
  const { rows, attempts } = await selectDeliveries(db, orgId, channelId, limit);
  return rows.map((row) => {
    const payload = row.payload as Partial<NotificationPayload>;
    return {
      id: row.id,
      channel_id: row.channel_id,
      alert_id: row.alert_id,
      type: typeof payload.type === 'string' ? payload.type : '',
      // A notification of a recorded alert leaves its title to the record (payload.ts).
      title: typeof payload.alert?.title === 'string' ? payload.alert.title : (row.record_title ?? ''),
      status: row.status,
      attempt_count: row.attempts,
      next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
      last_error: row.last_error,
      created_at: iso(row.created_at),
      delivered_at: row.delivered_at === null ? null : iso(row.delivered_at),
      attempts: attempts
        .filter((a) => a.outbox_id === row.id)
        .map((a) => ({ attempted_at: iso(a.attempted_at), ok: a.ok, status_code: a.status_code, error: a.error, duration_ms: a.duration_ms })),
    };
  });
}

export interface NotificationRequest {
  orgId: string;
  /** The alert notified (one notification per channel and alert, ever); null for a test. */
  alertId: string | null;
  /** `alert.<state>`: firing, resolved, reminder… */
  type: NotificationPayload['type'];
  alert: NotifiedAlert;
  /** Every channel of the organisation, or these (ids of other organisations' channels are ignored). */
  channels: '*' | readonly string[];
}

/** An alert to record (its content, once) and notify (one notification per channel). */
export interface AlertNotice {
  record: AlertRecord;
  type: NotificationPayload['type'];
  /** What receivers get (its id is the record's). */
  alert: NotifiedAlert;
  channels: '*' | readonly string[];
}

/**
 * Records alerts and queues the notifications of those recorded, inside the caller's transaction:
 * the records in one INSERT … ON CONFLICT DO NOTHING (an idempotency key used already records
 * nothing, so queues nothing: never sent twice), the notifications in one insert, each leaving out
 * what its record holds (payload.ts). Returns the ids of the alerts recorded.
 */
export async function recordAlerts(db: Db, notices: readonly AlertNotice[]): Promise<Set<string>> {
  const recorded = await insertAlertRecords(
    db,
    notices.map((n) => n.record),
  );
  await queue(
    db,
    notices
      .filter((n) => recorded.has(n.record.id))
      .map((n) => ({ orgId: n.record.orgId, alertId: n.record.id, type: n.type, alert: n.alert, channels: n.channels, record: n.record })),
  );
  return recorded;
}

/** The id of the alert an organisation recorded under this idempotency key, if any. */
export async function recordedAlertId(db: Db, orgId: string, idempotencyKey: string): Promise<string | undefined> {
  return selectAlertIdByKey(db, orgId, idempotencyKey);
}

/**
 * Queues one notification per channel in the outbox, inside the caller's transaction (`db`), so
 * the change that caused them and the notifications commit or roll back together. An alert is
 * queued at most once per channel. Returns the ids queued.
 */
export async function enqueueNotifications(db: Db, request: NotificationRequest): Promise<string[]> {
  const [ids = []] = await queue(db, [request]);
  return ids;
}

/**
 * `enqueueNotifications` for many requests at once (of one or many organisations), with the same
 * guarantees (same transaction, at most once per channel and alert): the organisations' channels
 * are read in one query and every notification is inserted by one statement, however many alerts.
 * A request with the content of its alert record stores its alert without it (payload.ts).
 * Returns the ids queued per request, in order.
 */
async function queue(db: Db, requests: readonly (NotificationRequest & { record?: RecordContent })[]): Promise<string[][]> {
  if (requests.length === 0) return [];
  const targetsOf = new Map<string, { id: string; disabled_reason: string | null }[]>();
  for (const channel of await selectChannelTargetsOf(db, [...new Set(requests.map((r) => r.orgId))])) {
    targetsOf.set(channel.org_id, [...(targetsOf.get(channel.org_id) ?? []), channel]);
  }
  const rows: NewNotification[] = [];
  const ids = requests.map((request) => {
    // Every channel of the organisation, or those named that belong to it (others' ids are ignored).
    const wanted = request.channels === '*' ? undefined : new Set(request.channels);
    const targets = (targetsOf.get(request.orgId) ?? []).filter((c) => wanted === undefined || wanted.has(c.id));
    return targets.map((channel) => {
      const id = newId();
      const payload = { id, type: request.type, alert: request.record ? storedAlert(request.alert, request.record) : request.alert, org_id: request.orgId };
      // A disabled channel's notification is kept, not attempted: it can be re-sent once the channel works.
      const skipped = channel.disabled_reason === null ? {} : { skippedBecause: skippedReason(channel.disabled_reason) };
      rows.push({ id, orgId: request.orgId, channelId: channel.id, alertId: request.alertId, payload, ...skipped });
      return id;
    });
  });
  // One statement for every channel and alert: the caller's transaction (a ping, a sweep, a bulk of alerts) stays short.
  await insertNotifications(db, rows);
  return ids;
}

/**
 * Queues a test notification for one channel through the outbox, like any other notification
 * (same payload shape, same retries), without recording an alert.
 */
export async function queueTestNotification(db: Db, orgId: string, channelId: string): Promise<{ id: string }> {
  const channel = await getChannel(db, orgId, channelId);
  const alert: NotifiedAlert = {
    id: newId(),
    source: 'test',
    kind: 'test',
    subject_id: channel.id,
    title: `Test notification from Vigil${channel.name ? ` (${channel.name})` : ''}`,
    message: 'This is a test notification: this channel is set up correctly if you can read this.',
    details: { test: true, channel_id: channel.id },
    created_at: new Date().toISOString(),
  };
  const [id] = await enqueueNotifications(db, { orgId, alertId: null, type: 'alert.firing', alert, channels: [channel.id] });
  if (id === undefined) throw notFound('Channel'); // deleted in between
  return { id };
}

const skippedReason = (disabledReason: string | null): string => `channel disabled: ${disabledReason ?? 'by Vigil'}`;

/** What disabling a failing channel did, for the notifier to announce after the commit. */
export interface DisabledChannel {
  channel: ChannelRow;
  /** Its pending notifications, now skipped. */
  skipped: DeliveryStateRow[];
  /** The "channel disabled" notice queued to the organisation's other enabled channels (and e-mailed to its admins). */
  notice: NotificationPayload;
}

/**
 * Disables a channel whose deliveries keep failing, inside the caller's transaction (the one that
 * recorded the failed attempt): the reason is stored, its pending notifications are skipped, and a
 * "channel disabled" notice is queued to the organisation's other enabled channels. Undefined when
 * the channel is gone or already disabled (another notifier got there first).
 */
export async function disableFailingChannel(trx: Db, channelId: string, streak: FailureStreak, lastError: string | null): Promise<DisabledChannel | undefined> {
  const reason = disableReason(streak, lastError);
  const channel = await disableChannelRow(trx, channelId, reason);
  if (!channel) return undefined;
  const skipped = await skipPending(trx, { channelId }, skippedReason(reason));
  const label = channel.name ? `"${channel.name}"` : `${channelOf(channel.kind).form.label} channel`;
  const alert: NotifiedAlert = {
    id: newId(),
    source: 'notify',
    kind: 'channel_disabled',
    subject_id: channel.id,
    title: `Notification channel ${label} disabled: its deliveries keep failing`,
    message: `Vigil stopped sending to the ${channelOf(channel.kind).form.label} channel ${label} because ${reason}. Its notifications are kept as skipped; fix the receiver, re-enable the channel on the channels page (or POST /api/v1/channels/${channel.id}/enable) and re-send them.`,
    details: { channel_id: channel.id, channel_name: channel.name, channel_kind: channel.kind, failures: streak.failures, failing_since: streak.since.toISOString(), last_error: lastError },
    created_at: new Date().toISOString(),
  };
  const others = (await selectChannelTargets(trx, channel.org_id)).filter((c) => c.disabled_reason === null).map((c) => c.id);
  const [first] = await enqueueNotifications(trx, { orgId: channel.org_id, alertId: null, type: 'channel.disabled', alert, channels: others });
  return { channel, skipped, notice: { id: first ?? alert.id, type: 'channel.disabled', alert, org_id: channel.org_id } };
}

/** Re-enables a channel (with a fresh failure streak). Its skipped notifications stay skipped until re-sent. */
export async function enableChannel(db: Db, live: Live, orgId: string, id: string): Promise<ChannelView> {
  const row = await enableChannelRow(db, orgId, id);
  if (!row) throw notFound('Channel');
  publishChannel(live, row);
  return view(row);
}

/**
 * Queues a notification again, due now, whatever became of it (delivered, failed, skipped), with a
 * fresh retry schedule. Receivers see the same webhook-id: it is the same notification. A disabled
 * channel must be re-enabled first (409).
 */
export async function resendDelivery(db: Db, live: Live, orgId: string, id: string): Promise<DeliveryEvent> {
  const channelId = await selectDeliveryChannelId(db, orgId, id);
  if (channelId === undefined) throw notFound('Delivery');
  const channel = await selectChannel(db, orgId, channelId);
  if (channel?.disabled_at) throw conflict('The channel of this delivery is disabled: re-enable it first', { channel_id: channelId, reason: channel.disabled_reason });
  const row = await requeueDelivery(db, orgId, id);
  if (!row) throw notFound('Delivery');
  publishDelivery(live, row);
  return deliveryEvent(row);
}
