import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/domains/accounts/index.js';
import { chromiumInstalled, openBrowser, SCREENSHOT_DIR, type BrowserSession } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Issue 10 in a real browser against a real server, as a customer: an analyst of their own
 * organisation (not the platform administrator) builds a criterion with the form builder (the CEL
 * it writes is the example, checked by the code editor as typed), backtests it over the
 * shipments of the past days (seeded through the API first), creates and enables it, uploads
 * shipments through the upload page (one bad row reported with its line and field), sees the
 * matches arrive in the fraud inbox without reloading, opens one and marks it as fraud; the
 * criterion's precision counts the verdict. It also manages a list from pasted items. Skipped where
 * Chromium is not installed; CI installs it.
 */
const CUSTOMER = { email: 'ana@acme.example', password: 'a long enough password' };
const CRITERION = 'high value to watched country';
const EXPECTED_CEL = "shipment.declared_value_usd > 5000.0 && shipment.destination_country in ['NG', 'KP']";
/** The detector evaluates new shipments in the background; generous for a loaded 2-core machine. */
const ALERT_TIMEOUT_MS = 30_000;

const DAY_MS = 86_400_000;

/** Shipments over the past five days: per day, one that matches the criterion and two that do not. */
function history(): object[] {
  const rows: object[] = [];
  for (let d = 1; d <= 5; d++) {
    const at = new Date(Date.now() - d * DAY_MS).toISOString();
    rows.push(
      { external_id: `H-${d}-match`, created_at: at, declared_value: 9000, currency: 'USD', destination_country: 'NG', origin_country: 'DE', sender_id: `snd-${d}` },
      { external_id: `H-${d}-cheap`, created_at: at, declared_value: 40, currency: 'USD', destination_country: 'NG', origin_country: 'DE', sender_id: `snd-${d}` },
      { external_id: `H-${d}-elsewhere`, created_at: at, declared_value: 9000, currency: 'USD', destination_country: 'FR', origin_country: 'DE', sender_id: `snd-${d}` },
    );
  }
  return rows;
}

/** The file uploaded through the page: two shipments that match, one that does not, and one bad row (line 5). */
function uploadCsv(): string {
  const now = new Date().toISOString();
  return [
    'external_id,created_at,declared_value,currency,sender_id,destination_country,origin_country,recipient_address',
    `U-1,${now},7000,USD,snd-new,NG,DE,1 Marina Road Lagos`,
    `U-2,${now},12000,EUR,snd-new,KP,DE,2 Pyongyang Street`,
    `U-3,${now},30,USD,snd-new,NG,DE,1 Marina Road Lagos`,
    `U-4,${now},8000,USD,snd-new,Nigeria,DE,1 Marina Road Lagos`,
    '',
  ].join('\n');
}

