import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { raiseAlert } from '../src/domains/alerting/index.js';
import { Notifier } from '../src/domains/notify/index.js';
import { eventually, startTestServer, STORE_KINDS, storeAvailable, type TestServer } from './support/server.js';

/** A real HTTP receiver on loopback: records every request, answers with the status `respond` picks. */
interface Receiver {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

async function startReceiver(respond: (n: number) => number = () => 200): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = respond(requests.length);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'receiver is having a bad day' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A real SMTP peer (smtp-server) on loopback that keeps every message it accepts. */
interface MailSink {
  url: string;
  messages: { from: string; to: string[]; raw: string }[];
  close(): Promise<void>;
}

async function startMailSink(): Promise<MailSink> {
  const messages: MailSink['messages'] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no STARTTLS (its self-signed certificate would be refused) and no AUTH.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // Addresses at refused.example do not exist here: a permanent (5xx) refusal.
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith('@refused.example')) return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        messages.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  const { port } = smtp.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) };
}

interface Channel {
  id: string;
  kind: string;
  name: string;
  url?: string;
  to?: string[];
  secret?: string;
}

interface Delivery {
  id: string;
  status: string;
  attempt_count: number;
  last_error: string | null;
  attempts: { ok: boolean; status_code: number | null; error: string | null; duration_ms: number }[];
}

