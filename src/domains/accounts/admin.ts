import { conflict, forbidden, notFound } from '../../platform/errors.js';
import { newId, randomToken, sha256 } from '../../platform/ids.js';
import type { Db } from '../../platform/store/index.js';
import type {
  AdminActionView,
  CreatedApiKey,
  CreatedInvitation,
  InvitationView,
  MemberList,
  MemberView,
  OrgView,
  UserRole,
} from '../../contracts/accounts.js';
import { createApiKey, createOrg, createUser, openSession, revokeApiKey, type Principal, type SessionStart } from './accounts.js';
import type { InvitationMailer } from './mailer.js';
import { hashPassword } from './password.js';
import * as store from './store.js';
import type { MemberRole } from './tables.js';

/**
 * Platform and organisation administration: organisations (platform administrators only), their
 * members and invitations (platform administrators, or the organisation's own admins), and the
 * admin action log.
 *
 * Invariants:
 * - Every change and its `admin_actions` record are written in one transaction: nothing changes
 *   without its record, and no record tells of a change that did not happen.
 * - Another organisation's id is answered "not found" to everyone but platform administrators, so
 *   ids of other customers cannot be probed; within one's own organisation, lacking the admin role
 *   is "forbidden".
 * - An organisation keeps at least one admin: the last one can be neither demoted nor removed.
 * - Only platform administrators change a platform administrator's membership.
 * - An invitation token is stored as its SHA-256 only, works once (claimed by one UPDATE) and
 *   expires after INVITATION_TTL_MS.
 * - Roles: `analyst` in these routes is the stored role `member` (see contracts/accounts.ts).
 */

/** Who acts: an authenticated principal, or the CLI (someone with direct access to the database). */
export type Actor = Principal | { cli: string };

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

const iso = (d: Date | string): string => new Date(d).toISOString();
const toStored = (role: UserRole): MemberRole => (role === 'analyst' ? 'member' : role);
const toUserRole = (role: MemberRole): UserRole => (role === 'member' ? 'analyst' : role);
const isCli = (a: Actor): a is { cli: string } => 'cli' in a;

/** The name the action log gives an actor: `user:<e-mail>`, `api-key:<name>`, or `cli:<who>`. */
async function actorName(db: Db, a: Actor): Promise<string> {
  if (isCli(a)) return `cli:${a.cli}`;
  if (a.userId) return `user:${(await store.selectUserEmail(db, a.userId)) ?? a.userId}`;
  if (a.apiKeyId) return `api-key:${(await store.selectApiKeyName(db, a.apiKeyId)) ?? a.apiKeyId}`;
  return 'unknown';
}

function requirePlatformAdmin(a: Actor): void {
  if (!isCli(a) && !a.platformAdmin) throw forbidden('Only platform administrators can manage organisations.');
}

/** May the actor administer this organisation's members? Throws not found or forbidden (see the invariants). */
async function requireOrgAdmin(db: Db, a: Actor, orgId: string): Promise<{ id: string; name: string }> {
  const inOwnOrg = !isCli(a) && a.orgId === orgId;
  if (!isCli(a) && !a.platformAdmin && !inOwnOrg) throw notFound('Organisation');
  const org = await store.selectOrg(db, orgId);
  if (!org) throw notFound('Organisation');
  if (!isCli(a) && !a.platformAdmin && a.role !== 'admin') throw forbidden('Managing members needs an admin of this organisation.');
  return { id: org.id, name: org.name };
}

async function record(db: Db, a: Actor, action: Omit<store.AdminAction, 'actor'>): Promise<void> {
  await store.insertAdminAction(db, { ...action, actor: await actorName(db, a) });
}

// --- organisations -----------------------------------------------------------------------------

export async function listOrgs(db: Db, a: Actor): Promise<OrgView[]> {
  requirePlatformAdmin(a);
  const rows = await store.selectOrgsWithCounts(db);
  return rows.map((r) => ({ id: r.id, name: r.name, created_at: iso(r.created_at), members: Number(r.members) }));
}