describe.skipIf(!chromiumInstalled)('fraud criteria, upload and inbox in Chromium, as a customer', () => {
  let server: TestServer;
  let session: BrowserSession;
  let page: Page;
  let seedKey: string;

  const nav = (name: string) => page.getByRole('navigation', { name }).first();

  beforeAll(async () => {
    server = await startTestServer('pglite');
    // The platform administrator creates the customer's organisation and its analyst (API, as the CLI and UI do).
    const org = await server.api('/api/v1/orgs', { method: 'POST', json: { name: 'Acme Logistics' } });
    expect(org.status).toBe(201);
    const { id: orgId } = (await org.json()) as { id: string };
    const member = await server.api(`/api/v1/orgs/${orgId}/members`, { method: 'POST', json: { ...CUSTOMER, role: 'analyst' } });
    expect(member.status).toBe(201);
    // The customer's own integration key, to seed the past days' shipments through the API.
    seedKey = (await createApiKey(server.ctx.db, orgId, 'seed', 'member')).key;
    const seeded = await server.api('/api/v1/shipments', { method: 'POST', json: history(), key: seedKey });
    expect(seeded.status).toBe(200);
    expect(((await seeded.json()) as { stored: number }).stored).toBe(15);

    session = await openBrowser();
    page = session.page;
    await page.goto(`${server.url}/`);
    await page.getByLabel('Email').fill(CUSTOMER.email);
    await page.getByLabel('Password').fill(CUSTOMER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Checks', exact: true }).waitFor();
    expect(await page.locator('.topbar .org').textContent()).toBe('Acme Logistics');
    // Before logging in, "who am I?" is answered 401 on purpose: count from here.
    session.consoleErrors.length = 0;
    session.failedRequests.length = 0;
  });

  afterAll(async () => {
    await session?.close();
    await server?.dispose();
  });

  it('builds a criterion with the form, sees its CEL type-checked, and backtests it over the past days', async () => {
    await nav('Main').getByRole('link', { name: 'Fraud' }).click();
    await page.getByRole('heading', { name: 'Fraud alerts', exact: true }).waitFor();
    await nav('Fraud').getByRole('link', { name: 'Criteria' }).click();
    await page.getByRole('heading', { name: 'Fraud criteria', exact: true }).waitFor();
    await page.getByRole('link', { name: 'New criterion' }).click();
    await page.waitForURL(/\/fraud\/criteria\/new$/);

    await page.getByLabel('Name', { exact: true }).fill(CRITERION);
    // The builder starts with "declared_value_usd > 5000"; a second condition: the watched countries.
    const first = page.getByRole('listitem', { name: 'Condition 1' });
    expect(await first.getByLabel('Field').inputValue()).toBe('declared_value_usd');
    await first.getByLabel('Operator').selectOption('>');
    await first.getByLabel('Value').fill('5000');
    await page.getByLabel('Add a condition').selectOption('in_countries');
    const second = page.getByRole('listitem', { name: 'Condition 2' });
    await second.getByLabel('Countries').fill('NG, KP');
    await page.getByLabel('Combine').selectOption('all');
    expect(await page.getByLabel('Resulting CEL').textContent()).toBe(EXPECTED_CEL);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-builder.png`, fullPage: true });

    // The backtest: five matches, one per past day, with the values the expression read.
    await page.getByLabel('Days').fill('7');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    const result = page.locator('.backtest-result');
    await result.waitFor({ timeout: 20_000 });
    expect(await result.getAttribute('data-matched')).toBe('5');
    expect(await result.locator('.backtest-summary').textContent()).toMatch(/^5 of 15 shipments matched/);
    const days = page.getByRole('table', { name: 'Matches per day' });
    expect(await days.locator('tbody tr').count()).toBeGreaterThanOrEqual(5);
    const samples = page.getByRole('table', { name: 'Sample matches' });
    expect(await samples.locator('tbody tr').count()).toBe(5);
    expect(await samples.locator('tbody tr', { hasText: 'H-1-match' }).textContent()).toContain('9000');
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-backtest.png`, fullPage: true });

    // The code editor takes the builder's CEL and type-checks as the user types: a mistake is
    // named with its line and column under the text; fixing it checks again.
    await page.getByRole('group', { name: 'Editor' }).getByRole('button', { name: 'Code editor' }).click();
    const code = page.getByLabel('Expression (CEL)');
    expect(await code.inputValue()).toBe(EXPECTED_CEL);
    await page.locator('[data-check="ok"]').waitFor();
    await code.fill(`${EXPECTED_CEL} && shipment.declared_value_usdd > 1.0`);
    const problems = page.getByRole('list', { name: 'Problems' });
    await problems.waitFor();
    expect(await problems.textContent()).toMatch(/line 1, column \d+/);
    // Suggestions for the word before the cursor: the fields that start with it.
    await code.fill(`${EXPECTED_CEL} && shipment.sender_`);
    const suggestions = page.getByRole('listbox', { name: 'Suggestions' });
    await suggestions.getByRole('option').first().waitFor();
    expect(await suggestions.getByRole('option').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^shipment\.sender_id/)]));
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-code-editor.png`, fullPage: true });
    await code.fill(EXPECTED_CEL);
    await page.locator('[data-check="ok"]').waitFor();
  });

  it('creates the criterion (disabled until backtested) and enables it from the list', async () => {
    await page.getByRole('button', { name: 'Create criterion' }).click();
    await page.waitForURL(/\/fraud\/criteria$/);
    const row = page.locator('.criteria-table tbody tr', { hasText: CRITERION });
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('disabled');
    expect(await row.locator('.expression-preview').textContent()).toBe(EXPECTED_CEL);
    await row.getByRole('button', { name: 'Enable' }).click();
    await page.locator('.criteria-table tbody tr[data-status="active"]', { hasText: CRITERION }).waitFor();
    // Enabling is an edit: version 2.
    expect(await row.locator('td').nth(2).textContent()).toBe('v2');
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-criteria.png`, fullPage: true });

    const { criteria } = (await (await server.api('/api/v1/fraud/criteria', { key: seedKey })).json()) as { criteria: { name: string; expression: string; enabled: boolean }[] };
    expect(criteria).toEqual([expect.objectContaining({ name: CRITERION, expression: EXPECTED_CEL, enabled: true })]);

    // Its versions (immutable, who and when) and its audit log.
    await row.getByRole('link', { name: CRITERION }).click();
    await page.getByRole('heading', { name: `Criterion: ${CRITERION}` }).waitFor();
    // Written by the form builder, it opens in the form builder again, with its two conditions.
    expect(await page.getByLabel('Resulting CEL').textContent()).toBe(EXPECTED_CEL);
    expect(await page.getByRole('listitem', { name: 'Condition 2' }).getByLabel('Countries').inputValue()).toBe('NG, KP');
    await page.getByRole('tab', { name: 'Versions' }).click();
    const versions = page.locator('.versions-table tbody tr');
    await versions.first().waitFor();
    expect(await versions.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-version')))).toEqual(['2', '1']);
    expect(await versions.first().textContent()).toContain(CUSTOMER.email);
    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.locator('.audit-table tr[data-action="criterion.updated"]', { hasText: 'enabled: false → true' }).waitFor();
    await page.locator('.audit-table tr[data-action="criterion.created"]').waitFor();
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-audit.png`, fullPage: true });
  });

  it('uploads shipments through the upload page: stored, and the bad row named with its line and field', async () => {
    await nav('Fraud').getByRole('link', { name: 'Shipments' }).click();
    await page.getByRole('heading', { name: 'Shipments', exact: true }).waitFor();
    await page.getByLabel('File').setInputFiles({ name: 'today.csv', mimeType: 'text/csv', buffer: Buffer.from(uploadCsv()) });
    await page.getByText('Detected: CSV').waitFor();
    await page.getByRole('button', { name: 'Upload' }).click();
    const answer = page.getByRole('status', { name: 'Upload result' });
    await answer.waitFor();
    expect(await answer.locator('strong').textContent()).toBe('3 stored, 0 duplicates, 1 rejected');
    const bad = answer.getByRole('table', { name: 'Refused rows' }).locator('tbody tr');
    expect(await bad.count()).toBe(1);
    expect(await bad.getAttribute('data-line')).toBe('5');
    expect(await bad.locator('td').nth(1).textContent()).toBe('destination_country');
    await page.locator('.shipments-table tr[data-external-id="U-1"]').waitFor();
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-upload.png`, fullPage: true });
  });

  it('creates a list from pasted items and edits them', async () => {
    await nav('Fraud').getByRole('link', { name: 'Lists' }).click();
    await page.getByRole('heading', { name: 'Lists', exact: true }).waitFor();
    const create = page.getByRole('form', { name: 'New list' });
    await create.getByLabel('Name').fill('blocked_senders');
    // Pasted one a line: blanks and repeats are left out.
    await create.getByLabel('Items').fill('snd-9\nsnd-8\n\nsnd-9\n');
    await create.getByRole('button', { name: 'Create list' }).click();
    const row = page.locator('.lists-table tr[data-list="blocked_senders"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('2');
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'List blocked_senders' });
    await edit.getByText('Used by: no criterion').waitFor();
    await edit.getByLabel(/^Items/).fill('snd-9\nsnd-8\nsnd-7');
    await edit.getByRole('button', { name: 'Save items' }).click();
    await page.locator('.lists-table tr[data-list="blocked_senders"] td:nth-child(2)', { hasText: /^3$/ }).waitFor();
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-lists.png`, fullPage: true });
    const list = (await (await server.api('/api/v1/fraud/lists/blocked_senders', { key: seedKey })).json()) as { items: string[] };
    expect([...list.items].sort()).toEqual(['snd-7', 'snd-8', 'snd-9']);
  });

  it('sees the matches in the inbox without reloading, opens one and marks it as fraud', async () => {
    let loads = 0;
    page.on('load', () => loads++);
    await nav('Fraud').getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('heading', { name: 'Fraud alerts', exact: true }).waitFor();
    const rowOf = (externalId: string) => page.locator('.fraud-alerts-table tbody tr', { has: page.locator('td.mono', { hasText: new RegExp(`^${externalId}$`) }) });
    await rowOf('U-1').waitFor({ timeout: ALERT_TIMEOUT_MS });
    await rowOf('U-2').waitFor({ timeout: ALERT_TIMEOUT_MS });
    expect(await rowOf('U-3').count()).toBe(0);
    expect(await rowOf('U-1').textContent()).toContain(`${CRITERION} v2`);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-inbox.png`, fullPage: true });

    // Acknowledge one: it leaves the open ones.
    await rowOf('U-1').getByRole('button', { name: 'Open' }).click();
    const detail = page.getByRole('complementary', { name: 'Alert' });
    await detail.locator('h2', { hasText: 'U-1' }).waitFor();
    await detail.getByRole('button', { name: 'Acknowledge' }).click();
    await detail.locator('.acked').waitFor();
    await rowOf('U-1').locator('[data-state="acknowledged"]').waitFor();

    await rowOf('U-2').getByRole('button', { name: 'Open' }).click();
    await detail.locator('h2', { hasText: 'U-2' }).waitFor();
    // The values that matched: 12,000 EUR is above 5,000 USD once converted; KP is watched.
    const values = detail.getByRole('table', { name: 'Values that matched' });
    expect(await values.textContent()).toContain('KP');
    expect(await detail.locator('.shipment-fields').textContent()).toContain('2 Pyongyang Street');
    await detail.getByLabel('Note').fill('confirmed with the sender bank');
    await detail.getByRole('button', { name: 'Mark as fraud' }).click();
    await detail.locator('.verdict[data-verdict="fraud"]').waitFor();
    expect(await detail.locator('.verdict').textContent()).toContain('confirmed with the sender bank');
    await rowOf('U-2').locator('[data-state="reviewed"]').waitFor();
    await page.screenshot({ path: `${SCREENSHOT_DIR}/vigil-fraud-verdict.png`, fullPage: true });
    expect(loads).toBe(0);

    const { alerts } = (await (await server.api('/api/v1/fraud/alerts?status=reviewed', { key: seedKey })).json()) as { alerts: { external_id: string; verdict: string; verdict_by: string }[] };
    expect(alerts).toEqual([expect.objectContaining({ external_id: 'U-2', verdict: 'fraud', verdict_by: CUSTOMER.email })]);

    // The criterion's precision counts the verdict.
    await nav('Fraud').getByRole('link', { name: 'Criteria' }).click();
    const row = page.locator('.criteria-table tbody tr', { hasText: CRITERION });
    await row.getByText('100 % (1 of 1 reviewed)').waitFor();
  });

  it('logged no browser errors and no failed requests', () => {
    expect(session.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
    expect(session.failedRequests).toEqual([]);
  });
});
