import nodemailer, { type Transporter } from 'nodemailer';
import type { NotificationPayload } from '../../../contracts/notify.js';
import type { EmailConfig } from '../configs.js';
import { describeError } from '../../../platform/fetch-error.js';
import { PermanentDeliveryError, type SendResult } from './http.js';

const STATE_WORD: Record<string, string> = {
  'alert.firing': 'FIRING',
  'alert.resolved': 'RESOLVED',
  'alert.reminder': 'STILL FIRING',
  'channel.disabled': 'CHANNEL DISABLED',
};

/** Plain-text body: the message, the alert's details one per line, and a link to the dashboard. */
export function formatEmailText(payload: NotificationPayload, baseUrl?: string): string {
  const { alert } = payload;
  const details = Object.entries(alert.details).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [
    `${STATE_WORD[payload.type] ?? payload.type}: ${alert.title}`,
    '',
    alert.message,
    '',
    `Source: ${alert.source} (${alert.kind})`,
    `Time:   ${alert.created_at}`,
    ...(details.length ? ['', 'Details:', ...details] : []),
    // The page of what fired when the alert names one (absolute), else Vigil's home.
    ...(alert.link && /^https?:\/\//.test(alert.link) ? ['', `Open in Vigil: ${alert.link}`] : baseUrl ? ['', `Open Vigil: ${baseUrl}`] : []),
    '',
    `Notification id: ${payload.id}`,
  ].join('\n');
}

/**
 * An SMTP 5xx reply is a permanent refusal (RFC 5321: do not repeat the same request): unknown
 * recipients, a refused sender, rejected credentials. 4xx replies and connection failures are
 * temporary and retried.
 */
export function isPermanentSmtpError(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** E-mail over SMTP (VIGIL_SMTP_URL), one transport reused for every message. */
export class EmailSender {
  private transport: Transporter | undefined;

  constructor(
    private readonly smtpUrl: string | undefined,
    private readonly from: string,
  ) {}

  async send(config: EmailConfig, id: string, payload: NotificationPayload, baseUrl?: string): Promise<SendResult> {
    if (!this.smtpUrl) return { ok: false, statusCode: null, error: 'VIGIL_SMTP_URL is not set: configure an SMTP server to send e-mail', permanent: true };
    this.transport ??= nodemailer.createTransport({
      url: this.smtpUrl,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    let info: { rejected?: unknown[] };
    try {
      info = await this.transport.sendMail({
        from: this.from,
        to: config.to,
        subject: payload.alert.title,
        text: formatEmailText(payload, baseUrl),
        // The same Message-ID on every retry lets mail clients fold a duplicate delivery.
        messageId: `<${id}@vigil>`,
        headers: { 'X-Vigil-Notification-Id': id },
      });
    } catch (error) {
      throw isPermanentSmtpError(error) ? new PermanentDeliveryError(describeError(error), { cause: error }) : error;
    }
    // nodemailer throws when every recipient is refused. When only some are, the others already
    // have the message: a retry would duplicate it, so the attempt counts as delivered, with a note.
    const rejected: string[] = (info.rejected ?? []).map(String);
    return { ok: true, statusCode: null, error: rejected.length ? `SMTP server refused ${rejected.join(', ')}` : null };
  }

  close(): void {
    this.transport?.close();
  }
}