export async function createOrgAs(db: Db, a: Actor, name: string): Promise<OrgView> {
  requirePlatformAdmin(a);
  return store.inTransaction(db, async (trx) => {
    const org = await createOrg(trx, name);
    await record(trx, a, { orgId: org.id, action: 'org.create', target: `org:${org.name}`, details: { name } });
    const row = await store.selectOrg(trx, org.id);
    return { id: org.id, name: org.name, created_at: iso(row?.created_at ?? new Date()), members: 0 };
  });
}

/** Finds an organisation by id or by its (unique-enough) name, for the CLI. */
export async function resolveOrg(db: Db, idOrName: string): Promise<{ id: string; name: string }> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName)) {
    const row = await store.selectOrg(db, idOrName);
    if (row) return { id: row.id, name: row.name };
  }
  const rows = await store.selectOrgsByName(db, idOrName);
  if (rows.length > 1) throw conflict(`${rows.length} organisations are named ${idOrName}: give its id`);
  if (!rows[0]) throw notFound(`Organisation ${idOrName}`);
  return { id: rows[0].id, name: rows[0].name };
}

export async function renameOrgAs(db: Db, a: Actor, id: string, name: string): Promise<OrgView> {
  requirePlatformAdmin(a);
  return store.inTransaction(db, async (trx) => {
    const before = await store.selectOrg(trx, id);
    if (!before || !(await store.renameOrg(trx, id, name))) throw notFound('Organisation');
    await record(trx, a, { orgId: id, action: 'org.rename', target: `org:${name}`, details: { from: before.name, to: name } });
    const view = (await listOrgsIn(trx)).find((o) => o.id === id);
    if (!view) throw notFound('Organisation');
    return view;
  });
}

async function listOrgsIn(db: Db): Promise<OrgView[]> {
  return (await store.selectOrgsWithCounts(db)).map((r) => ({ id: r.id, name: r.name, created_at: iso(r.created_at), members: Number(r.members) }));
}

/** Removes an organisation and everything in it. Nobody removes the organisation they are signed in to. */
export async function removeOrgAs(db: Db, a: Actor, id: string): Promise<void> {
  requirePlatformAdmin(a);
  if (!isCli(a) && a.orgId === id) throw conflict('You cannot remove the organisation you are signed in to.');
  await store.inTransaction(db, async (trx) => {
    const before = await store.selectOrg(trx, id);
    if (!before || !(await store.deleteOrg(trx, id))) throw notFound('Organisation');
    await record(trx, a, { orgId: id, action: 'org.remove', target: `org:${before.name}`, details: { name: before.name } });
  });
}

// --- members -----------------------------------------------------------------------------------

export async function listMembers(db: Db, a: Actor, orgId: string): Promise<MemberList> {
  await requireOrgAdmin(db, a, orgId);
  const [members, invitations] = await Promise.all([store.selectMembers(db, orgId), store.selectPendingInvitations(db, orgId)]);
  return {
    members: members.map((m) => ({ user_id: m.id, email: m.email, role: toUserRole(m.role), platform_admin: m.platform_admin, created_at: iso(m.created_at) })),
    invitations: invitations.map(invitationView),
  };
}

const invitationView = (r: { id: string; email: string; role: MemberRole; invited_by: string; created_at: Date; expires_at: Date }): InvitationView => ({
  id: r.id,
  email: r.email,
  role: toUserRole(r.role),
  invited_by: r.invited_by,
  created_at: iso(r.created_at),
  expires_at: iso(r.expires_at),
});

/** Adds a user with an initial password. */
export async function addMember(db: Db, a: Actor, orgId: string, input: { email: string; role: UserRole; password: string }): Promise<MemberView> {
  await requireOrgAdmin(db, a, orgId);
  return store.inTransaction(db, async (trx) => {
    const user = await createUser(trx, orgId, input.email, input.password, toStored(input.role));
    await record(trx, a, { orgId, action: 'member.add', target: `user:${user.email}`, details: { role: input.role, with: 'password' } });
    return { user_id: user.id, email: user.email, role: input.role, platform_admin: false, created_at: new Date().toISOString() };
  });
}

