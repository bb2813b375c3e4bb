import type { ChannelInput, ChannelView, DeliveryView, NotificationPayload, NotifiedAlert } from '../../contracts/notify.js';
import { notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { channelOf, type ChannelOptions } from './registry.js';
import { deleteChannelRow, insertChannel, insertNotifications, selectChannel, selectChannelIds, selectChannels, selectDeliveries, type ChannelRow } from './store.js';
import type { Db } from '../../platform/store/index.js';

/** The notify domain's verbs: channels, their deliveries, and queueing notifications. Kinds differ only in the registry. */

const iso = (d: Date | string): string => new Date(d).toISOString();

function view(row: ChannelRow, reveal = false): ChannelView {
  return { id: row.id, kind: row.kind, name: row.name, created_at: iso(row.created_at), ...channelOf(row.kind).details(row.config, reveal) };
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
      alert_id: row.alert_id,
      type: typeof payload.type === 'string' ? payload.type : '',
      title: typeof payload.alert?.title === 'string' ? payload.alert.title : '',
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

/**
 * Queues one notification per channel in the outbox, inside the caller's transaction (`db`), so
 * the change that caused them and the notifications commit or roll back together. An alert is
 * queued at most once per channel. Returns the ids queued.
 */
export async function enqueueNotifications(db: Db, request: NotificationRequest): Promise<string[]> {
  const channelIds = await selectChannelIds(db, request.orgId, request.channels === '*' ? undefined : request.channels);
  const rows = channelIds.map((channelId) => {
    const id = newId();
    const payload: NotificationPayload = { id, type: request.type, alert: request.alert, org_id: request.orgId };
    return { id, orgId: request.orgId, channelId, alertId: request.alertId, payload };
  });
  // One statement for every channel: the caller's transaction (a ping, a sweep) stays short.
  await insertNotifications(db, rows);
  return rows.map((r) => r.id);
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
