import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import {
  channelForms,
  channelInputs,
  type ChannelInput,
  type ChannelKind,
  type ChannelKindForm,
  type ChannelView,
  type NotificationPayload,
} from '../../contracts/notify.js';
import { invalidField } from '../../platform/errors.js';
import { emailConfig, slackConfig, webhookConfig } from './configs.js';
import type { EmailSender } from './senders/email.js';
import type { HttpSender, SendResult } from './senders/http.js';
import { sendSlack } from './senders/slack.js';
import { sendWebhook } from './senders/webhook.js';
import { assertPublicTarget, parseTargetUrl } from './ssrf.js';

/**
 * The channel registry: everything that differs between kinds of channel, in one entry per kind —
 * its input schema, display name and form fields (from the contract, so the web draws the same
 * form), the config it stores, how an input becomes that config, what reads show of it and which
 * fields are secret, and how a notification is sent. Nothing else in Vigil switches on a kind.
 * Adding a kind: an entry in `channelKind`/`channelInputs`/`channelForms` (contracts/notify.ts),
 * one here, and a migration widening the `channels.kind` CHECK (a test compares the two).
 */

export interface ChannelOptions {
  /** VIGIL_ALLOW_PRIVATE_WEBHOOKS: skip the SSRF guard (targets on the local network). */
  allowPrivate: boolean;
}

/** The senders a delivery may use, built once per notifier. */
export interface Senders {
  http: HttpSender;
  email: EmailSender;
  /** Link to the dashboard in messages meant for people (Slack, e-mail). */
  baseUrl?: string | undefined;
}

/** What the API shows of a channel's config. */
export type ChannelDetails = Pick<ChannelView, 'url' | 'to' | 'secret'>;
type InputOf<K extends ChannelKind> = z.infer<(typeof channelInputs)[K]>;

/** One kind, typed by its input and stored config. */
interface ChannelSpec<K extends ChannelKind, Config> {
  config: z.ZodType<Config>;
  /** The delivery error when a stored config no longer parses. */
  invalidConfig: string;
  /** Turns a valid input into the config to store: checks targets, generates secrets. */
  configure(input: InputOf<K>, options: ChannelOptions): Promise<Config>;
  /** What reads show of the config, before redaction. */
  show(config: Config): ChannelDetails;
  /** Secret fields of `show`'s answer and how each is shown in reads (the create answer shows them in full). */
  secrets: { [F in keyof ChannelDetails]?: (value: string) => string };
  send(senders: Senders, config: Config, notificationId: string, payload: NotificationPayload): Promise<SendResult>;
}

/** A registry entry: the same operations with the kind's types erased, so callers look a kind up instead of switching on it. */
export interface ChannelDefinition {
  kind: ChannelKind;
  form: ChannelKindForm;
  input: z.ZodType<ChannelInput>;
  configure(input: ChannelInput, options: ChannelOptions): Promise<Record<string, unknown>>;
  /** The API's view of a stored config; secrets redacted unless `reveal`. Throws if the config is invalid. */
  details(config: unknown, reveal: boolean): ChannelDetails;
  /** One delivery attempt; a stored config that does not parse fails permanently. */
  deliver(senders: Senders, config: unknown, notificationId: string, payload: NotificationPayload): Promise<SendResult>;
}

function defineChannel<K extends ChannelKind, Config extends Record<string, unknown>>(kind: K, spec: ChannelSpec<K, Config>): ChannelDefinition {
  return {
    kind,
    form: channelForms[kind],
    input: channelInputs[kind],
    // The registry is looked up by `input.kind`, so the input is this kind's.
    configure: (input, options) => spec.configure(input as InputOf<K>, options),
    details(raw, reveal) {
      const shown = spec.show(spec.config.parse(raw));
      if (reveal) return shown;
      const redacted: ChannelDetails = { ...shown };
      for (const [field, redact] of Object.entries(spec.secrets) as [keyof ChannelDetails, (value: string) => string][]) {
        const value = shown[field];
        if (typeof value === 'string') (redacted as Record<string, unknown>)[field] = redact(value);
      }
      return redacted;
    },
    async deliver(senders, raw, notificationId, payload) {
      const config = spec.config.safeParse(raw);
      if (!config.success) return { ok: false, statusCode: null, error: spec.invalidConfig, permanent: true };
      return spec.send(senders, config.data, notificationId, payload);
    },
  };
}

/** Standard Webhooks secrets: `whsec_` + base64 of 24..64 random bytes. */
const SECRET_PREFIX = 'whsec_';
const generateWebhookSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');
const REDACTED_SECRET = `${SECRET_PREFIX}********`;

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

export const channelRegistry: Readonly<Record<ChannelKind, ChannelDefinition>> = {
  webhook: defineChannel('webhook', {
    config: webhookConfig,
    invalidConfig: 'webhook channel has no valid url/secret',
    // A webhook without a secret gets a generated one, returned once in the create answer.
    configure: async (input, options) => ({
      url: await checkTarget(input.url, options),
      secret: input.secret ? normaliseSecret(input.secret) : generateWebhookSecret(),
    }),
    show: (c) => ({ url: c.url, secret: c.secret }),
    secrets: { secret: () => REDACTED_SECRET },
    send: (senders, config, id, payload) => sendWebhook(senders.http, config, id, payload),
  }),
  email: defineChannel('email', {
    config: emailConfig,
    invalidConfig: 'email channel has no valid recipients',
    configure: async (input) => ({ to: parseRecipients(input.to) }),
    show: (c) => ({ to: c.to }),
    secrets: {},
    send: (senders, config, id, payload) => senders.email.send(config, id, payload, senders.baseUrl),
  }),
  slack: defineChannel('slack', {
    config: slackConfig,
    invalidConfig: 'slack channel has no valid url',
    configure: async (input, options) => ({ url: await checkTarget(input.url, options) }),
    show: (c) => ({ url: c.url }),
    secrets: { url: redactSlackUrl },
    send: (senders, config, _id, payload) => sendSlack(senders.http, config, payload, senders.baseUrl),
  }),
};

/** The registry entry of a kind. */
export const channelOf = (kind: ChannelKind): ChannelDefinition => channelRegistry[kind];
