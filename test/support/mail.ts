import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A real SMTP peer (smtp-server) on loopback that keeps every message it accepts. */
export interface MailSink {
  url: string;
  messages: { to: string[]; raw: string }[];
  close(): Promise<void>;
}

export async function startMailSink(): Promise<MailSink> {
  const messages: MailSink['messages'] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no STARTTLS (its self-signed certificate would be refused) and no AUTH.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  const { port } = smtp.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) };
}

/** The invitation token in a message (undoing quoted-printable soft line breaks). */
export function invitationTokenIn(raw: string): string | undefined {
  const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  return /accept-invitation#token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
}
