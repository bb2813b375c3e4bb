import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, openBrowser, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Swagger UI at /api/docs under the server's Content Security Policy (scripts and styles from
 * Vigil's own origin only): it must still render the API and let one try a call. A CSP violation
 * shows up as a console error ("Refused to ..."). Skipped where Chromium is not installed.
 */
describe.skipIf(!chromiumInstalled)('API docs in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  beforeAll(async () => {
    server = await startTestServer('pglite');
    session = await openBrowser();
  });
  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('renders the OpenAPI description without CSP violations', async () => {
    const { page } = session;
    await page.goto(`${server.url}/api/docs/`);
    await page.locator('.swagger-ui .info .title').getByText('Vigil API').waitFor({ timeout: 15_000 });
    await page.locator('.opblock-summary-path', { hasText: '/api/v1/checks' }).first().waitFor();
    expect(session.consoleErrors).toEqual([]);
    expect(session.failedRequests).toEqual([]);
  });
});
