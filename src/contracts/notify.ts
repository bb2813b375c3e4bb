import { z } from 'zod';

/**
 * Notify routes (channels, their deliveries, test sends) and the notification payload receivers
 * get. Shared by the server and the web app. The channel kinds and their forms are declared here
 * once, as data: the server's channel registry (`domains/notify/registry.ts`) takes each kind's
 * input schema, display name and fields from here, and the web's channel form is drawn from them.
 */

// --- channel kinds -----------------------------------------------------------------------------

/** Every kind of channel. The `channels.kind` CHECK lists the same (a test compares them). */
export const channelKind = z.enum(['webhook', 'email', 'slack']);
export type ChannelKind = z.infer<typeof channelKind>;

const name = z.string().trim().max(100).optional();
const url = z.string().trim().min(1).max(2048);

/** The body of `POST /api/v1/channels`, per kind. Unknown keys are refused so typos (`secrets`) are not silently ignored. */
export const channelInputs = {
  webhook: z.strictObject({ kind: z.literal('webhook'), name, url, secret: z.string().trim().min(1).max(200).optional() }),
  email: z.strictObject({ kind: z.literal('email'), name, to: z.string().trim().min(3).max(1000) }),
  slack: z.strictObject({ kind: z.literal('slack'), name, url }),
} as const satisfies { [K in ChannelKind]: z.ZodType<{ kind: K }> };

export const channelInput = z.discriminatedUnion('kind', [channelInputs.webhook, channelInputs.email, channelInputs.slack]);
export type ChannelInput = z.infer<typeof channelInput>;

/** A field of a kind's input besides `kind` and `name`, as the channel form shows it. */
export interface ChannelFormField<K extends ChannelKind = ChannelKind> {
  key: Exclude<keyof z.infer<(typeof channelInputs)[K]>, 'kind' | 'name'>;
  label: string;
  input: 'url' | 'text';
  required: boolean;
  placeholder: string;
  /** Shown in a monospace font (secrets, tokens). */
  mono?: boolean;
}

/** How a kind is shown: its display name, the form fields, a hint under the form. */
export interface ChannelKindForm<K extends ChannelKind = ChannelKind> {
  label: string;
  fields: readonly ChannelFormField<K>[];
  hint?: string;
}

export const channelForms: { [K in ChannelKind]: ChannelKindForm<K> } = {
  webhook: {
    label: 'Webhook',
    fields: [
      { key: 'url', label: 'URL', input: 'url', required: true, placeholder: 'https://example.com/vigil-hook' },
      { key: 'secret', label: 'Signing secret', input: 'text', required: false, placeholder: 'whsec_… (generated when empty)', mono: true },
    ],
    hint: 'Deliveries are signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature), so any Standard Webhooks library verifies them.',
  },
  email: {
    label: 'E-mail',
    fields: [{ key: 'to', label: 'E-mail addresses', input: 'text', required: true, placeholder: 'ops@example.com, oncall@example.com' }],
  },
  slack: {
    label: 'Slack-compatible',
    fields: [{ key: 'url', label: 'Incoming webhook URL', input: 'url', required: true, placeholder: 'https://hooks.slack.com/services/…' }],
  },
};

// --- channels ----------------------------------------------------------------------------------

export const channelParams = z.object({ id: z.uuid() });

/** A channel as the API shows it: secrets redacted (except in the create answer). */
export const channelView = z.object({
  id: z.string(),
  kind: channelKind,
  name: z.string(),
  url: z.string().optional(),
  to: z.array(z.string()).optional(),
  secret: z.string().optional().describe('Webhook signing secret: in full in the create answer only, redacted afterwards'),
  created_at: z.string(),
  disabled_at: z
    .string()
    .nullable()
    .describe('When Vigil disabled the channel because its deliveries kept failing (null: enabled). Re-enable it with POST /api/v1/channels/:id/enable'),
  disabled_reason: z.string().nullable().describe('Why the channel was disabled (null: enabled)'),
});
export type ChannelView = z.infer<typeof channelView>;
export const channelList = z.object({ channels: z.array(channelView) });

// --- deliveries --------------------------------------------------------------------------------

/** `skipped`: not attempted because the channel is disabled; re-send it once the channel works again. */
export const deliveryStatus = z.enum(['pending', 'delivered', 'failed', 'skipped']);
export type DeliveryStatus = z.infer<typeof deliveryStatus>;

export const deliveryAttemptView = z.object({
  attempted_at: z.string(),
  ok: z.boolean(),
  status_code: z.number().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number(),
});

export const deliveryView = z.object({
  id: z.string().describe('Notification id: the webhook-id receivers see, stable across retries and re-sends'),
  channel_id: z.string(),
  alert_id: z.string().nullable(),
  type: z.string(),
  title: z.string(),
  status: deliveryStatus,
  attempt_count: z.number(),
  next_attempt_at: z.string().nullable().describe('When the next attempt is due (pending only)'),
  last_error: z.string().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
  attempts: z.array(deliveryAttemptView),
});
export type DeliveryView = z.infer<typeof deliveryView>;

export const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
export const deliveryList = z.object({ deliveries: z.array(deliveryView) });

export const deliveryParams = z.object({ id: z.uuid() });

/**
 * The `delivery` live event (SSE): a notification's status changed (attempted, given up, skipped,
 * re-sent). Dashboards refetch the channel's deliveries on it.
 */
export const deliveryEvent = z.object({
  id: z.string(),
  channel_id: z.string(),
  status: deliveryStatus,
  attempt_count: z.number(),
  next_attempt_at: z.string().nullable(),
  last_error: z.string().nullable(),
});
export type DeliveryEvent = z.infer<typeof deliveryEvent>;

/** `POST /api/v1/channels/:id/test`. */
export const testQueued = z.object({ id: z.string().describe('Notification id; follow it in /deliveries') });

// --- what receivers get ------------------------------------------------------------------------

/** One alert instance as a notification names it. */
export const notifiedInstance = z.object({
  fingerprint: z.string(),
  state: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  since: z.string().describe('ISO 8601: since when the instance fires, or when it resolved'),
  link: z.string().nullable(),
});

/**
 * The notification every channel delivers (a webhook's JSON body; Slack and e-mail are formatted
 * from it). `id` is the notification (outbox row) id: the same on every retry.
 */
export const notificationPayload = z.object({
  id: z.string(),
  // Lenient on purpose: a state added later must still be delivered by an older notifier.
  // `channel.disabled`: one of the organisation's channels was disabled (alert describes which and why).
  type: z.custom<`alert.${string}` | `channel.${string}`>(
    (v) => typeof v === 'string' && (v.startsWith('alert.') || v.startsWith('channel.')),
    'must be alert.<state> or channel.<event>',
  ),
  alert: z.object({
    id: z.string(),
    source: z.string(),
    kind: z.string(),
    subject_id: z.string(),
    title: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    // Added by the alert manager (issue 9); optional so older notifications and test sends still fit.
    status: z.enum(['firing', 'resolved']).optional().describe('firing while any instance of the notification fires'),
    group_key: z.string().optional().describe('The alert group (source:rule id plus group-by label values) this notification is about'),
    rule_name: z.string().optional(),
    link: z.string().nullable().optional().describe('Page of the single instance notified (absolute when Vigil knows its public URL)'),
    instances: z.array(notifiedInstance).optional().describe('Every instance the notification names: the firing ones, then the resolved ones'),
  }),
  org_id: z.string(),
});
export type NotificationPayload = z.infer<typeof notificationPayload>;
export type NotifiedAlert = NotificationPayload['alert'];
