import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR, ago, chromiumInstalled, ingestLogs, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * The Traffic page in a real browser against a real server: access-log events posted to the
 * ingest API go through the stream processor into the statistics, and the page shows them (table,
 * chart legends, totals) without reloading; the range picker lives in the URL; charts follow the
 * width of the window.
 */
/** The first answer may come from the page's first load; room for a slow, shared machine. */
const LOAD_TIMEOUT_MS = 15_000;
/** Under the page's 10 s fallback poll: an update seen this soon came from the live event. */
const LIVE_TIMEOUT_MS = 7000;

describe.skipIf(!chromiumInstalled)('Traffic page in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  let page: Page;

  const ingest = (events: object[]) => ingestLogs(server, events);
  const request = (path: string, status: number, client: string, msAgo: number) => ({
    timestamp: ago(msAgo),
    message: `GET ${path} ${status}`,
    service: 'shop',
    method: 'GET',
    path,
    status,
    bytes: 512,
    duration_ms: 20,
    remote_addr: client,
  });
  const sectionRow = (section: string) => page.locator(`.sections-table tr[data-section="${section}"]`);
  const hitsOf = async (section: string) => Number(await sectionRow(section).locator('td[data-hits]').getAttribute('data-hits'));

  beforeAll(async () => {
    server = await startTestServer('pglite');
    session = await openBrowser();
    page = session.page;
    await logIn(page, server);
    // Before logging in, the app's question "who am I?" is answered 401 on purpose: count from here.
    session.consoleErrors.length = 0;
    session.failedRequests.length = 0;
  });

  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('the Traffic page shows live data arriving from an ingest', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Traffic' }).click();
    await page.getByRole('heading', { name: 'Traffic', exact: true }).waitFor();
    await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: '5 min', exact: true }).click();
    await page.waitForURL(/\/traffic\?range=5m$/);
    await page.getByRole('heading', { name: 'No requests in this range' }).waitFor();
    await page.locator('.live-live').waitFor();

    let loads = 0;
    page.on('load', () => loads++);
    await page.evaluate(() => Object.assign(globalThis, { vigilTestMarker: 'still here' }));

    // Three checkout requests (one failing) from two clients, two searches from a third.
    await ingest([
      request('/checkout/cart', 200, '10.0.0.1', 4000),
      request('/checkout/pay', 200, '10.0.0.1', 3000),
      request('/checkout/pay', 503, '10.0.0.2', 2000),
      request('/search', 200, '10.0.0.3', 2000),
      request('/search', 200, '10.0.0.3', 1000),
    ]);
    await sectionRow('/checkout').waitFor({ timeout: LOAD_TIMEOUT_MS });
    await expect.poll(() => hitsOf('/checkout'), { timeout: LOAD_TIMEOUT_MS }).toBe(3);
    expect(await hitsOf('/search')).toBe(2);
    expect(await sectionRow('/checkout').locator('.error-cell').textContent()).toContain('1');
    await page.getByRole('heading', { name: 'No requests in this range' }).waitFor({ state: 'detached' });
    // The newest seconds are past the watermark: marked as not final yet.
    await page.locator('.open-note').first().waitFor();

    // The charts name the sections and the status classes in their legends.
    const bySection = page.getByRole('figure', { name: 'Requests per second by section' });
    expect(await bySection.locator('.u-legend .u-label').allTextContents()).toEqual(expect.arrayContaining(['/checkout', '/search']));
    const byStatus = page.getByRole('figure', { name: 'Requests per second by status class' });
    expect(await byStatus.locator('.u-legend .u-label').allTextContents()).toEqual(expect.arrayContaining(['2xx', '5xx']));

    const facts = page.locator('.traffic-facts');
    expect(await facts.locator('div', { hasText: 'Error rate' }).locator('dd').textContent()).toContain('20');
    expect(await facts.locator('div', { hasText: 'Distinct hosts' }).locator('dd').textContent()).toMatch(/^3\b/);

    // More traffic while the page is open: the counts grow in place, pushed by the live event.
    await ingest([request('/checkout/pay', 200, '10.0.0.4', 500), request('/checkout/pay', 200, '10.0.0.4', 0), request('/search', 200, '10.0.0.3', 0)]);
    await expect.poll(() => hitsOf('/checkout'), { timeout: LIVE_TIMEOUT_MS }).toBe(5);
    expect(await hitsOf('/search')).toBe(3);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-traffic.png`, fullPage: true });

    expect(await page.evaluate(() => (globalThis as { vigilTestMarker?: string }).vigilTestMarker)).toBe('still here');
    expect(loads).toBe(0);
  });

  it('resizes the charts with the window, and every range of the picker loads', async () => {
    const canvas = page.getByRole('figure', { name: 'Requests per second by section' }).locator('canvas');
    const wide = (await canvas.boundingBox())?.width ?? 0;
    await page.setViewportSize({ width: 800, height: 900 });
    await expect.poll(async () => (await canvas.boundingBox())?.width ?? 0).toBeLessThan(wide - 200);
    await page.setViewportSize({ width: 1280, height: 900 });

    for (const label of ['30 days', '7 days', '24 hours', '1 hour']) {
      await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: label, exact: true }).click();
      await expect.poll(() => hitsOf('/checkout')).toBe(5);
    }
    expect(new URL(page.url()).searchParams.get('range')).toBe('1h');
    await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: '30 days', exact: true }).click();
    await page.locator('.traffic-sub', { hasText: 'one point per 2 hours' }).waitFor();
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-traffic-30d.png`, fullPage: true });
  });

  it('logged no browser errors and no failed requests', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.failedRequests).toEqual([]);
  });
});
