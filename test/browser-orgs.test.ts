import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, logIn, openBrowser, SCREENSHOT_DIR, type BrowserSession } from './support/browser.js';
import { invitationTokenIn, startMailSink, type MailSink } from './support/mail.js';
import { eventually, startTestServer, type TestServer } from './support/server.js';

/**
 * Invite → accept → sign in, in a real browser: the platform administrator creates an
 * organisation and invites a user from the dashboard (the link e-mailed through a real SMTP peer);
 * the invited person opens the link in another browser, chooses a password and lands in their
 * organisation's dashboard; they sign in again with it later. The admin then manages API keys and
 * reads the admin log.
 */
/** Script errors, without the browser's own note on each refused request (those are checked as failedRequests). */
const scriptErrors = (s: BrowserSession) => s.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'));

describe.skipIf(!chromiumInstalled)('organisations and invitations in Chromium', () => {
  let server: TestServer;
  let mail: MailSink;
  let admin: BrowserSession;
  let invitee: BrowserSession;
  beforeAll(async () => {
    mail = await startMailSink();
    server = await startTestServer('pglite', { VIGIL_SMTP_URL: mail.url });
    admin = await openBrowser({});
    invitee = await openBrowser({});
  });
  afterAll(async () => {
    await invitee?.close();
    await admin?.close();
    await server?.dispose();
    await mail?.close();
  });

  it('a platform admin creates an organisation and invites a user, who accepts, is signed in to it, and signs in again later', async () => {
    const page = admin.page;
    await logIn(page, server);
    await page.getByRole('link', { name: 'Organisations' }).click();
    await page.getByRole('heading', { name: 'Organisations' }).waitFor();
    await page.getByLabel('Name').fill('Acme Logistics');
    await page.getByRole('button', { name: 'Create' }).click();
    const row = page.locator('tr', { hasText: 'Acme Logistics' });
    await row.getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('E-mail').fill('ana@acme.example');
    await page.getByLabel('Role').selectOption('analyst');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation e-mailed to ana@acme.example.').waitFor();
    await page.locator('tr[data-invitation="ana@acme.example"]').waitFor();

    const message = await eventually(async () => mail.messages.find((m) => m.to.includes('ana@acme.example')));
    const token = invitationTokenIn(message.raw);
    expect(token).toBeTruthy();

    // The invitee, in another browser: the link, a password, and the dashboard of Acme.
    const p2 = invitee.page;
    await p2.goto(`${server.url}/accept-invitation#token=${token}`);
    await p2.getByLabel('Password (at least 8 characters)').fill('a long enough password');
    await p2.getByLabel('Password again').fill('a long enough password');
    await p2.getByRole('button', { name: 'Join and sign in' }).click();
    await p2.getByRole('heading', { name: 'Checks', exact: true }).waitFor();
    expect(await p2.locator('.topbar .org').textContent()).toBe('Acme Logistics');
    expect(new URL(p2.url()).hash).toBe('');
    // An analyst: no administration in the menu, and none of the default organisation's checks.
    expect(await p2.getByRole('link', { name: 'Organisations' }).count()).toBe(0);
    expect(await p2.getByRole('link', { name: 'Members' }).count()).toBe(0);
    await p2.screenshot({ path: `${SCREENSHOT_DIR}/vigil-orgs-accepted.png` });

    // Later: log out, sign in with the chosen password.
    await p2.getByRole('button', { name: 'Log out' }).click();
    await p2.getByLabel('Email').fill('ana@acme.example');
    await p2.getByLabel('Password').fill('a long enough password');
    await p2.getByRole('button', { name: 'Sign in' }).click();
    await p2.getByRole('heading', { name: 'Checks', exact: true }).waitFor();
    expect(await p2.locator('.topbar .org').textContent()).toBe('Acme Logistics');

    // The admin sees the member now, and not the invitation.
    await page.reload();
    await page.locator('tr[data-member="ana@acme.example"]').waitFor();
    expect(await page.locator('tr[data-invitation]').count()).toBe(0);

    expect(scriptErrors(admin)).toEqual([]);
    expect(scriptErrors(invitee)).toEqual([]);
    // The only refusals: the signed-out /me checks of a browser before anyone signed in.
    expect(invitee.failedRequests.filter((r) => r !== '401 GET /api/v1/me')).toEqual([]);
  });

  it('API keys are created (shown once) and revoked in the dashboard; the admin log shows it all', async () => {
    const page = admin.page;
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByLabel('Name').fill('log shipper');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.locator('code.new-api-key').textContent();
    expect(key).toMatch(/^vgl_/);
    expect((await server.api('/api/v1/checks', { key })).status).toBe(200);
    page.once('dialog', (d) => void d.accept());
    await page.locator('tr[data-key-name="log shipper"]').getByRole('button', { name: 'Revoke' }).click();
    await eventually(async () => (await page.locator('tr[data-key-name="log shipper"]').count()) === 0);
    expect((await server.api('/api/v1/checks', { key })).status).toBe(401);

    await page.getByRole('link', { name: 'Admin log' }).click();
    await page.locator('tr[data-action="api_key.revoke"]').waitFor();
    const actions = await page.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(actions).toEqual(['api_key.revoke', 'api_key.create', 'invitation.accept', 'invitation.create', 'org.create']);
    expect(await page.locator('tr[data-action="invitation.accept"] td:nth-child(2)').textContent()).toBe('user:ana@acme.example');
    expect(scriptErrors(admin)).toEqual([]);
    expect(admin.failedRequests.filter((r) => r !== '401 GET /api/v1/me')).toEqual([]);
  });
});
