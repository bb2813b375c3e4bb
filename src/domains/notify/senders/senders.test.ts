import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationPayload } from '../../../contracts/notify.js';
import { describeError } from '../../../platform/fetch-error.js';
import { formatEmailText, isPermanentSmtpError } from './email.js';
import { HttpSender, PermanentDeliveryError, isPermanentFailure } from './http.js';
import { formatSlackMessage } from './slack.js';
import { signWebhook } from './webhook.js';

const payload: NotificationPayload = {
  id: '6f1c6a52-7a4e-4a53-9a6b-8f2f6f0d2a11',
  type: 'alert.resolved',
  alert: {
    id: 'a4b0d1f6-0d6e-4a1e-b2d5-5f0f8a2f9d01',
    source: 'job',
    kind: 'up',
    subject_id: 'c1',
    title: 'Export <nightly> is up',
    message: 'Back after 3 runs & 2 h',
    details: { exit_status: 0, check: 'export' },
    created_at: '2024-03-31T01:30:00.000Z',
  },
  org_id: 'o1',
};

describe('message formats', () => {
  it('signs webhooks the way the standardwebhooks library verifies', () => {
    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const body = JSON.stringify(payload);
    const headers = signWebhook(secret, payload.id, body, new Date());
    expect(headers['webhook-id']).toBe(payload.id);
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(payload);
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('writes Slack text with escaping, state and link', () => {
    const message = formatSlackMessage(payload, 'https://vigil.example.com');
    expect(message.text).toBe(':large_green_circle: RESOLVED: *Export &lt;nightly&gt; is up*\nBack after 3 runs &amp; 2 h\n<https://vigil.example.com|Open Vigil>');
    expect(formatSlackMessage(payload).text).not.toContain('Open Vigil');
    // An alert that names its page (a check, a rule's traffic) links there rather than to the home page.
    const linked = { ...payload, alert: { ...payload.alert, link: 'https://vigil.example.com/checks/abc' } };
    expect(formatSlackMessage(linked, 'https://vigil.example.com').text).toContain('<https://vigil.example.com/checks/abc|Open Vigil>');
  });

  it('writes e-mail text with message, details and link', () => {
    const text = formatEmailText(payload, 'https://vigil.example.com');
    expect(text).toContain('RESOLVED: Export <nightly> is up');
    expect(text).toContain('Back after 3 runs & 2 h');
    expect(text).toContain('  exit_status: 0');
    expect(text).toContain('Open Vigil: https://vigil.example.com');
    expect(text).toContain(`Notification id: ${payload.id}`);
    const linked = { ...payload, alert: { ...payload.alert, link: 'https://vigil.example.com/checks/abc' } };
    expect(formatEmailText(linked, 'https://vigil.example.com')).toContain('Open in Vigil: https://vigil.example.com/checks/abc');
  });
});

describe('HttpSender', () => {
  let server: Server | undefined;
  let sender: HttpSender | undefined;
  afterEach(async () => {
    await sender?.close();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    server = createServer(handler);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('gives up on a receiver that never answers after the timeout', async () => {
    const url = await listen(() => undefined);
    sender = new HttpSender(true, 200);
    const started = Date.now();
    const error = await sender.postJson(url, '{}', {}).then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(describeError(error)).toMatch(/timeout/i);
  });

  it('reports a refused connection readably', async () => {
    const url = await listen((_req, res) => res.end());
    server!.close();
    sender = new HttpSender(true);
    const error = await sender.postJson(url, '{}', {}).then(() => undefined, (e: unknown) => e);
    expect(describeError(error)).toContain('ECONNREFUSED');
  });

  it('does not follow redirects (a redirect could point into the private network)', async () => {
    let hits = 0;
    const url = await listen((_req, res) => {
      hits++;
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    sender = new HttpSender(true);
    expect(await sender.postJson(url, '{}', {})).toMatchObject({ ok: false, statusCode: 302 });
    expect(hits).toBe(1);
  });

  it('refuses private targets at connect time when the guard is on', async () => {
    const url = await listen((_req, res) => res.end('ok'));
    sender = new HttpSender(false);
    const port = new URL(url).port;
    await expect(sender.postJson(`http://localhost:${port}/`, '{}', {})).rejects.toThrow(/^localhost resolves to an address that is not public/);
    await expect(sender.postJson(url, '{}', {})).rejects.toThrow(/loopback/);
  });

  it('marks answers that retrying cannot change as permanent: 410 Gone and permanent redirects, not 404 or 5xx', async () => {
    let status = 410;
    const url = await listen((_req, res) => res.writeHead(status, status === 308 || status === 301 ? { location: 'https://new.example.com/hook' } : {}).end('gone'));
    sender = new HttpSender(true);
    expect(await sender.postJson(url, '{}', {})).toMatchObject({ ok: false, statusCode: 410, permanent: true, error: 'HTTP 410: gone' });
    status = 308;
    expect(await sender.postJson(url, '{}', {})).toMatchObject({ permanent: true, error: expect.stringContaining("moved to https://new.example.com/hook: update the channel's URL") });
    for (status of [404, 401, 429, 500, 503, 302]) expect((await sender.postJson(url, '{}', {})).permanent, String(status)).toBe(false);
  });

  it('treats a refused target and an unusable URL as permanent failures', async () => {
    sender = new HttpSender(false);
    const refused = await sender.postJson('http://localhost:9/', '{}', {}).then(() => undefined, (e: unknown) => e);
    expect(isPermanentFailure(refused)).toBe(true);
    const literal = await sender.postJson('http://10.0.0.1/', '{}', {}).then(() => undefined, (e: unknown) => e);
    expect(isPermanentFailure(literal)).toBe(true);
    await expect(sender.postJson('ftp://example.com/', '{}', {})).rejects.toBeInstanceOf(PermanentDeliveryError);
    // A refused connection is worth retrying.
    sender = new HttpSender(true);
    const down = await sender.postJson('http://127.0.0.1:9/', '{}', {}).then(() => undefined, (e: unknown) => e);
    expect(isPermanentFailure(down)).toBe(false);
  });
});

describe('isPermanentSmtpError', () => {
  it('takes SMTP 5xx replies as permanent, 4xx and connection errors as temporary', () => {
    expect(isPermanentSmtpError(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }))).toBe(true);
    expect(isPermanentSmtpError(Object.assign(new Error('Authentication failed'), { responseCode: 535 }))).toBe(true);
    expect(isPermanentSmtpError(Object.assign(new Error('Try again later'), { responseCode: 451 }))).toBe(false);
    expect(isPermanentSmtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});