/** An organisation's admin may not lock a platform administrator out (their membership is how they sign in). */
function mayChange(a: Actor, member: { platform_admin: boolean }): void {
  if (member.platform_admin && !isCli(a) && !a.platformAdmin) throw forbidden("Only platform administrators change a platform administrator's membership.");
}

async function keepAnAdmin(trx: Db, orgId: string, member: { role: MemberRole }, nextRole: MemberRole | undefined): Promise<void> {
  if (member.role !== 'admin' || nextRole === 'admin') return;
  if ((await store.countAdminsLocked(trx, orgId)) <= 1) throw conflict('An organisation keeps at least one admin: make someone else admin first.');
}

export async function changeMemberRole(db: Db, a: Actor, orgId: string, userId: string, role: UserRole): Promise<MemberView> {
  await requireOrgAdmin(db, a, orgId);
  return store.inTransaction(db, async (trx) => {
    const member = await store.selectMember(trx, orgId, userId);
    if (!member) throw notFound('Member');
    mayChange(a, member);
    await keepAnAdmin(trx, orgId, member, toStored(role));
    await store.updateMemberRole(trx, orgId, userId, toStored(role));
    await record(trx, a, { orgId, action: 'member.role', target: `user:${member.email}`, details: { from: toUserRole(member.role), to: role } });
    const view = (await store.selectMembers(trx, orgId)).find((m) => m.id === userId);
    if (!view) throw notFound('Member');
    return { user_id: view.id, email: view.email, role: toUserRole(view.role), platform_admin: view.platform_admin, created_at: iso(view.created_at) };
  });
}

export async function removeMember(db: Db, a: Actor, orgId: string, userId: string): Promise<void> {
  await requireOrgAdmin(db, a, orgId);
  await store.inTransaction(db, async (trx) => {
    const member = await store.selectMember(trx, orgId, userId);
    if (!member) throw notFound('Member');
    mayChange(a, member);
    await keepAnAdmin(trx, orgId, member, undefined);
    await store.deleteMember(trx, orgId, userId);
    await record(trx, a, { orgId, action: 'member.remove', target: `user:${member.email}`, details: { role: toUserRole(member.role) } });
  });
}

// --- invitations -------------------------------------------------------------------------------

/** Where an invitation link points and how it may be sent. */
export interface InvitationDelivery {
  baseUrl: string;
  /** Undefined when no SMTP server is configured: the link is then returned to the administrator. */
  mailer: InvitationMailer | undefined;
}

/** The accept page; the token rides in the fragment, which browsers never send to servers (or their logs). */
export const invitationUrl = (baseUrl: string, token: string) => `${baseUrl.replace(/\/$/, '')}/accept-invitation#token=${token}`;

export async function invite(db: Db, a: Actor, orgId: string, input: { email: string; role: UserRole }, delivery: InvitationDelivery): Promise<CreatedInvitation> {
  const org = await requireOrgAdmin(db, a, orgId);
  const email = input.email.trim().toLowerCase();
  const token = randomToken(32);
  const view = await store.inTransaction(db, async (trx) => {
    if (await store.selectUserIdByEmail(trx, email)) throw conflict(`A user with e-mail ${email} already exists`);
    const id = newId();
    const invitedBy = await actorName(trx, a);
    const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
    const { created_at } = await store.insertInvitation(trx, { id, orgId, email, role: toStored(input.role), tokenHash: sha256(token), invitedBy, expiresAt });
    await store.insertAdminAction(trx, { orgId, actor: invitedBy, action: 'invitation.create', target: `user:${email}`, details: { role: input.role } });
    return invitationView({ id, email, role: toStored(input.role), invited_by: invitedBy, created_at, expires_at: expiresAt });
  });
  const url = invitationUrl(delivery.baseUrl, token);
  if (!delivery.mailer) return { ...view, emailed: false, email_error: 'No SMTP server is configured (VIGIL_SMTP_URL): pass the link on yourself.', url };
  try {
    await delivery.mailer.send({
      to: email,
      subject: `You are invited to ${org.name} on Vigil`,
      text: [
        `${view.invited_by.replace(/^\w+(-\w+)?:/, '')} invited you to the organisation ${org.name} on Vigil, as ${input.role}.`,
        '',
        'Choose your password and sign in here:',
        url,
        '',
        `The link works once, until ${view.expires_at}.`,
      ].join('\n'),
    });
    return { ...view, emailed: true, email_error: null, url: null };
  } catch (error) {
    return { ...view, emailed: false, email_error: `Sending failed: ${error instanceof Error ? error.message : String(error)}`, url };
  }
}

