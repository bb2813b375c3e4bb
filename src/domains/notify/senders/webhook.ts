import { Webhook } from 'standardwebhooks';
import type { NotificationPayload } from '../../../contracts/notify.js';
import type { WebhookConfig } from '../configs.js';
import type { HttpSender, SendResult } from './http.js';

/**
 * Standard Webhooks signing headers for one attempt. `webhook-id` is the notification (outbox row)
 * id, the same on every retry so receivers can dedupe; the timestamp and signature are fresh.
 */
export function signWebhook(secret: string, id: string, body: string, at: Date): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

/** POSTs the notification JSON, signed, to a webhook channel. */
export async function sendWebhook(http: HttpSender, config: WebhookConfig, id: string, payload: NotificationPayload): Promise<SendResult> {
  const body = JSON.stringify(payload);
  return http.postJson(config.url, body, signWebhook(config.secret, id, body, new Date()));
}
