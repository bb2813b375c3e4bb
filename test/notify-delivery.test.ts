import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { Notifier } from '../src/domains/notify/index.js';
import { ADMIN_EMAIL, eventually, startTestServer, STORE_KINDS, storeAvailable, type TestServer } from './support/server.js';
import { startMailSink } from './support/mail.js';

/**
 * Delivery over time, against real local receivers: retries on the backoff schedule (delays shrunk
 * by configuration), a channel that keeps failing is disabled and the organisation told (its other
 * channels get a "channel disabled" notice, its admins an e-mail), notifications for a disabled
 * channel are skipped, re-sending delivers again, and status changes show on the SSE stream.
 */

interface Receiver {
  url: string;
  requests: { at: number; headers: IncomingHttpHeaders; body: string }[];
  /** The status answered to request number n (1-based); replaceable while running. */
  respond: (n: number) => number;
  close(): Promise<void>;
}

async function startReceiver(respond: (n: number) => number = () => 200): Promise<Receiver> {
  const receiver = { requests: [] as Receiver['requests'], respond } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = receiver.respond(receiver.requests.length);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'receiver is down' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

interface Channel {
  id: string;
  name: string;
  disabled_at: string | null;
  disabled_reason: string | null;
}
interface Delivery {
  id: string;
  channel_id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: string | null;
  last_error: string | null;
  attempts: { attempted_at: string; ok: boolean; status_code: number | null }[];
}

const BASE_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of STORE_KINDS) {
  describe.skipIf(!storeAvailable(kind))(`notification delivery (${kind})`, () => {
    let server: TestServer;
    let mail: Awaited<ReturnType<typeof startMailSink>>;
    /** An organisation of its own per test, so one test's channels never get another's notices. */
    let key: string;
    const receivers: Receiver[] = [];

    const api = (path: string, init: RequestInit & { json?: unknown } = {}) => server.api(path, { ...init, key });
    const addWebhook = async (receiver: Receiver, name: string, withKey = key): Promise<Channel> => {
      const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', name, url: receiver.url }, key: withKey });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as Channel;
    };
    const sendTest = async (channelId: string, withKey = key): Promise<string> => {
      const res = await server.api(`/api/v1/channels/${channelId}/test`, { method: 'POST', key: withKey });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const deliveries = async (channelId: string, withKey = key): Promise<Delivery[]> => {
      const res = await server.api(`/api/v1/channels/${channelId}/deliveries`, { key: withKey });
      expect(res.status).toBe(200);
      return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
    };
    const receiver = async (respond?: (n: number) => number) => {
      const r = await startReceiver(respond);
      receivers.push(r);
      return r;
    };

    beforeAll(async () => {
      mail = await startMailSink();
      server = await startTestServer(kind, {
        VIGIL_SMTP_URL: mail.url,
        VIGIL_NOTIFY_INTERVAL_MS: '50',
        VIGIL_NOTIFY_RETRY_BASE_MS: String(BASE_MS),
        VIGIL_NOTIFY_RETRY_CAP_MS: '800',
        VIGIL_NOTIFY_GIVE_UP_AFTER_MS: '60000',
        VIGIL_NOTIFY_DISABLE_AFTER_FAILURES: '4',
        VIGIL_NOTIFY_DISABLE_AFTER_MS: '1000',
      });
    });
    beforeEach(async () => {
      const org = await createOrg(server.ctx.db, `Delivery ${randomUUID()}`);
      key = (await createApiKey(server.ctx.db, org.id, 'test admin', 'admin')).key;
    });
    afterAll(async () => {
      for (const r of receivers) await r.close();
      await server?.dispose();
      await mail?.close();
    });

    it('retries a receiver that fails 3 times on the backoff schedule, then delivers once with the same id', async () => {
      const flaky = await receiver((n) => (n <= 3 ? 503 : 200));
      const channel = await addWebhook(flaky, 'flaky');
      const id = await sendTest(channel.id);
      const [delivery] = await eventually(async () => {
        const list = await deliveries(channel.id);
        return list[0]?.status === 'delivered' && list;
      }, 20_000);
      expect(delivery).toMatchObject({ id, status: 'delivered', attempt_count: 4, last_error: null, next_attempt_at: null });
      expect(delivery!.attempts.map((a) => [a.ok, a.status_code])).toEqual([
        [false, 503],
        [false, 503],
        [false, 503],
        [true, 200],
      ]);
      expect(new Set(flaky.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([id]));
      // Delays double from the base (±20 % jitter; the loop ticks every 50 ms, so a delay may run a tick longer).
      const times = delivery!.attempts.map((a) => Date.parse(a.attempted_at));
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      gaps.forEach((gap, i) => {
        const nominal = BASE_MS * 2 ** i;
        expect(gap).toBeGreaterThanOrEqual(nominal * 0.8 - 5);
        expect(gap).toBeLessThan(nominal * 1.2 + 1500); // generous: two cores are shared with other tests
      });
      await sleep(500);
      expect(flaky.requests).toHaveLength(4);
    });

    it('re-sends a delivered notification: the receiver gets it again, with the same webhook-id', async () => {
      const target = await receiver();
      const channel = await addWebhook(target, 'resend');
      const id = await sendTest(channel.id);
      await eventually(async () => (await deliveries(channel.id))[0]?.status === 'delivered');
      expect(target.requests).toHaveLength(1);

      const res = await api(`/api/v1/deliveries/${id}/resend`, { method: 'POST' });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ id, channel_id: channel.id, status: 'pending', attempt_count: 0 });
      await eventually(async () => target.requests.length === 2 && target);
      expect(target.requests[1]!.headers['webhook-id']).toBe(id);
      const [delivery] = await eventually(async () => {
        const list = await deliveries(channel.id);
        return list[0]?.status === 'delivered' && list;
      });
      // The past attempts stay listed; the count starts again.
      expect(delivery).toMatchObject({ attempt_count: 1 });
      expect(delivery!.attempts).toHaveLength(2);

      // Another organisation cannot re-send it; an unknown id is a 404; a bad one a 400.
      const other = await createOrg(server.ctx.db, `Other ${randomUUID()}`);
      const otherKey = (await createApiKey(server.ctx.db, other.id, 'other', 'admin')).key;
      expect((await server.api(`/api/v1/deliveries/${id}/resend`, { method: 'POST', key: otherKey })).status).toBe(404);
      expect((await api(`/api/v1/deliveries/${randomUUID()}/resend`, { method: 'POST' })).status).toBe(404);
      expect((await api('/api/v1/deliveries/nope/resend', { method: 'POST' })).status).toBe(400);
      await sleep(300);
      expect(target.requests).toHaveLength(2);
    });

    it("shows a delivery's status changes on the SSE stream", async () => {
      const flaky = await receiver((n) => (n === 1 ? 500 : 200));
      const channel = await addWebhook(flaky, 'live');
      const controller = new AbortController();
      try {
        const stream = await api('/api/v1/events', { signal: controller.signal });
        expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
        const events: { type: string; data: Record<string, unknown> }[] = [];
        const reader = stream.body!.getReader();
        void (async () => {
          let text = '';
          for (;;) {
            const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
            if (done) return;
            text += new TextDecoder().decode(value);
            let end: number;
            while ((end = text.indexOf('\n\n')) >= 0) {
              const block = text.slice(0, end);
              text = text.slice(end + 2);
              const type = /^event: (.*)$/m.exec(block)?.[1];
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (type && data) events.push({ type, data: JSON.parse(data) as Record<string, unknown> });
            }
          }
        })();
        const id = await sendTest(channel.id);
        await eventually(async () => events.some((e) => e.type === 'delivery' && e.data.id === id && e.data.status === 'delivered'));
        const states = events.filter((e) => e.type === 'delivery' && e.data.id === id).map((e) => e.data);
        expect(states[0]).toMatchObject({ channel_id: channel.id, status: 'pending', attempt_count: 1, last_error: 'HTTP 500: receiver is down' });
        expect(typeof states[0]!.next_attempt_at).toBe('string');
        expect(states.at(-1)).toMatchObject({ status: 'delivered', attempt_count: 2, next_attempt_at: null, last_error: null });
        // A re-send is a status change too.
        expect((await api(`/api/v1/deliveries/${id}/resend`, { method: 'POST' })).status).toBe(202);
        await eventually(async () => events.some((e) => e.type === 'delivery' && e.data.id === id && e.data.attempt_count === 0));
      } finally {
        controller.abort();
      }
    });

    it('disables a channel once and queues one notice when several notifiers record its failures at once', async () => {
      const dead = await receiver(() => 503);
      const healthy = await receiver();
      const failing = await addWebhook(dead, 'dead');
      await addWebhook(healthy, 'ops');
      for (let i = 0; i < 12; i++) await sendTest(failing.id);
      const notifiers = [0, 1, 2].map(() => new Notifier(server.ctx));
      try {
        const isDisabled = async () =>
          ((await (await api('/api/v1/channels')).json()) as { channels: Channel[] }).channels.some((c) => c.id === failing.id && c.disabled_at !== null);
        const deadline = Date.now() + 20_000;
        while (!(await isDisabled())) {
          expect(Date.now()).toBeLessThan(deadline);
          await Promise.all(notifiers.map((n) => n.runOnce()));
          await sleep(20);
        }
      } finally {
        await Promise.all(notifiers.map((n) => n.close()));
      }
      const notices = await eventually(async () => healthy.requests.length > 0 && healthy.requests);
      await sleep(500);
      expect(healthy.requests).toHaveLength(1);
      expect((JSON.parse(notices[0]!.body) as { type: string }).type).toBe('channel.disabled');
      const list = await deliveries(failing.id);
      expect(list).toHaveLength(12);
      expect(list.every((d) => d.status === 'skipped')).toBe(true);
    });

    it('disables a channel that keeps failing, tells the admins by e-mail and through the other channel, skips it until re-enabled', async () => {
      // The default organisation: it has the admin user the e-mail goes to.
      key = server.config.VIGIL_ADMIN_TOKEN!;
      const dead = await receiver(() => 503);
      const healthy = await receiver();
      const failing = await addWebhook(dead, 'dead hook');
      const other = await addWebhook(healthy, 'ops hook');

      const first = await sendTest(failing.id);
      // 4 failures spanning 1 s (200 + 400 + 800 ms of delays): disabled at the 4th or 5th attempt.
      const disabled = await eventually(async () => {
        const list = ((await (await api('/api/v1/channels')).json()) as { channels: Channel[] }).channels;
        return list.find((c) => c.id === failing.id && c.disabled_at !== null);
      }, 20_000);
      expect(disabled.disabled_reason).toMatch(/^\d+ delivery attempts in a row failed since .*; last error: HTTP 503: receiver is down$/);
      const requestsWhenDisabled = dead.requests.length;
      expect(requestsWhenDisabled).toBeGreaterThanOrEqual(4);
      expect(requestsWhenDisabled).toBeLessThanOrEqual(5);

      // The pending notification is kept as skipped, with the reason.
      const [skipped] = await deliveries(failing.id);
      expect(skipped).toMatchObject({ id: first, status: 'skipped', next_attempt_at: null });
      expect(skipped!.last_error).toBe(`channel disabled: ${disabled.disabled_reason}`);

      // The other channel gets a "channel disabled" notice naming it.
      const notice = await eventually(async () => healthy.requests[0]);
      const body = JSON.parse(notice.body) as { type: string; alert: { title: string; details: Record<string, unknown> } };
      expect(body.type).toBe('channel.disabled');
      expect(body.alert.title).toContain('"dead hook" disabled');
      expect(body.alert.details).toMatchObject({ channel_id: failing.id, channel_name: 'dead hook' });
      // And the admins an e-mail.
      const message = await eventually(async () => mail.messages.find((m) => m.raw.includes('dead hook')));
      expect(message.to).toEqual([ADMIN_EMAIL]);

      // New notifications for it are kept as skipped and not attempted.
      const second = await sendTest(failing.id);
      expect((await deliveries(failing.id)).find((d) => d.id === second)).toMatchObject({ status: 'skipped' });
      // Re-sending while it is disabled is refused.
      expect((await api(`/api/v1/deliveries/${second}/resend`, { method: 'POST' })).status).toBe(409);
      await sleep(500);
      expect(dead.requests.length).toBe(requestsWhenDisabled);

      // Fixed and re-enabled: the skipped notifications can be re-sent and are delivered.
      dead.respond = () => 200;
      const enabled = await api(`/api/v1/channels/${failing.id}/enable`, { method: 'POST' });
      expect(enabled.status).toBe(200);
      expect(await enabled.json()).toMatchObject({ id: failing.id, disabled_at: null, disabled_reason: null });
      for (const id of [first, second]) expect((await api(`/api/v1/deliveries/${id}/resend`, { method: 'POST' })).status).toBe(202);
      await eventually(async () => {
        const list = await deliveries(failing.id);
        return list.filter((d) => d.status === 'delivered').length === 2;
      });
      expect((await deliveries(other.id)).map((d) => d.status)).toEqual(['delivered']);
      // Only the admins' organisation's channels were told: the re-enable endpoint is the organisation's own.
      const stranger = await createOrg(server.ctx.db, `Stranger ${randomUUID()}`);
      const strangerKey = (await createApiKey(server.ctx.db, stranger.id, 'stranger', 'admin')).key;
      expect((await server.api(`/api/v1/channels/${failing.id}/enable`, { method: 'POST', key: strangerKey })).status).toBe(404);
    });
  });

  describe.skipIf(!storeAvailable(kind))(`notification delivery when the store fails right after a claim (${kind})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      // No notifier loop of its own within the test: the one below is the only one that claims.
      server = await startTestServer(kind, { VIGIL_NOTIFY_INTERVAL_MS: '3600000' });
    });
    afterAll(async () => {
      await server?.dispose();
    });

    it('delivers what it claimed even when every later query fails (a claimed row is hidden for the whole lease)', async () => {
      const org = await createOrg(server.ctx.db, `Claim ${randomUUID()}`);
      const orgKey = (await createApiKey(server.ctx.db, org.id, 'test admin', 'admin')).key;
      const target = await startReceiver();
      try {
        const created = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', name: 'ops', url: target.url }, key: orgKey });
        expect(created.status).toBe(201);
        const channel = (await created.json()) as Channel;
        const queued = await server.api(`/api/v1/channels/${channel.id}/test`, { method: 'POST', key: orgKey });
        expect(queued.status).toBe(202);
        const { id } = (await queued.json()) as { id: string };
        // The claim goes through; then the store is gone, as when PostgreSQL restarts between two statements.
        let claimed = false;
        const failingAfterClaim: KyselyPlugin = {
          transformQuery(args) {
            if (claimed) throw new Error('Connection terminated unexpectedly');
            return args.node;
          },
          transformResult: async (args) => {
            claimed = true;
            return args.result;
          },
        };
        const notifier = new Notifier({ ...server.ctx, db: server.ctx.db.withPlugin(failingAfterClaim) });
        try {
          await notifier.runOnce();
        } finally {
          await notifier.close();
        }
        expect(target.requests.map((r) => r.headers['webhook-id'])).toEqual([id]);
      } finally {
        await target.close();
      }
    });
  });
}
