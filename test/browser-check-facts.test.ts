import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, logIn, openBrowser, type BrowserSession } from './support/browser.js';
import { eventually, startTestServer, type TestServer } from './support/server.js';

/**
 * The facts of a check page say what the check does: a check without its own maximum run time is
 * limited by its grace period (not "no limit"); a check that is down because a run failed or ran too
 * long still expects its next run at the scheduled time (not "overdue"); only a missed run is
 * overdue. Dates and relative times are in the dashboard's language (English) whatever the browser
 * prefers (German here), and absolute times name their zone (Tokyo here, not this machine's).
 */
const ENGLISH_DATE_TIME = /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d:\d\d GMT\+9$/;
const IN_AN_HOUR = /^in (59|60) minutes$|^in 1 hour$/;

describe.skipIf(!chromiumInstalled)('check page facts in Chromium (German browser, Tokyo time)', () => {
  let server: TestServer;
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    server = await startTestServer('pglite', { VIGIL_SWEEP_INTERVAL_MS: '200' });
    session = await openBrowser({ timezoneId: 'Asia/Tokyo', locale: 'de-DE' });
    page = session.page;
    await logIn(page, server);
  });

  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  const create = async (body: Record<string, unknown>) => {
    const res = await server.api('/api/v1/checks', { method: 'POST', json: body });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const ping = async (id: string, suffix = '') => expect((await fetch(`${server.url}/ping/${id}${suffix}`, { method: 'POST' })).status).toBe(200);
  const statusOf = async (id: string) => ((await (await server.api(`/api/v1/checks/${id}`)).json()) as { status: string; status_reason: string });
  const fact = (term: string) => page.locator('.facts > div', { has: page.locator('dt', { hasText: term }) }).locator('dd');
  const open = async (id: string, status: string) => {
    await page.goto(`${server.url}/checks/${id}`);
    await page.locator(`.status-panel [data-status="${status}"]`).waitFor();
  };

  it('shows the grace period as the run-time limit when the check has none of its own', async () => {
    const id = await create({ name: 'no own limit', timeout: 3600, grace: 90 });
    const limited = await create({ name: 'own limit', timeout: 3600, grace: 90, max_runtime: 600 });
    await open(id, 'new');
    expect(await fact('Max run time').textContent()).toBe('1 minute 30 seconds (the grace period)');
    await open(limited, 'new');
    expect(await fact('Max run time').textContent()).toBe('10 minutes');
  });

  it('a check down because its run failed expects its next run on schedule, not "overdue"', async () => {
    const id = await create({ name: 'failed run', timeout: 3600, grace: 60 });
    await ping(id);
    await ping(id, '/fail');
    expect(await statusOf(id)).toMatchObject({ status: 'down', status_reason: 'fail ping' });
    await open(id, 'down');
    expect(await fact('Next expected').textContent()).toMatch(IN_AN_HOUR);
  });

  it('a check down because its run ran too long expects its next run on schedule too', async () => {
    const id = await create({ name: 'too long', timeout: 3600, grace: 3600, max_runtime: 1 });
    await ping(id);
    await ping(id, '/start');
    await eventually(async () => (await statusOf(id)).status === 'down', 10_000);
    expect((await statusOf(id)).status_reason).toMatch(/has not finished within 1 second/);
    await open(id, 'down');
    expect(await fact('Next expected').textContent()).toMatch(IN_AN_HOUR);
  });

  it('a check down because a run was missed is overdue, with the time it was expected on hover', async () => {
    const id = await create({ name: 'missed', timeout: 1, grace: 1 });
    await ping(id);
    await eventually(async () => (await statusOf(id)).status === 'down', 10_000);
    await open(id, 'down');
    const next = fact('Next expected');
    expect(await next.textContent()).toBe('overdue');
    expect(await next.locator('time').getAttribute('title')).toMatch(/^expected [A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d:\d\d GMT\+9$/);
  });

  it('writes dates and relative times in English with the zone named, though the browser prefers German', async () => {
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { language: string } }).navigator.language)).toBe('de-DE');
    const id = await create({ name: 'language', timeout: 3600, grace: 60 });
    await ping(id, '/start');
    await ping(id);
    await open(id, 'up');
    expect(await fact('Created').textContent()).toMatch(ENGLISH_DATE_TIME);
    expect(await page.locator('.runs-table tbody tr').first().locator('td').first().textContent()).toMatch(ENGLISH_DATE_TIME);
    // "3 seconds ago", never "vor 3 Sekunden" (the page re-renders relative times as they age).
    await expect.poll(async () => fact('Last ping').textContent(), { timeout: 10_000 }).toMatch(/^\d+ seconds? ago$/);
    expect(await fact('Next expected').textContent()).toMatch(IN_AN_HOUR);
  });

  it('logged no script error and made no failing request but the expected ones', () => {
    expect(session.failedRequests.filter((r) => r !== '401 GET /api/v1/me')).toEqual([]);
    expect(session.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  });
});