async function createChannel(server: TestServer, body: unknown, key?: string): Promise<Channel> {
  const res = await server.api('/api/v1/channels', { method: 'POST', json: body, ...(key ? { key } : {}) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Channel;
}

async function deliveries(server: TestServer, channelId: string): Promise<Delivery[]> {
  const res = await server.api(`/api/v1/channels/${channelId}/deliveries`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
}

/** Raises an alert the way the alert sources do: inside a transaction, notifying the given channels. */
async function raise(server: TestServer, channelIds: '*' | string[], title = 'Nightly export is down', message = 'No ping for 2 minutes') {
  return server.ctx.db.transaction().execute((trx) =>
    raiseAlert(trx, {
      orgId: server.org.id,
      source: 'job',
      subjectId: randomUUID(),
      kind: 'down',
      state: 'firing',
      idempotencyKey: `test:${randomUUID()}`,
      title,
      message,
      details: { check: 'nightly-export', last_ping: '2024-01-01T00:00:00Z' },
      channels: channelIds,
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of STORE_KINDS) {
  describe.skipIf(!storeAvailable(kind))(`notifier (${kind})`, () => {
    let server: TestServer;
    let mail: MailSink;

    beforeAll(async () => {
      mail = await startMailSink();
      server = await startTestServer(kind, {
        VIGIL_SMTP_URL: mail.url,
        VIGIL_SMTP_FROM: 'Vigil <vigil@example.com>',
        VIGIL_BASE_URL: 'https://vigil.example.com',
        VIGIL_NOTIFY_RETRY_BASE_MS: '200',
      });
    });
    afterAll(async () => {
      await server?.dispose();
      await mail?.close();
    });

    it('delivers a webhook signed so that standardwebhooks verifies it', async () => {
      const receiver = await startReceiver();
      try {
        const channel = await createChannel(server, { kind: 'webhook', name: 'ops hook', url: `${receiver.url}/hooks/vigil` });
        expect(channel.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
        const alert = await raise(server, [channel.id]);

        const request = await eventually(async () => receiver.requests[0]);
        expect(request.path).toBe('/hooks/vigil');
        expect(request.headers['content-type']).toBe('application/json');
        const verified = new Webhook(channel.secret!).verify(request.body, request.headers as Record<string, string>) as {
          id: string;
          type: string;
          alert: { id: string; title: string; message: string; details: Record<string, unknown> };
          org_id: string;
        };
        expect(verified.id).toBe(request.headers['webhook-id']);
        expect(verified.type).toBe('alert.firing');
        expect(verified.alert).toMatchObject({ id: alert.id, title: 'Nightly export is down', message: 'No ping for 2 minutes' });
        expect(verified.alert.details).toMatchObject({ check: 'nightly-export' });
        expect(verified.org_id).toBe(server.org.id);
        // A wrong secret must not verify: the signature really depends on it.
        expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(request.body, request.headers as Record<string, string>)).toThrow();

        const [delivery] = await eventually(async () => {
          const list = await deliveries(server, channel.id);
          return list[0]?.status === 'delivered' && list;
        });
        expect(delivery).toMatchObject({ id: verified.id, status: 'delivered', attempt_count: 1, last_error: null });
        expect(delivery!.attempts).toEqual([expect.objectContaining({ ok: true, status_code: 200, error: null })]);

        // Later reads never show the secret again.
        const read = (await (await server.api(`/api/v1/channels/${channel.id}`)).json()) as Channel;
        expect(read).toMatchObject({ id: channel.id, kind: 'webhook', name: 'ops hook', url: `${receiver.url}/hooks/vigil` });
        expect(read.secret).not.toBe(channel.secret);
        const list = (await (await server.api('/api/v1/channels')).json()) as { channels: Channel[] };
        expect(JSON.stringify(list)).not.toContain(channel.secret!);
      } finally {
        await receiver.close();
      }
    });

    it('uses a secret given by the user', async () => {
      const receiver = await startReceiver();
      try {
        const secret = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;
        const channel = await createChannel(server, { kind: 'webhook', url: receiver.url, secret });
        expect(channel.secret).toBe(secret);
        await raise(server, [channel.id]);
        const request = await eventually(async () => receiver.requests[0]);
        expect(() => new Webhook(secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
      } finally {
        await receiver.close();
      }
    });

    it('sends an e-mail that a real SMTP peer receives', async () => {
      const channel = await createChannel(server, { kind: 'email', to: 'ops@example.com, oncall@example.com' });
      expect(channel.to).toEqual(['ops@example.com', 'oncall@example.com']);
      await raise(server, [channel.id], 'Backup job failed', 'Exit status 2 after 31 s');

      const message = await eventually(async () => mail.messages.find((m) => m.raw.includes('Backup job failed')));
      expect(message.from).toBe('vigil@example.com');
      expect(message.to.sort()).toEqual(['oncall@example.com', 'ops@example.com']);
      expect(message.raw).toMatch(/^Subject: Backup job failed\r?$/m);
      expect(message.raw).toContain('Exit status 2 after 31 s');
      expect(message.raw).toContain('check: nightly-export');
      expect(message.raw).toContain('https://vigil.example.com');
      const [delivery] = await eventually(async () => {
        const list = await deliveries(server, channel.id);
        return list[0]?.status === 'delivered' && list;
      });
      expect(message.raw).toContain(`Message-ID: <${delivery!.id}@vigil>`);
    });

    it('gives up at once, with the reason, on a receiver that answers 410 Gone', async () => {
      const receiver = await startReceiver(() => 410);
      try {
        const channel = await createChannel(server, { kind: 'webhook', url: `${receiver.url}/gone` });
        await raise(server, [channel.id]);
        const [delivery] = await eventually(async () => {
          const list = await deliveries(server, channel.id);
          return list[0]?.status === 'failed' && list;
        });
        expect(delivery).toMatchObject({ attempt_count: 1, last_error: 'HTTP 410: receiver is having a bad day' });
        await sleep(800);
        expect(receiver.requests).toHaveLength(1);
      } finally {
        await receiver.close();
      }
    });

    it('gives up at once on recipients the SMTP server refuses permanently (5xx)', async () => {
      const channel = await createChannel(server, { kind: 'email', to: 'nobody@refused.example' });
      await raise(server, [channel.id]);
      const [delivery] = await eventually(async () => {
        const list = await deliveries(server, channel.id);
        return list[0]?.status === 'failed' && list;
      });
      expect(delivery!.attempt_count).toBe(1);
      expect(delivery!.last_error).toMatch(/550.*No such user/);
    });

    it('retries after the receiver answers 500, with the same webhook-id, and delivers once', async () => {
      const receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
      try {
        const channel = await createChannel(server, { kind: 'webhook', url: `${receiver.url}/flaky` });
        await raise(server, [channel.id]);

        const [delivery] = await eventually(async () => {
          const list = await deliveries(server, channel.id);
          return list[0]?.status === 'delivered' && list;
        });
        expect(receiver.requests).toHaveLength(2);
        const [first, second] = receiver.requests;
        expect(first!.headers['webhook-id']).toBe(delivery!.id);
        expect(second!.headers['webhook-id']).toBe(delivery!.id);
        for (const r of receiver.requests) {
          expect(() => new Webhook(channel.secret!).verify(r.body, r.headers as Record<string, string>)).not.toThrow();
        }
        expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 2, last_error: null });
        expect(delivery!.attempts).toEqual([
          expect.objectContaining({ ok: false, status_code: 500, error: 'HTTP 500: receiver is having a bad day' }),
          expect.objectContaining({ ok: true, status_code: 200, error: null }),
        ]);

        // Delivered means done: no further requests.
        await sleep(800);
        expect(receiver.requests).toHaveLength(2);
      } finally {
        await receiver.close();
      }
    });

    it('keeps retrying with backoff persisted in the outbox while the receiver fails', async () => {
      const receiver = await startReceiver(() => 503);
      try {
        const channel = await createChannel(server, { kind: 'webhook', url: receiver.url });
        await raise(server, [channel.id]);
        const [delivery] = await eventually(async () => {
          const list = await deliveries(server, channel.id);
          return (list[0]?.attempt_count ?? 0) >= 3 && list;
        });
        expect(delivery!.status).toBe('pending');
        expect(delivery!.last_error).toContain('HTTP 503');
        const row = await server.ctx.db.selectFrom('outbox').select(['attempts', 'next_attempt_at']).where('id', '=', delivery!.id).executeTakeFirstOrThrow();
        expect(row.attempts).toBeGreaterThanOrEqual(3);
        expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThan(Date.now() - 5_000);
        // Deleting the channel drops its queue: the receiver stops hearing from us.
        expect((await server.api(`/api/v1/channels/${channel.id}`, { method: 'DELETE' })).status).toBe(204);
        const count = receiver.requests.length;
        await sleep(1_000);
        expect(receiver.requests.length).toBeLessThanOrEqual(count + 1);
      } finally {
        await receiver.close();
      }
    });

    it('posts a readable Slack message, also for the test endpoint', async () => {
      const receiver = await startReceiver();
      try {
        const channel = await createChannel(server, { kind: 'slack', name: 'alerts', url: `${receiver.url}/services/T000/B000/XXXX` });
        await raise(server, [channel.id], 'Invoice run <late>', 'Started 12 min late & still running');
        const alertPost = await eventually(async () => receiver.requests[0]);
        const body = JSON.parse(alertPost.body) as { text: string; blocks: unknown[] };
        expect(body.text).toContain('*Invoice run &lt;late&gt;*');
        expect(body.text).toContain('Started 12 min late &amp; still running');
        expect(body.text).toContain('<https://vigil.example.com|Open Vigil>');
        expect(body.blocks.length).toBeGreaterThan(0);
        expect(alertPost.headers['webhook-signature']).toBeUndefined();

        const test = await server.api(`/api/v1/channels/${channel.id}/test`, { method: 'POST' });
        expect(test.status).toBe(202);
        const { id } = (await test.json()) as { id: string };
        const testPost = await eventually(async () => receiver.requests[1]);
        expect((JSON.parse(testPost.body) as { text: string }).text).toContain('Test notification from Vigil (alerts)');
        const list = await eventually(async () => {
          const l = await deliveries(server, channel.id);
          return l.find((d) => d.id === id && d.status === 'delivered') && l;
        });
        expect(list).toHaveLength(2);

        // The Slack URL is its credential: reads show only the origin.
        const read = (await (await server.api(`/api/v1/channels/${channel.id}`)).json()) as Channel;
        expect(read.url).not.toContain('XXXX');
      } finally {
        await receiver.close();
      }
    });

    it('refuses bad channel input with 400 naming the field, and read-only keys with 403', async () => {
      const bad = async (body: unknown) => {
        const res = await server.api('/api/v1/channels', { method: 'POST', json: body });
        expect(res.status).toBe(400);
        return ((await res.json()) as { error: { message: string; details?: { field: string }[] } }).error;
      };
      expect((await bad({ kind: 'webhook', url: 'ftp://example.com/x' })).details).toEqual([expect.objectContaining({ field: 'url' })]);
      expect((await bad({ kind: 'webhook', url: 'not a url' })).details).toEqual([expect.objectContaining({ field: 'url' })]);
      expect((await bad({ kind: 'webhook', url: 'http://127.0.0.1/', secret: 'whsec_short' })).details).toEqual([expect.objectContaining({ field: 'secret' })]);
      expect((await bad({ kind: 'email', to: 'not-an-address' })).details).toEqual([expect.objectContaining({ field: 'to' })]);
      expect((await bad({ kind: 'pager', url: 'http://127.0.0.1/' })).message).toContain('kind');
      expect((await bad({ kind: 'slack', url: 'http://127.0.0.1/', secrets: 'x' })).message).toContain('secrets');

      const readOnly = await createApiKey(server.ctx.db, server.org.id, 'viewer', 'read-only');
      const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'email', to: 'a@example.com' }, key: readOnly.key });
      expect(res.status).toBe(403);
      expect((await server.api('/api/v1/channels', { key: readOnly.key })).status).toBe(200);
      expect((await server.api('/api/v1/channels', { key: null })).status).toBe(401);
    });

    it("keeps each organisation's channels to itself", async () => {
      const other = await createOrg(server.ctx.db, `Other ${randomUUID()}`);
      const otherKey = (await createApiKey(server.ctx.db, other.id, 'other admin', 'admin')).key;
      const theirs = await createChannel(server, { kind: 'email', to: 'them@example.com' }, otherKey);
      const ours = await createChannel(server, { kind: 'email', to: 'us@example.com' });

      const ourList = (await (await server.api('/api/v1/channels')).json()) as { channels: Channel[] };
      expect(ourList.channels.map((c) => c.id)).toContain(ours.id);
      expect(ourList.channels.map((c) => c.id)).not.toContain(theirs.id);
      const theirList = (await (await server.api('/api/v1/channels', { key: otherKey })).json()) as { channels: Channel[] };
      expect(theirList.channels.map((c) => c.id)).toEqual([theirs.id]);

      expect((await server.api(`/api/v1/channels/${theirs.id}`)).status).toBe(404);
      expect((await server.api(`/api/v1/channels/${theirs.id}/deliveries`)).status).toBe(404);
      expect((await server.api(`/api/v1/channels/${theirs.id}/test`, { method: 'POST' })).status).toBe(404);
      expect((await server.api(`/api/v1/channels/${theirs.id}`, { method: 'DELETE' })).status).toBe(404);
      expect((await server.api(`/api/v1/channels/${theirs.id}`, { key: otherKey })).status).toBe(200);
      expect((await server.api(`/api/v1/channels/${ours.id}`, { key: otherKey })).status).toBe(404);

      // An alert of our organisation never reaches their channel, even when named explicitly.
      await raise(server, [theirs.id]);
      expect(await server.ctx.db.selectFrom('outbox').select('id').where('channel_id', '=', theirs.id).execute()).toEqual([]);

      // '*' is every channel of our organisation, each with a notification of its own; theirs gets none.
      const everyChannel = await raise(server, '*');
      const queued = await server.ctx.db.selectFrom('outbox').select(['id', 'channel_id', 'payload']).where('alert_id', '=', everyChannel.id).execute();
      expect(queued.map((q) => q.channel_id).sort()).toEqual(ourList.channels.map((c) => c.id).sort());
      for (const q of queued) expect(q.payload).toMatchObject({ id: q.id, alert: { id: everyChannel.id }, org_id: server.org.id });
      expect(new Set(queued.map((q) => q.id)).size).toBe(queued.length);
    });
  });

  describe.skipIf(!storeAvailable(kind))(`several notifiers (${kind})`, () => {
    it('never deliver the same notification twice when they run at once', async () => {
      const server = await startTestServer(kind, {}, { workers: false });
      const receiver = await startReceiver();
      const notifiers = [0, 1, 2].map(() => new Notifier(server.ctx));
      try {
        const channel = await createChannel(server, { kind: 'webhook', url: receiver.url });
        const n = 45;
        for (let i = 0; i < n; i++) await raise(server, [channel.id], `alert ${i}`);
        const attempts = await Promise.all(notifiers.map((x) => x.runOnce()));
        expect(attempts.reduce((a, b) => a + b, 0)).toBe(n);
        const ids = receiver.requests.map((r) => r.headers['webhook-id']);
        expect(ids).toHaveLength(n);
        expect(new Set(ids).size).toBe(n);
        const list = await deliveries(server, channel.id);
        expect(list.map((d) => [d.status, d.attempt_count])).toEqual(Array.from({ length: n }, () => ['delivered', 1]));
        // Nothing is left to do.
        expect(await notifiers[0]!.runOnce()).toBe(0);
      } finally {
        await Promise.all(notifiers.map((x) => x.close()));
        await receiver.close();
        await server.dispose();
      }
    });
  });

  describe.skipIf(!storeAvailable(kind))(`notifier SSRF guard (${kind})`, () => {
    let server: TestServer;
    let receiver: Receiver;

    beforeAll(async () => {
      receiver = await startReceiver();
      // No SMTP server configured here: e-mail attempts must fail with a clear error.
      server = await startTestServer(kind, { VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'false', VIGIL_NOTIFY_RETRY_BASE_MS: '60000' });
    });
    afterAll(async () => {
      await server?.dispose();
      await receiver?.close();
    });

    it('refuses loopback, private and link-local targets at creation with 400 naming url', async () => {
      for (const url of [
        `${receiver.url}/hook`,
        'http://localhost:9/hook',
        'http://[::1]/hook',
        'http://10.1.2.3/hook',
        'http://192.168.0.10/hook',
        'http://169.254.169.254/latest/meta-data',
        'http://[fd00::1]/x',
        'http://0.0.0.0/',
        'http://[::ffff:127.0.0.1]/',
      ]) {
        for (const kind of ['webhook', 'slack']) {
          const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind, url } });
          expect(res.status, `${kind} ${url}`).toBe(400);
          const { error } = (await res.json()) as { error: { message: string; details: { field: string }[] } };
          expect(error.details).toEqual([expect.objectContaining({ field: 'url' })]);
          expect(error.message).toMatch(/^url: .*VIGIL_ALLOW_PRIVATE_WEBHOOKS/);
          // What a name resolves to stays inside: no addresses in the answer.
          if (url.includes('localhost')) expect(error.message).not.toMatch(/127\.0\.0\.1|::1|loopback/);
        }
      }
      const list = (await (await server.api('/api/v1/channels')).json()) as { channels: Channel[] };
      expect(list.channels).toEqual([]);
    });

    it('checks again at delivery time (DNS can change after creation)', async () => {
      // Channels whose target turned private after they were created: written directly, as the API would refuse them.
      const port = new URL(receiver.url).port;
      const ids: string[] = [];
      for (const url of [`http://127.0.0.1:${port}/literal`, `http://localhost:${port}/by-name`]) {
        const id = randomUUID();
        await server.ctx.db
          .insertInto('channels')
          .values({ id, org_id: server.org.id, kind: 'webhook', name: '', config: JSON.stringify({ url, secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }) })
          .execute();
        ids.push(id);
      }
      await raise(server, ids);
      for (const id of ids) {
        const [delivery] = await eventually(async () => {
          const list = await deliveries(server, id);
          return list[0]?.status === 'failed' && list;
        });
        expect(delivery!.attempts[0]).toMatchObject({ ok: false, status_code: null });
        // A refused target cannot become deliverable by retrying: given up at once, with the reason.
        expect(delivery).toMatchObject({ status: 'failed', attempt_count: 1 });
        expect(delivery!.attempts[0]!.error).toMatch(
          id === ids[0] ? /^127\.0\.0\.1 is a loopback address: refused.*VIGIL_ALLOW_PRIVATE_WEBHOOKS/ : /^localhost resolves to an address that is not public: refused/,
        );
        if (id === ids[1]) expect(delivery!.attempts[0]!.error).not.toMatch(/127\.0\.0\.1|::1|loopback/);
      }
      expect(receiver.requests).toEqual([]);
    });

    it('records a clear error when SMTP is not configured', async () => {
      const channel = await createChannel(server, { kind: 'email', to: 'ops@example.com' });
      await raise(server, [channel.id]);
      const [delivery] = await eventually(async () => {
        const list = await deliveries(server, channel.id);
        return list[0]?.status === 'failed' && list;
      });
      expect(delivery!.attempts[0]).toMatchObject({ ok: false, error: expect.stringContaining('VIGIL_SMTP_URL is not set') });
      // Nothing will change until the server is reconfigured: given up at once instead of ten retries.
      expect(delivery).toMatchObject({ status: 'failed', attempt_count: 1 });
    });
  });
}
