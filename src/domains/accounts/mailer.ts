import nodemailer, { type Transporter } from 'nodemailer';

/**
 * Sends invitation e-mails over SMTP (VIGIL_SMTP_URL, the server notifications use). Sent directly,
 * not through the notification outbox: the administrator is waiting for the answer, which says
 * whether it went, and returns the link to pass on by hand when it did not.
 */
export interface InvitationMailer {
  send(message: { to: string; subject: string; text: string }): Promise<void>;
}

export function smtpMailer(smtpUrl: string, from: string): InvitationMailer {
  let transport: Transporter | undefined;
  return {
    async send(message) {
      transport ??= nodemailer.createTransport({ url: smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
      await transport.sendMail({ from, ...message });
    },
  };
}
