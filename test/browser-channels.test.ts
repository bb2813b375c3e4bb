import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * The channel form in a real browser: its kinds, labels and fields come from the contract's
 * channel registry data (contracts/notify.ts), and what it sends passes the server's validation.
 */
describe.skipIf(!chromiumInstalled)('channels page in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  beforeAll(async () => {
    server = await startTestServer('pglite', { VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true' });
    session = await openBrowser({});
  });
  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });
  it('offers every kind with its fields, adds a webhook (secret shown once) and an e-mail channel', async () => {
    const page = session.page;
    await logIn(page, server);
    await page.goto(`${server.url}/channels`);
    await page.getByLabel('Kind').waitFor();
    expect(await page.locator('#channel-kind option').allTextContents()).toEqual(['Webhook', 'E-mail', 'Slack-compatible']);
    await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
    expect(await page.getByLabel('Signing secret').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByText('Signing secret (shown once').waitFor();
    await page.getByLabel('Kind').selectOption('email');
    expect(await page.getByLabel('Signing secret').count()).toBe(0);
    await page.getByLabel('E-mail addresses').fill('ops@example.com, b@example.com');
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByRole('cell', { name: 'ops@example.com, b@example.com' }).waitFor();
    const kinds = await page.locator('.channels-table tbody td:first-child').allTextContents();
    expect(kinds).toEqual(['Webhook', 'E-mail']);
    const res = await server.api('/api/v1/channels');
    const body = (await res.json()) as { channels: { kind: string; secret?: string; to?: string[] }[] };
    expect(body.channels[0]!.secret).toBe('whsec_********');
    expect(body.channels[1]!.to).toEqual(['ops@example.com', 'b@example.com']);
  });
});