export async function revokeInvitationAs(db: Db, a: Actor, orgId: string, invitationId: string): Promise<void> {
  await requireOrgAdmin(db, a, orgId);
  await store.inTransaction(db, async (trx) => {
    const revoked = await store.revokeInvitation(trx, orgId, invitationId);
    if (!revoked) throw notFound('Invitation');
    await record(trx, a, { orgId, action: 'invitation.revoke', target: `user:${revoked.email}` });
  });
}

/**
 * Accepts an invitation: the user is created with the chosen password and joins the organisation
 * with the invited role, the invitation is used up, and a session opens. A wrong, used, revoked or
 * expired token is "not found", without saying which.
 */
export async function acceptInvitation(db: Db, token: string, password: string): Promise<{ session: SessionStart; email: string; org: { id: string; name: string } }> {
  // Hashed before the transaction: scrypt is slow, and the claim's row lock should not wait for it.
  const passwordHash = await hashPassword(password);
  return store.inTransaction(db, async (trx) => {
    const inv = await store.claimInvitation(trx, sha256(token));
    if (!inv) throw notFound('Invitation (or it was used, revoked or has expired)');
    if (await store.selectUserIdByEmail(trx, inv.email)) throw conflict(`A user with e-mail ${inv.email} already exists: sign in instead.`);
    const org = await store.selectOrg(trx, inv.org_id);
    if (!org) throw notFound('Organisation');
    const userId = newId();
    await store.insertMember(trx, { id: userId, email: inv.email, passwordHash, orgId: inv.org_id, role: inv.role });
    await store.insertAdminAction(trx, { orgId: inv.org_id, actor: `user:${inv.email}`, action: 'invitation.accept', target: `user:${inv.email}`, details: { role: toUserRole(inv.role) } });
    const session = await openSession(trx, { userId, orgId: inv.org_id, role: inv.role, platformAdmin: false });
    return { session, email: inv.email, org: { id: org.id, name: org.name } };
  });
}

// --- API keys, with their record -----------------------------------------------------------------

export async function createApiKeyAs(db: Db, p: Principal, name: string, role: MemberRole): Promise<CreatedApiKey> {
  return store.inTransaction(db, async (trx) => {
    const key = await createApiKey(trx, p.orgId, name, role);
    await record(trx, p, { orgId: p.orgId, action: 'api_key.create', target: `api-key:${name}`, details: { role, prefix: key.prefix } });
    return key;
  });
}

export async function revokeApiKeyAs(db: Db, p: Principal, id: string): Promise<{ credential: string }> {
  return store.inTransaction(db, async (trx) => {
    const name = await store.selectApiKeyName(trx, id);
    const revoked = await revokeApiKey(trx, p.orgId, id);
    await record(trx, p, { orgId: p.orgId, action: 'api_key.revoke', target: `api-key:${name ?? id}` });
    return revoked;
  });
}

// --- the log -----------------------------------------------------------------------------------

/** Platform administrators see every record (or one organisation's); an organisation's admins see their organisation's. */
export async function listAdminActions(db: Db, p: Principal, q: { org_id?: string | undefined; limit: number; before?: number | undefined }): Promise<AdminActionView[]> {
  if (!p.platformAdmin && p.role !== 'admin') throw forbidden('The admin action log needs an admin of this organisation.');
  const orgId = p.platformAdmin ? q.org_id : p.orgId;
  const rows = await store.selectAdminActions(db, { orgId, limit: q.limit, before: q.before });
  return rows.map((r) => ({ id: Number(r.id), at: iso(r.at), org_id: r.org_id, actor: r.actor, action: r.action, target: r.target, details: r.details }));
}
