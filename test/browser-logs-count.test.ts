import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent } from '../src/domains/logs/event.js';
import { PartitionManager, insertEvents } from '../src/domains/logs/store.js';
import { SCREENSHOT_DIR, ago, chromiumInstalled, ingestLogs, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * The Logs page says how many events match, not how many rows it loaded (it said "100 events in the
 * last hour" while thousands matched), draws their volume over time above the list, keeps both up
 * to date while tailing, and writes times in English with their zone named, though the browser
 * prefers German and sits in Tokyo.
 */
const MATCHES = 2_500;

describe.skipIf(!chromiumInstalled)('Logs page count and volume in Chromium (German browser, Tokyo time)', () => {
  let server: TestServer;
  let session: BrowserSession;
  let page: Page;

  const countText = () => page.locator('.logs-count').textContent();
  const slots = () => page.locator('.volume .volume-slot');
  const barTotal = async () => (await slots().evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count') ?? 0)))).reduce((a, n) => a + n, 0);

  beforeAll(async () => {
    server = await startTestServer('pglite');
    // 2,500 events over the last 50 minutes; every 5th from service "api".
    const now = Date.now();
    const events = Array.from({ length: MATCHES }, (_, i): LogEvent => {
      const ts = now - 50 * 60_000 + i * 1200;
      return {
        timestamp: ts,
        receivedAt: ts,
        service: i % 5 === 0 ? 'api' : 'web',
        host: 'h1',
        source: null,
        level: 'info',
        message: `event ${i}`,
        method: null,
        path: null,
        section: null,
        status: null,
        bytes: null,
        durationMs: null,
        remoteAddr: null,
        userAgent: null,
        attributes: {},
      };
    });
    await insertEvents(server.ctx.db, new PartitionManager(server.ctx.db), server.org.id, events);
    session = await openBrowser({ timezoneId: 'Asia/Tokyo', locale: 'de-DE' });
    page = session.page;
    await logIn(page, server);
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('counts every match of the range, not the 100 rows loaded, and draws them per minute', async () => {
    await page.goto(`${server.url}/logs?range=1h`);
    await page.locator('.logs-table tr.log-row').nth(99).waitFor();
    await expect.poll(countText).toMatch(/^2,500 events in the last hour, newest first; the newest 100 are listed\./);
    expect(await page.locator('.logs-table tr.log-row').count()).toBe(100);
    // One bar per minute of the hour (one more where the hour does not start on a minute), adding up to the count.
    expect([60, 61]).toContain(await slots().count());
    expect(await barTotal()).toBe(MATCHES);
    const title = await slots().last().getAttribute('title');
    expect(title).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d – \d\d:\d\d GMT\+9: [\d,]+ events?$/);
    expect(await page.locator('.volume-axis').textContent()).toMatch(/one bar per 1 min/);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-logs-volume.png`, fullPage: true });
  });

  it('counts with the filters of the search', async () => {
    await page.goto(`${server.url}/logs?range=1h&service=api`);
    await expect.poll(countText).toMatch(/^500 events in the last hour, newest first; the newest 100 are listed\./);
    expect(await barTotal()).toBe(500);
    await page.goto(`${server.url}/logs?range=1h&q=event%2012`);
    // "event 12", "event 120".."event 129", "event 1200".."event 1299": 1 + 10 + 100, all listed.
    await expect.poll(countText).toMatch(/^111 events in the last hour, newest first; the newest 100 are listed\./);
  });

  it('keeps the count up to date while tailing', async () => {
    await page.goto(`${server.url}/logs?range=1h&service=tailed`);
    await ingestLogs(server, [{ timestamp: ago(5_000), message: 'first of the tail', service: 'tailed' }]);
    await page.locator('.logs-table tr.log-row').first().waitFor({ timeout: 15_000 });
    await expect.poll(countText, { timeout: 15_000 }).toMatch(/^1 event in the last hour, newest first; all are listed\./);
    await ingestLogs(server, [
      { timestamp: ago(1_000), message: 'second', service: 'tailed' },
      { timestamp: ago(0), message: 'third', service: 'tailed' },
    ]);
    await expect.poll(countText, { timeout: 30_000 }).toMatch(/^3 events in the last hour/);
    await expect.poll(barTotal, { timeout: 30_000 }).toBe(3);
  });

  it('names the zone of every time, in English, though the browser prefers German', async () => {
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { language: string } }).navigator.language)).toBe('de-DE');
    await page.goto(`${server.url}/logs?range=1h`);
    const header = page.locator('.logs-table th').first();
    expect(await header.textContent()).toBe('Time (Asia/Tokyo)');
    const first = page.locator('.logs-table tr.log-row').first();
    expect(await first.locator('time').textContent()).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d:\d\d\.\d{3}$/);
    expect(await first.locator('time').getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
    await first.locator('.log-message').click();
    const local = page.locator('.log-detail .facts > div', { has: page.locator('dt', { hasText: 'Time (Asia/Tokyo)' }) }).locator('dd');
    expect(await local.textContent()).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d:\d\d\.\d{3} GMT\+9$/);
  });

  it('made no failing request and logged no script error', () => {
    expect(session.failedRequests.filter((r) => r !== '401 GET /api/v1/me')).toEqual([]);
    expect(session.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  });
});
