import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR, chromiumInstalled, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Mute windows on the Silences page in a real browser: a refused cron expression is shown under
 * its field, a recurring window is created and listed (with the maintenance windows, which are
 * mute windows too), and deleted. Skipped where Chromium is not installed; CI installs it.
 */
describe.skipIf(!chromiumInstalled)('mute windows in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    server = await startTestServer('pglite');
    session = await openBrowser();
    page = session.page;
    await logIn(page, server);
    session.consoleErrors.length = 0;
    session.failedRequests.length = 0;
  });

  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('creates a recurring mute window (after a refused cron), lists it beside a maintenance window, and deletes it', async () => {
    const maintenance = await server.api('/api/v1/maintenance', { method: 'POST', json: { cron: '0 3 * * *', duration: 3600, reason: 'nightly restart' } });
    expect(maintenance.status).toBe(201);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Silences' }).click();
    await page.getByRole('heading', { name: 'Mute windows' }).waitFor();
    await page.locator('.mute-windows-table tbody tr', { hasText: '(maintenance)' }).waitFor();

    const form = page.getByRole('form', { name: 'New mute window' });
    await form.getByLabel('Name').fill('weekly backups');
    await form.getByLabel('Matchers').fill('rule="backup lag"\nsource="log"');
    await form.getByLabel('Opens at (cron)').fill('0 2 * * 8 9');
    await form.getByLabel('Time zone').fill('Europe/Paris');
    await form.getByLabel('Open for').fill('2h');
    await form.getByRole('button', { name: 'Create mute window' }).click();
    await form.locator('.field-invalid .field-error', { hasText: 'cron' }).waitFor();

    await form.getByLabel('Opens at (cron)').fill('0 2 * * 0');
    await form.getByRole('button', { name: 'Create mute window' }).click();
    const row = page.locator('.mute-windows-table tbody tr', { hasText: 'weekly backups' });
    await row.waitFor();
    expect(await row.textContent()).toContain('rule="backup lag"');
    expect(await row.textContent()).toContain('0 2 * * 0 (Europe/Paris)');
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-mute-windows.png`, fullPage: true });
    const { windows } = (await (await server.api('/api/v1/mute-windows')).json()) as { windows: { name: string; kind: string; duration_seconds: number | null }[] };
    expect(windows).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'weekly backups', kind: 'mute', duration_seconds: 7200 }), expect.objectContaining({ kind: 'maintenance' })]));

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect(((await (await server.api('/api/v1/mute-windows')).json()) as { windows: unknown[] }).windows).toHaveLength(1);
  });

  it('logged no browser errors and no failed requests but the refused window', () => {
    expect(session.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
    expect(session.failedRequests).toEqual(['400 POST /api/v1/mute-windows']);
  });
});
