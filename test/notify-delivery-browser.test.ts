import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * The channels page in a real browser, following deliveries live: a failing receiver's test
 * notification shows its attempts and next attempt without a reload, the channel shows as disabled
 * with its reason when Vigil disables it, and Re-enable then Re-send deliver it.
 */
describe.skipIf(!chromiumInstalled)('channel deliveries in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  let receiver: Server;
  let url = '';
  let failing = true;
  beforeAll(async () => {
    receiver = createServer((_req, res) => res.writeHead(failing ? 503 : 200).end(failing ? 'down for maintenance' : 'ok'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    server = await startTestServer('pglite', {
      VIGIL_NOTIFY_INTERVAL_MS: '100',
      VIGIL_NOTIFY_RETRY_BASE_MS: '300',
      VIGIL_NOTIFY_DISABLE_AFTER_FAILURES: '3',
      VIGIL_NOTIFY_DISABLE_AFTER_MS: '800',
    });
    session = await openBrowser({});
  });
  afterAll(async () => {
    await session?.close();
    await server?.dispose();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('shows attempts live, the channel disabled with its reason, and re-enables and re-sends', async () => {
    const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', name: 'dead hook', url } });
    expect(res.status).toBe(201);
    const page = session.page;
    await logIn(page, server);
    await page.goto(`${server.url}/channels`);
    await page.locator('.live-live').waitFor();
    const row = page.locator('tr', { hasText: 'dead hook' });
    await row.getByRole('button', { name: 'Send test' }).click();

    // No Refresh clicked from here on: delivery and channel events update the page.
    const delivery = page.locator('.deliveries li').first();
    await delivery.locator('.delivery-pending').waitFor();
    await delivery.getByText('HTTP 503: down for maintenance').waitFor();
    await delivery.getByText(/attempts?, next/).waitFor();

    // Three failures over 0.8 s: Vigil disables the channel; the page says so, with the reason.
    await row.getByText('disabled', { exact: true }).waitFor({ timeout: 15_000 });
    const warning = page.getByRole('note').filter({ hasText: 'delivery attempts in a row failed' });
    await warning.waitFor();
    expect(await warning.textContent()).toContain('last error: HTTP 503: down for maintenance');
    await delivery.locator('.delivery-skipped').waitFor();
    // Re-send waits for the channel to work again.
    expect(await delivery.getByRole('button', { name: 'Re-send' }).isDisabled()).toBe(true);

    failing = false;
    await row.getByRole('button', { name: 'Re-enable' }).click();
    await row.getByText('enabled', { exact: true }).waitFor();
    expect(await page.getByRole('note').filter({ hasText: 'delivery attempts in a row failed' }).count()).toBe(0);
    await delivery.getByRole('button', { name: 'Re-send' }).click();
    await delivery.locator('.delivery-delivered').waitFor();
  });
});
