import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import type { NotificationPayload } from '../alerting/index.js';
import { invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { ChannelKind, Db } from '../../platform/store/index.js';
import { assertPublicTarget, parseTargetUrl } from './ssrf.js';
import type { ChannelInput, ChannelView, DeliveryView } from '../../contracts/notify.js';

/** Standard Webhooks secrets: `whsec_` + base64 of 24..64 random bytes. */
const SECRET_PREFIX = 'whsec_';
const generateWebhookSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');

/** What is stored in `channels.config`, per kind; also parsed at delivery time. */
export const webhookConfig = z.object({ url: z.string(), secret: z.string() });
export const emailConfig = z.object({ to: z.array(z.string()).min(1) });
export const slackConfig = z.object({ url: z.string() });
export type WebhookConfig = z.infer<typeof webhookConfig>;
export type EmailConfig = z.infer<typeof emailConfig>;
export type SlackConfig = z.infer<typeof slackConfig>;

const REDACTED_SECRET = `${SECRET_PREFIX}********`;

export interface ChannelOptions {
  /** VIGIL_ALLOW_PRIVATE_WEBHOOKS: skip the SSRF guard (targets on the local network). */
  allowPrivate: boolean;
}

function normaliseSecret(raw: string): string {
  const body = raw.startsWith(SECRET_PREFIX) ? raw.slice(SECRET_PREFIX.length) : raw;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(body) ? Buffer.from(body, 'base64') : Buffer.alloc(0);
  if (bytes.length < 24 || bytes.length > 64) {
    throw invalidField('secret', 'must be a Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 bytes (omit it to have one generated)');
  }
  const secret = SECRET_PREFIX + body;
  new Webhook(secret); // the signing library must accept it too
  return secret;
}

const emailAddress = z.email();

function parseRecipients(raw: string): string[] {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw invalidField('to', 'needs at least one e-mail address');
  if (list.length > 20) throw invalidField('to', 'at most 20 addresses');
  for (const address of list) if (!emailAddress.safeParse(address).success) throw invalidField('to', `${address} is not an e-mail address`);
  return list;
}

async function checkTarget(raw: string, options: ChannelOptions): Promise<string> {
  const target = parseTargetUrl(raw);
  if (!options.allowPrivate) await assertPublicTarget(target);
  return target.toString();
}

/** Slack incoming-webhook URLs carry their credential in the path, so reads show only the origin. */
const redactSlackUrl = (raw: string): string => {
  try {
    return `${new URL(raw).origin}/…`;
  } catch {
    return '…';
  }
};

interface ChannelRow {
  id: string;
  kind: ChannelKind;
  name: string;
  config: Record<string, unknown>;
  created_at: Date;
}

function view(row: ChannelRow, reveal = false): ChannelView {
  const base = { id: row.id, kind: row.kind, name: row.name, created_at: new Date(row.created_at).toISOString() };
  const config = row.config;
  switch (row.kind) {
    case 'webhook': {
      const c = webhookConfig.parse(config);
      return { ...base, url: c.url, secret: reveal ? c.secret : REDACTED_SECRET };
    }
    case 'email':
      return { ...base, to: emailConfig.parse(config).to };
    case 'slack': {
      const c = slackConfig.parse(config);
      return { ...base, url: reveal ? c.url : redactSlackUrl(c.url) };
    }
  }
}

/**
 * Registers a channel. Webhook and Slack targets pass the SSRF guard; a webhook without a secret
 * gets a generated one, returned here once (later reads redact it).
 */
export async function createChannel(db: Db, orgId: string, input: ChannelInput, options: ChannelOptions): Promise<ChannelView> {
  let config: WebhookConfig | EmailConfig | SlackConfig;
  switch (input.kind) {
    case 'webhook':
      config = { url: await checkTarget(input.url, options), secret: input.secret ? normaliseSecret(input.secret) : generateWebhookSecret() };
      break;
    case 'email':
      config = { to: parseRecipients(input.to) };
      break;
    case 'slack':
      config = { url: await checkTarget(input.url, options) };
      break;
  }
  const row = await db
    .insertInto('channels')
    .values({ id: newId(), org_id: orgId, kind: input.kind, name: input.name ?? '', config: JSON.stringify(config) })
    .returning(['id', 'kind', 'name', 'config', 'created_at'])
    .executeTakeFirstOrThrow();
  return view(row, true);
}

export async function listChannels(db: Db, orgId: string): Promise<ChannelView[]> {
  const rows = await db
    .selectFrom('channels')
    .select(['id', 'kind', 'name', 'config', 'created_at'])
    .where('org_id', '=', orgId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => view(row));
}

export async function getChannel(db: Db, orgId: string, id: string): Promise<ChannelView> {
  const row = await db
    .selectFrom('channels')
    .select(['id', 'kind', 'name', 'config', 'created_at'])
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('Channel');
  return view(row);
}

/** Deletes a channel; its queued and past notifications go with it (ON DELETE CASCADE). */
export async function deleteChannel(db: Db, orgId: string, id: string): Promise<void> {
  const res = await db.deleteFrom('channels').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw notFound('Channel');
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** Recent notifications of a channel, newest first, each with every attempt made (so users see why one failed). */
export async function listDeliveries(db: Db, orgId: string, channelId: string, limit = 50): Promise<DeliveryView[]> {
  await getChannel(db, orgId, channelId);
  const rows = await db
    .selectFrom('outbox')
    .select(['id', 'alert_id', 'payload', 'status', 'attempts', 'next_attempt_at', 'last_error', 'created_at', 'delivered_at'])
    .where('org_id', '=', orgId)
    .where('channel_id', '=', channelId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const attempts = rows.length
    ? await db
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
      created_at: new Date(row.created_at).toISOString(),
      delivered_at: iso(row.delivered_at),
      attempts: attempts
        .filter((a) => a.outbox_id === row.id)
        .map((a) => ({
          attempted_at: new Date(a.attempted_at).toISOString(),
          ok: a.ok,
          status_code: a.status_code,
          error: a.error,
          duration_ms: a.duration_ms,
        })),
    };
  });
}

/**
 * Queues a test notification for one channel through the outbox, like any other notification
 * (same payload shape, same retries), without recording an alert.
 */
export async function queueTestNotification(db: Db, orgId: string, channelId: string): Promise<{ id: string }> {
  const channel = await getChannel(db, orgId, channelId);
  const id = newId();
  const payload: NotificationPayload = {
    id,
    type: 'alert.firing',
    alert: {
      id: newId(),
      source: 'test',
      kind: 'test',
      subject_id: channel.id,
      title: `Test notification from Vigil${channel.name ? ` (${channel.name})` : ''}`,
      message: 'This is a test notification: this channel is set up correctly if you can read this.',
      details: { test: true, channel_id: channel.id },
      created_at: new Date().toISOString(),
    },
    org_id: orgId,
  };
  await db
    .insertInto('outbox')
    .values({ id, org_id: orgId, channel_id: channel.id, alert_id: null, payload: JSON.stringify(payload), next_attempt_at: sql<Date>`now()` })
    .execute();
  return { id };
}
