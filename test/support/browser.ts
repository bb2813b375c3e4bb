import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer } from './server.js';

/** Debian's Chromium, driven by playwright-core. Browser tests skip where it is not installed; CI installs it. */
export const CHROMIUM = '/usr/bin/chromium';
export const chromiumInstalled = existsSync(CHROMIUM);
export const SCREENSHOT_DIR = process.env.VIGIL_SCREENSHOT_DIR ?? '/tmp';

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  consoleErrors: string[];
  /** Every answer of 400 or more, as "<status> <METHOD> <path>". */
  failedRequests: string[];
  close(): Promise<void>;
}

/**
 * A headless Chromium with one 1280×900 page that records what a user would not see: script
 * errors and failed requests, which each test checks at the end against the ones it expects.
 * `timezoneId` sets the browser's zone, so local-time display and input can be told from this machine's;
 * `locale` its preferred language (navigator.language, Accept-Language, Intl's default).
 */
export async function openBrowser(options: { timezoneId?: string; locale?: string } = {}): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
      ...(options.locale ? { locale: options.locale } : {}),
    });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const consoleErrors: string[] = [];
    const failedRequests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    });
    return {
      browser,
      context,
      page,
      consoleErrors,
      failedRequests,
      async close() {
        await context.close();
        await browser.close();
      },
    };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Signs in through the login form as the test admin and waits for the landing page (Checks). */
export async function logIn(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Checks', exact: true }).waitFor();
}

/** Posts log events to the ingest API while a page is open; every one must be accepted. */
export async function ingestLogs(server: TestServer, events: object[]): Promise<void> {
  const res = await server.api('/api/v1/logs', { method: 'POST', json: events });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(events.length);
}

/** The ISO timestamp `ms` milliseconds before now. */
export const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
