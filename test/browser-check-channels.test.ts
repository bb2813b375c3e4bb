import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Which channels a check notifies, in a real browser: the form offers "all channels" or a checklist
 * of the organisation's channels, the check page names the chosen ones (or says "all channels"),
 * and both warn when the organisation has no channel at all.
 */
describe.skipIf(!chromiumInstalled)('check channels in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  beforeAll(async () => {
    server = await startTestServer('pglite');
    session = await openBrowser({});
  });
  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('warns without channels, then creates a check notifying one channel and edits it to all', async () => {
    const page = session.page;
    await logIn(page, server);

    // No channel yet: the form says so and links to the channels page.
    await page.goto(`${server.url}/checks/new`);
    await page.getByText('This organisation has no channel yet').waitFor();
    expect(await page.getByRole('link', { name: 'Add a channel' }).getAttribute('href')).toBe('/channels');

    const create = async (body: object) => {
      const res = await server.api('/api/v1/channels', { method: 'POST', json: body });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string };
    };
    const ops = await create({ kind: 'webhook', name: 'Ops hook', url: 'http://127.0.0.1:9/hook' });
    await create({ kind: 'email', name: 'On-call mail', to: 'oncall@example.com' });

    await page.goto(`${server.url}/checks/new`);
    await page.getByLabel('Name').fill('Nightly export');
    await page.getByLabel('Ops hook').waitFor();
    // Ticking a channel switches from "all channels" to the list.
    expect(await page.getByLabel('All channels').isChecked()).toBe(true);
    await page.getByLabel('Ops hook').check();
    expect(await page.getByLabel('Only these channels').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Create check' }).click();

    await page.waitForURL(/\/checks\/[0-9a-f-]{36}$/);
    const id = new URL(page.url()).pathname.split('/').pop()!;
    const list = page.locator('.check-channel-list');
    await list.waitFor();
    expect(await list.locator('li').allTextContents()).toEqual(['Ops hook (Webhook)']);
    const saved = (await (await server.api(`/api/v1/checks/${id}`)).json()) as { channels: string };
    expect(saved.channels).toBe(ops.id);

    // Edit: the checklist shows the choice, and "all channels" replaces it.
    await page.goto(`${server.url}/checks/${id}/edit`);
    await page.getByLabel('Ops hook').waitFor();
    expect(await page.getByLabel('Ops hook').isChecked()).toBe(true);
    expect(await page.getByLabel('On-call mail').isChecked()).toBe(false);
    await page.getByLabel('All channels').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(new RegExp(`/checks/${id}$`));
    await page.getByText('all channels', { exact: true }).waitFor();
    expect(await page.locator('.check-channels').textContent()).toContain('2 today');
    const edited = (await (await server.api(`/api/v1/checks/${id}`)).json()) as { channels: string };
    expect(edited.channels).toBe('*');
  });
});
