import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent } from '../src/domains/logs/event.js';
import { PartitionManager, insertEvents } from '../src/domains/logs/store.js';
import { SCREENSHOT_DIR, ago, chromiumInstalled, ingestLogs, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * The Logs page in a real browser against a real server: the empty state says how to send events;
 * events sent with the API appear without reloading (live tail: the `logs` live event when the
 * stream processor runs, the 5 s poll otherwise), late ones in their place; the status filter
 * narrows the table and lives in the URL; a row opens to all its fields; "Load older" pages back;
 * scrolling down pauses the tail.
 */
/** The poll fallback is 5 s; leave room for a slow, shared machine. */
const TAIL_TIMEOUT_MS = 12_000;

describe.skipIf(!chromiumInstalled)('Logs page in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  let page: Page;

  const ingest = (events: object[]) => ingestLogs(server, events);
  const rows = () => page.locator('.logs-table tr.log-row');
  const messages = async () => (await page.locator('.logs-table tr.log-row .log-message').allTextContents()).map((m) => m.trim());

  beforeAll(async () => {
    server = await startTestServer('pglite');
    session = await openBrowser({ timezoneId: 'Asia/Tokyo' });
    page = session.page;
    await logIn(page, server);
  });

  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('explains how to send logs, then shows events sent while the page is open, without reloading', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByRole('heading', { name: 'Logs', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'No log events in the last hour' }).waitFor();
    const curl = await page.locator('.logs-empty pre').textContent();
    expect(curl).toContain(`curl -fsS -X POST ${server.url}/api/v1/logs`);
    expect(curl).toContain('X-Api-Key');
    await page.locator('[data-tail="live"]').waitFor();

    let loads = 0;
    page.on('load', () => loads++);
    await page.evaluate(() => Object.assign(globalThis, { vigilTestMarker: 'still here' }));

    await ingest([
      { timestamp: ago(30_000), message: 'GET /api/orders served', service: 'shop', host: 'web-1', method: 'GET', path: '/api/orders', status: 200, duration_ms: 12.5, level: 'info', region: 'eu-west' },
      { timestamp: ago(20_000), message: 'upstream timed out on /report/daily', service: 'shop', host: 'web-2', method: 'GET', path: '/report/daily', status: 503, duration_ms: 30_000, level: 'error' },
      { timestamp: ago(10_000), message: 'no such page', service: 'shop', host: 'web-1', method: 'GET', path: '/missing', status: 404, duration_ms: 3, level: 'warn' },
    ]);
    await rows().nth(2).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect(await messages()).toEqual(['no such page', 'upstream timed out on /report/daily', 'GET /api/orders served']);

    // Status coloured by class; the time is local (Tokyo here) with the UTC instant on hover.
    const failing = rows().filter({ hasText: 'upstream timed out' });
    expect(await failing.locator('.http-status').getAttribute('class')).toContain('http-5xx');
    expect(await rows().filter({ hasText: 'no such page' }).locator('.http-status').getAttribute('class')).toContain('http-4xx');
    expect(await failing.locator('td').nth(7).textContent()).toBe('30.0 s');
    const title = await failing.locator('time').getAttribute('title');
    expect(title).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);

    // A new event while the page is open appears at the top; a late one (older event time) in its place.
    await ingest([{ timestamp: ago(0), message: 'fresh from the live tail', service: 'shop', status: 201, path: '/api/orders', method: 'POST' }]);
    await rows().filter({ hasText: 'fresh from the live tail' }).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect((await messages())[0]).toBe('fresh from the live tail');
    await ingest([{ timestamp: ago(15_000), message: 'late arrival from a slow agent', service: 'shop', status: 200 }]);
    await rows().filter({ hasText: 'late arrival' }).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect(await messages()).toEqual(['fresh from the live tail', 'no such page', 'late arrival from a slow agent', 'upstream timed out on /report/daily', 'GET /api/orders served']);

    // Stored by a processor in another process (no live event reaches this server): the 5 s poll finds it.
    const now = Date.now();
    const quiet: LogEvent = {
      timestamp: now,
      receivedAt: now,
      service: 'shop',
      host: 'web-3',
      source: null,
      level: 'info',
      message: 'stored without a live event',
      method: 'GET',
      path: '/health',
      section: '/health',
      status: 200,
      bytes: 2,
      durationMs: 1,
      remoteAddr: null,
      userAgent: null,
      attributes: {},
    };
    await insertEvents(server.ctx.db, new PartitionManager(server.ctx.db), server.org.id, [quiet]);
    await rows().filter({ hasText: 'stored without a live event' }).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect((await messages())[0]).toBe('stored without a live event');
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-logs.png`, fullPage: true });

    expect(await page.evaluate(() => (globalThis as { vigilTestMarker?: string }).vigilTestMarker)).toBe('still here');
    expect(loads).toBe(0);
  });

  it('opens a row to show every field, attributes included', async () => {
    const row = rows().filter({ hasText: 'GET /api/orders served' });
    await row.locator('.log-message').click();
    const detail = page.locator('.log-detail');
    await detail.waitFor();
    expect(await detail.locator('.log-attributes').textContent()).toContain('"region": "eu-west"');
    expect(await detail.textContent()).toContain('web-1');
    await row.locator('.log-message').click();
    await detail.waitFor({ state: 'detached' });
  });

  it('filters by status, in a URL that reproduces the view, and keeps tailing within the filter', async () => {
    await page.getByLabel('Status').fill('503');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=503/);
    await expect.poll(messages).toEqual(['upstream timed out on /report/daily']);

    const link = page.url();
    expect(new URL(link).searchParams.get('range')).toBe('1h');
    await page.goto(link);
    await page.getByRole('heading', { name: 'Logs', exact: true }).waitFor();
    await expect.poll(messages).toEqual(['upstream timed out on /report/daily']);
    expect(await page.getByLabel('Status').inputValue()).toBe('503');

    // Only matching arrivals join the tail.
    await ingest([
      { timestamp: ago(0), message: 'another 200, filtered out', service: 'shop', status: 200 },
      { timestamp: ago(0), message: 'second outage', service: 'shop', status: 503 },
    ]);
    await rows().filter({ hasText: 'second outage' }).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect(await messages()).toEqual(['second outage', 'upstream timed out on /report/daily']);

    // A status that is not one is refused in the form, naming the field.
    await page.getByLabel('Status').fill('5xx');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('An HTTP status code from 100 to 599').waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('503');
  });

  it('pages back with "Load older" and turns the tail off from the toggle', async () => {
    const base = Date.now() - 40 * 60_000;
    await ingest(Array.from({ length: 130 }, (_, i) => ({ timestamp: new Date(base + i * 1000).toISOString(), message: `bulk ${i}`, service: 'bulk' })));
    await page.goto(`${server.url}/logs?range=1h&service=bulk`);
    await rows().nth(99).waitFor();
    expect(await rows().count()).toBe(100);
    await page.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(() => rows().count()).toBe(130);
    const shown = await messages();
    expect(shown[0]).toBe('bulk 129');
    expect(shown[129]).toBe('bulk 0');
    expect(new Set(shown).size).toBe(130);
    await page.getByRole('button', { name: 'Load older' }).waitFor({ state: 'detached' });

    // Reading down the list pauses the tail; back at the top it catches up.
    await rows().last().scrollIntoViewIfNeeded();
    await page.locator('[data-tail="paused"]').waitFor();
    await ingest([{ timestamp: ago(0), message: 'bulk while paused', service: 'bulk' }]);
    await page.waitForTimeout(1500);
    expect(await rows().filter({ hasText: 'bulk while paused' }).count()).toBe(0);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-logs-paused.png` });
    await page.getByRole('button', { name: /Live tail paused/ }).click();
    await page.locator('[data-tail="live"]').waitFor();
    await rows().filter({ hasText: 'bulk while paused' }).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect((await messages())[0]).toBe('bulk while paused');

    await page.getByLabel('Live tail').uncheck();
    await page.waitForURL(/live=off/);
    await page.getByText('Live tail off').waitFor();
    await page.getByLabel('Live tail').check();
    await page.locator('[data-tail="live"]').waitFor();
  });

  it('keeps the newest 500 rows in a burst, and still pages back past them', async () => {
    await page.goto(`${server.url}/logs?range=15m&service=burst`);
    await ingest([{ timestamp: ago(60_000), message: 'burst seed', service: 'burst' }]);
    await rows().first().waitFor({ timeout: TAIL_TIMEOUT_MS });
    const base = Date.now() - 50_000;
    await ingest(Array.from({ length: 600 }, (_, i) => ({ timestamp: new Date(base + i * 50).toISOString(), message: `burst ${i}`, service: 'burst' })));
    await rows().filter({ hasText: 'burst 599' }).waitFor({ timeout: TAIL_TIMEOUT_MS });
    expect(await rows().count()).toBe(500);
    expect((await messages())[499]).toBe('burst 100');

    // The cut rows took the cursor's place with them: "Load older" searches again one page deeper.
    await page.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(() => rows().count()).toBe(600);
    await page.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(() => rows().count()).toBe(601);
    const shown = await messages();
    expect(shown.at(-1)).toBe('burst seed');
    expect(shown.slice(0, 600)).toEqual(Array.from({ length: 600 }, (_, i) => `burst ${599 - i}`));
  });

  it('made no failing request and logged no script error', () => {
    const { failedRequests, consoleErrors } = session;
    // Asking /me before logging in is refused on purpose.
    expect(failedRequests.filter((r) => r !== '401 GET /api/v1/me')).toEqual([]);
    expect(consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  });
});
