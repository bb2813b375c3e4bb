import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { TEST_DATABASE_URL, eventually, freshPostgresDatabase, startTestServer, type TestServer } from './support/server.js';

/**
 * The Organisations page shows the shipment table watchers to a platform administrator, with
 * their state as the worker updates it (rows stored, refused, lag, last error).
 */
describe.skipIf(!chromiumInstalled || !TEST_DATABASE_URL)('shipment watchers on the Organisations page in Chromium', () => {
  let server: TestServer;
  let watched: { url: string; drop: () => Promise<void> };
  let browser: BrowserSession;
  beforeAll(async () => {
    server = await startTestServer('pglite');
    watched = await freshPostgresDatabase();
    browser = await openBrowser({});
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await watched?.drop();
  });

  it('lists a watcher with the rows it stored and refused', async () => {
    const client = new pg.Client({ connectionString: watched.url });
    await client.connect();
    await client.query('CREATE TABLE parcels (id bigserial PRIMARY KEY, ref text NOT NULL, at timestamptz NOT NULL, dest text)');
    const me = (await (await server.api('/api/v1/me')).json()) as { org: { id: string } };
    const res = await server.api('/api/v1/shipment-watchers', {
      method: 'POST',
      json: { name: 'parcels', connection_url: watched.url, table: 'parcels', columns: { external_id: 'ref', created_at: 'at', destination_country: 'dest' }, org_id: me.org.id, poll_interval_ms: 100 },
    });
    expect(res.status).toBe(201);
    await client.query(`INSERT INTO parcels (ref, at, dest) VALUES ('p-1', now(), 'DE'), ('p-2', now(), 'FR'), ('p-3', now(), 'XX')`);
    await client.end();
    await eventually(async () => ((await (await server.api('/api/v1/shipment-watchers')).json()) as { watchers: { state: { rows_read: number } }[] }).watchers[0]?.state.rows_read === 3);

    const page = browser.page;
    await logIn(page, server);
    await page.getByRole('link', { name: 'Organisations' }).click();
    await page.getByRole('heading', { name: 'Shipment table watchers' }).waitFor();
    const row = page.locator('tr', { hasText: 'parcels' });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual(['parcels ', 'public.parcels', expect.any(String), '2', '1']);
    expect(cells[5]).toBe('caught up');
    expect(browser.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  }, 60_000);
});
