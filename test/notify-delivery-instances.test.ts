import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, freshPostgresDatabase, startTestServer, TEST_DATABASE_URL } from './support/server.js';

/**
 * Split roles: a notify process delivers while a web process serves the dashboards. The web
 * process's SSE stream still shows every delivery's status change and a disabled channel (the
 * notifier announces them through PostgreSQL LISTEN/NOTIFY; the web process reads them back).
 */
describe.skipIf(!TEST_DATABASE_URL)('delivery events across instances', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('a dashboard on the web process sees deliveries made by the notify process', async () => {
    let failing = true;
    const receiver: Server = createServer((_req, res) => res.writeHead(failing ? 503 : 200).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => receiver.close(resolve)));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const db = await freshPostgresDatabase();
    cleanups.push(db.drop);
    const env = {
      DATABASE_URL: db.url,
      VIGIL_NOTIFY_INTERVAL_MS: '50',
      VIGIL_NOTIFY_RETRY_BASE_MS: '100',
      VIGIL_NOTIFY_DISABLE_AFTER_FAILURES: '2',
      VIGIL_NOTIFY_DISABLE_AFTER_MS: '100',
    };
    const web = await startTestServer('pglite', { ...env, VIGIL_ROLES: 'web' });
    cleanups.push(() => web.close());
    const notify = await startTestServer('pglite', { ...env, VIGIL_ROLES: 'notify' });
    cleanups.push(() => notify.close());

    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const stream = await web.api('/api/v1/events', { signal: controller.signal });
    let text = '';
    const reader = stream.body!.getReader();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();

    const channel = (await (await web.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', url } })).json()) as { id: string };
    const queued = (await (await web.api(`/api/v1/channels/${channel.id}/test`, { method: 'POST' })).json()) as { id: string };
    await eventually(async () => text.includes('event: delivery') && text.includes(`"id":"${queued.id}"`) && text.includes('"status":"pending"'));
    // Failing twice over 100 ms disables it: the dashboard hears of the channel and the skipped notification.
    await eventually(async () => text.includes('event: channel') && text.includes('"disabled_reason":"'));
    await eventually(async () => text.includes('"status":"skipped"'));

    failing = false;
    expect((await web.api(`/api/v1/channels/${channel.id}/enable`, { method: 'POST' })).status).toBe(200);
    expect((await web.api(`/api/v1/deliveries/${queued.id}/resend`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => text.includes('"status":"delivered"'));
  });
});
