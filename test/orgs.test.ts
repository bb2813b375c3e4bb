/**
 * Platform administration end to end (issue 10, "Customers and their users"): a platform
 * administrator creates an organisation and invites a user (the link e-mailed through a real SMTP
 * peer), the user accepts, is signed in and sees only their organisation; others get 403 or 404;
 * members, roles and API keys are managed; the admin action log records it all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';
import { invitationTokenIn, startMailSink, type MailSink } from './support/mail.js';

/** A browser's cookies for the session an answer opened, and its CSRF header. */
function sessionOf(res: Response): { cookie: string; csrf: string } {
  const jar: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [name, ...value] = pair!.split('=');
    jar[name!.trim()] = value.join('=');
  }
  return { cookie: `vigil_session=${jar.vigil_session}; vigil_csrf=${jar.vigil_csrf}`, csrf: jar.vigil_csrf! };
}

describe.each(STORE_KINDS)('organisations, members, invitations and the admin log on %s', (kind) => {
  let server: TestServer;
  let mail: MailSink;
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    mail = await startMailSink();
    server = await startTestServer(kind, { VIGIL_SMTP_URL: mail.url, VIGIL_SMTP_FROM: 'Vigil <vigil@example.com>' });
  });
  afterAll(async () => {
    await server?.dispose();
    await mail?.close();
  });
  const run = it.skipIf(!storeAvailable(kind));

  run('a platform admin creates an organisation and invites a user by e-mail; the user accepts, is signed in and sees only their organisation', async () => {
    const me = (await (await server.api('/api/v1/me')).json()) as { platform_admin: boolean; org: { id: string } };
    expect(me.platform_admin).toBe(true);

    const created = await server.api('/api/v1/orgs', { method: 'POST', json: { name: 'Acme Logistics' } });
    expect(created.status).toBe(201);
    const org = (await created.json()) as { id: string; name: string; members: number };
    expect(org).toMatchObject({ name: 'Acme Logistics', members: 0 });

    const invited = await server.api(`/api/v1/orgs/${org.id}/invitations`, { method: 'POST', json: { email: 'Ana@Acme.example', role: 'analyst' } });
    expect(invited.status).toBe(201);
    const invitation = (await invited.json()) as { emailed: boolean; url: string | null; email: string; role: string };
    // E-mailed: only the recipient gets the link.
    expect(invitation).toMatchObject({ emailed: true, url: null, email: 'ana@acme.example', role: 'analyst' });
    const message = await eventually(async () => mail.messages.find((m) => m.to.includes('ana@acme.example')));
    expect(message.raw).toContain('Acme Logistics');
    const token = invitationTokenIn(message.raw);
    expect(token).toBeTruthy();

    const pending = (await (await server.api(`/api/v1/orgs/${org.id}/members`)).json()) as { invitations: { email: string }[] };
    expect(pending.invitations.map((i) => i.email)).toEqual(['ana@acme.example']);

    const short = await fetch(`${server.url}/api/v1/invitations/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'short' }) });
    expect(short.status).toBe(400);
    const accepted = await fetch(`${server.url}/api/v1/invitations/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'a long enough password' }),
    });
    expect(accepted.status).toBe(201);
    expect(await accepted.json()).toMatchObject({ ok: true, email: 'ana@acme.example', org: { id: org.id, name: 'Acme Logistics' } });
    const ana = sessionOf(accepted);
    // Signed in, in Acme, as analyst (stored as member).
    const anaMe = (await (await fetch(`${server.url}/api/v1/me`, { headers: { cookie: ana.cookie } })).json()) as { org: { id: string }; role: string; platform_admin: boolean };
    expect(anaMe).toMatchObject({ org: { id: org.id }, role: 'member', platform_admin: false });

    // The link works once.
    const again = await fetch(`${server.url}/api/v1/invitations/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'another long password' }) });
    expect(again.status).toBe(404);

    // Only their organisation: a check made in the default organisation is not theirs to see.
    expect((await server.api('/api/v1/checks', { method: 'POST', json: { name: 'default org check' } })).status).toBe(201);
    const anaChecks = (await (await fetch(`${server.url}/api/v1/checks`, { headers: { cookie: ana.cookie } })).json()) as { checks: unknown[] };
    expect(anaChecks.checks).toEqual([]);
    const write = await fetch(`${server.url}/api/v1/checks`, {
      method: 'POST',
      headers: { cookie: ana.cookie, 'x-csrf-token': ana.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'acme check' }),
    });
    expect(write.status).toBe(201);
    const mine = (await (await server.api('/api/v1/checks')).json()) as { checks: { name: string }[] };
    expect(mine.checks.map((c) => c.name)).not.toContain('acme check');

    // A password log-in works too.
    const login = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ana@acme.example', password: 'a long enough password' }) });
    expect(login.status).toBe(201);

    // She is no platform admin and no org admin: 403 on organisations, 403 on her org's members, 404 on another org's.
    const asAna = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { cookie: ana.cookie, 'x-csrf-token': ana.csrf, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    const refused = await asAna('/api/v1/orgs', { method: 'POST', body: JSON.stringify({ name: 'mine' }) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('Only platform administrators can manage organisations.');
    expect((await asAna('/api/v1/orgs')).status).toBe(403);
    expect((await asAna(`/api/v1/orgs/${org.id}`, { method: 'DELETE' })).status).toBe(403);
    expect((await asAna(`/api/v1/orgs/${org.id}/members`)).status).toBe(403);
    expect((await asAna(`/api/v1/orgs/${me.org.id}/members`)).status).toBe(404);
    expect((await asAna('/api/v1/admin-actions')).status).toBe(403);
  });

  run('members: initial password, roles (last admin kept), removal; org admins manage their own organisation only; keys are logged', async () => {
    const org = (await (await server.api('/api/v1/orgs', { method: 'POST', json: { name: 'Beta Freight' } })).json()) as { id: string };
    const boss = await server.api(`/api/v1/orgs/${org.id}/members`, { method: 'POST', json: { email: 'boss@beta.example', role: 'admin', password: 'initial password 1' } });
    expect(boss.status).toBe(201);
    const bossView = (await boss.json()) as { user_id: string; role: string };
    expect(bossView.role).toBe('admin');
    expect((await server.api(`/api/v1/orgs/${org.id}/members`, { method: 'POST', json: { email: 'boss@beta.example', role: 'admin', password: 'initial password 1' } })).status).toBe(409);
    expect((await server.api(`/api/v1/orgs/${org.id}/members`, { method: 'POST', json: { email: 'x@beta.example', role: 'owner', password: 'initial password 1' } })).status).toBe(400);

    const login = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'boss@beta.example', password: 'initial password 1' }) });
    const s = sessionOf(login);
    const asBoss = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      fetch(`${server.url}${path}`, {
        ...init,
        body: init.json === undefined ? init.body : JSON.stringify(init.json),
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
      });

    // The org admin invites without SMTP being needed for the answer, adds a read-only user, and changes roles.
    const viewer = (await (await asBoss(`/api/v1/orgs/${org.id}/members`, { method: 'POST', json: { email: 'viewer@beta.example', role: 'read-only', password: 'initial password 2' } })).json()) as { user_id: string };
    const promoted = await asBoss(`/api/v1/orgs/${org.id}/members/${viewer.user_id}`, { method: 'PATCH', json: { role: 'analyst' } });
    expect(promoted.status).toBe(200);
    expect(await promoted.json()).toMatchObject({ role: 'analyst', email: 'viewer@beta.example' });
    // The last admin cannot step down or be removed.
    expect((await asBoss(`/api/v1/orgs/${org.id}/members/${bossView.user_id}`, { method: 'PATCH', json: { role: 'read-only' } })).status).toBe(409);
    expect((await asBoss(`/api/v1/orgs/${org.id}/members/${bossView.user_id}`, { method: 'DELETE' })).status).toBe(409);
    // Not another organisation's members, nor organisations themselves.
    const defaultOrg = ((await (await server.api('/api/v1/me')).json()) as { org: { id: string } }).org.id;
    expect((await asBoss(`/api/v1/orgs/${defaultOrg}/members`)).status).toBe(404);
    expect((await asBoss(`/api/v1/orgs/${org.id}`, { method: 'PATCH', json: { name: 'Mine now' } })).status).toBe(403);

    // API keys of their organisation.
    const key = (await (await asBoss('/api/v1/api-keys', { method: 'POST', json: { name: 'beta ci', role: 'member' } })).json()) as { id: string; key: string };
    expect((await asBoss(`/api/v1/api-keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);

    expect((await asBoss(`/api/v1/orgs/${org.id}/members/${viewer.user_id}`, { method: 'DELETE' })).status).toBe(204);
    const members = (await (await asBoss(`/api/v1/orgs/${org.id}/members`)).json()) as { members: { email: string }[] };
    expect(members.members.map((m) => m.email)).toEqual(['boss@beta.example']);
    // The removed user is gone (they belonged nowhere else): their log-in fails.
    const gone = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'viewer@beta.example', password: 'initial password 2' }) });
    expect(gone.status).toBe(401);

    // The org admin's log is their organisation's only, newest first.
    const log = (await (await asBoss('/api/v1/admin-actions')).json()) as { actions: { org_id: string; actor: string; action: string; target: string; details: Record<string, unknown> }[] };
    expect(log.actions.every((a) => a.org_id === org.id)).toBe(true);
    expect(log.actions.map((a) => a.action)).toEqual(['member.remove', 'api_key.revoke', 'api_key.create', 'member.role', 'member.add', 'member.add', 'org.create']);
    expect(log.actions.find((a) => a.action === 'member.role')).toMatchObject({ actor: 'user:boss@beta.example', target: 'user:viewer@beta.example', details: { from: 'read-only', to: 'analyst' } });
    expect(log.actions.find((a) => a.action === 'org.create')).toMatchObject({ actor: 'api-key:VIGIL_ADMIN_TOKEN' });
  });

  run('a platform admin renames and removes organisations; the log keeps the record; invitations without SMTP return the link', async () => {
    const org = (await (await server.api('/api/v1/orgs', { method: 'POST', json: { name: 'Gamma' } })).json()) as { id: string };
    expect((await server.api(`/api/v1/orgs/${org.id}`, { method: 'PATCH', json: { name: '' } })).status).toBe(400);
    const renamed = await server.api(`/api/v1/orgs/${org.id}`, { method: 'PATCH', json: { name: 'Gamma Cargo' } });
    expect(await renamed.json()).toMatchObject({ id: org.id, name: 'Gamma Cargo' });
    const list = (await (await server.api('/api/v1/orgs')).json()) as { orgs: { name: string }[] };
    expect(list.orgs.map((o) => o.name)).toEqual(expect.arrayContaining(['Default', 'Acme Logistics', 'Beta Freight', 'Gamma Cargo']));

    const me = (await (await server.api('/api/v1/me')).json()) as { org: { id: string } };
    expect((await server.api(`/api/v1/orgs/${me.org.id}`, { method: 'DELETE' })).status).toBe(409);
    expect((await server.api(`/api/v1/orgs/${org.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await server.api(`/api/v1/orgs/${org.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await server.api(`/api/v1/orgs/${org.id}/members`)).status).toBe(404);

    const log = (await (await server.api(`/api/v1/admin-actions?org_id=${org.id}`)).json()) as { actions: { action: string; details: Record<string, unknown> }[] };
    expect(log.actions.map((a) => a.action)).toEqual(['org.remove', 'org.rename', 'org.create']);
    expect(log.actions[1]!.details).toEqual({ from: 'Gamma', to: 'Gamma Cargo' });
    const all = (await (await server.api('/api/v1/admin-actions')).json()) as { actions: { action: string; actor: string }[] };
    expect(all.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['invitation.create', 'invitation.accept', 'org.remove']));
    expect(all.actions.find((a) => a.action === 'invitation.accept')?.actor).toBe('user:ana@acme.example');
  });

  run('without SMTP the invitation link is returned to the administrator; revoked links do not work', async () => {
    const plain = await startTestServer(kind);
    try {
      const org = (await (await plain.api('/api/v1/orgs', { method: 'POST', json: { name: 'Delta' } })).json()) as { id: string };
      const inv = (await (await plain.api(`/api/v1/orgs/${org.id}/invitations`, { method: 'POST', json: { email: 'd@delta.example', role: 'read-only' } })).json()) as {
        id: string;
        emailed: boolean;
        url: string;
        email_error: string;
      };
      expect(inv.emailed).toBe(false);
      expect(inv.email_error).toMatch(/VIGIL_SMTP_URL/);
      expect(inv.url).toMatch(new RegExp(`^${plain.url}/accept-invitation#token=`));
      expect((await plain.api(`/api/v1/orgs/${org.id}/invitations`, { method: 'POST', json: { email: ADMIN_EMAIL, role: 'admin' } })).status).toBe(409);
      expect((await plain.api(`/api/v1/orgs/${org.id}/invitations/${inv.id}`, { method: 'DELETE' })).status).toBe(204);
      const accept = (token: string | undefined) =>
        fetch(`${plain.url}/api/v1/invitations/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'a long enough password' }) });
      expect((await accept(inv.url.split('#token=')[1])).status).toBe(404);

      // An expired link does not work either.
      const late = (await (await plain.api(`/api/v1/orgs/${org.id}/invitations`, { method: 'POST', json: { email: 'late@delta.example' } })).json()) as { id: string; url: string };
      await plain.ctx.db.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', late.id).execute();
      expect((await accept(late.url.split('#token=')[1])).status).toBe(404);

      // Two accepts of one link at once: one member, one refusal.
      const twice = (await (await plain.api(`/api/v1/orgs/${org.id}/invitations`, { method: 'POST', json: { email: 'twice@delta.example' } })).json()) as { url: string };
      const token = twice.url.split('#token=')[1];
      const statuses = (await Promise.all([accept(token), accept(token)])).map((r) => r.status).sort();
      expect(statuses).toEqual([201, 404]);
      const members = (await (await plain.api(`/api/v1/orgs/${org.id}/members`)).json()) as { members: { email: string; role: string }[] };
      expect(members.members).toEqual([expect.objectContaining({ email: 'twice@delta.example', role: 'analyst' })]);

      // An organisation's admin cannot lock a platform administrator out of it.
      const me = (await (await plain.api('/api/v1/me')).json()) as { org: { id: string }; user: null };
      const defaultMembers = (await (await plain.api(`/api/v1/orgs/${me.org.id}/members`)).json()) as { members: { user_id: string; platform_admin: boolean }[] };
      const platformAdmin = defaultMembers.members.find((m) => m.platform_admin)!;
      expect((await plain.api(`/api/v1/orgs/${me.org.id}/members`, { method: 'POST', json: { email: 'second@default.example', role: 'admin', password: 'initial password 3' } })).status).toBe(201);
      const login = await fetch(`${plain.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'second@default.example', password: 'initial password 3' }) });
      const s = sessionOf(login);
      const removal = await fetch(`${plain.url}/api/v1/orgs/${me.org.id}/members/${platformAdmin.user_id}`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
      expect(removal.status).toBe(403);
    } finally {
      await plain.dispose();
    }
  });
});
