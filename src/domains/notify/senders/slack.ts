import type { NotificationPayload } from '../../../contracts/notify.js';
import type { SlackConfig } from '../configs.js';
import type { HttpSender, SendResult } from './http.js';

/** Slack mrkdwn needs only these three escaped. */
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const STATE_LABEL: Record<string, string> = {
  'alert.firing': ':red_circle: FIRING',
  'alert.resolved': ':large_green_circle: RESOLVED',
  'alert.reminder': ':repeat: STILL FIRING',
  'channel.disabled': ':warning: CHANNEL DISABLED',
};

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

/**
 * A readable Slack incoming-webhook message: `text` (shown in notifications and by
 * Slack-compatible receivers that ignore blocks) plus the same content as blocks.
 */
export function formatSlackMessage(payload: NotificationPayload, baseUrl?: string): SlackMessage {
  const { alert } = payload;
  const label = STATE_LABEL[payload.type] ?? payload.type;
  // The page of what fired (a check, the traffic of a rule) when the alert names one, else Vigil's home.
  const target = alert.link && /^https?:\/\//.test(alert.link) ? alert.link : baseUrl;
  const link = target ? `<${target}|Open Vigil>` : '';
  const lines = [`${label}: *${escape(alert.title)}*`, escape(alert.message), link].filter(Boolean);
  const context = `${escape(alert.source)} · ${escape(alert.kind)} · ${alert.created_at}`;
  return {
    text: lines.join('\n'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context }] },
    ],
  };
}

export async function sendSlack(http: HttpSender, config: SlackConfig, payload: NotificationPayload, baseUrl?: string): Promise<SendResult> {
  return http.postJson(config.url, JSON.stringify(formatSlackMessage(payload, baseUrl)), {});
}
