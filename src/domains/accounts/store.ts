import { sql, type Selectable } from 'kysely';
import { ownTables, type Db } from '../../platform/store/index.js';
import type { AccountsTables, MemberRole, OrgsTable } from './tables.js';

/**
 * All SQL of the accounts domain: organisations, users, memberships, API keys, sessions and the
 * per-account log-in throttle. Each function takes the connection or the caller's transaction.
 */

const tables = (db: Db) => ownTables<AccountsTables>(db);

export type OrgRow = Selectable<OrgsTable>;

// --- organisations -----------------------------------------------------------------------------

export async function insertOrg(db: Db, org: { id: string; name: string; pingKey: string }): Promise<void> {
  await tables(db).insertInto('orgs').values({ id: org.id, name: org.name, ping_key: org.pingKey }).execute();
}

export async function selectOrg(db: Db, id: string): Promise<OrgRow | undefined> {
  return tables(db).selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function selectOrgByPingKey(db: Db, pingKey: string): Promise<OrgRow | undefined> {
  return tables(db).selectFrom('orgs').selectAll().where('ping_key', '=', pingKey).executeTakeFirst();
}

export async function selectFirstOrg(db: Db): Promise<OrgRow | undefined> {
  return tables(db).selectFrom('orgs').selectAll().orderBy('created_at').limit(1).executeTakeFirst();
}

// --- users -------------------------------------------------------------------------------------

export async function selectUserIdByEmail(db: Db, email: string): Promise<string | undefined> {
  return (await tables(db).selectFrom('users').select('id').where('email', '=', email).executeTakeFirst())?.id;
}

export async function selectUserEmail(db: Db, userId: string): Promise<string | undefined> {
  return (await tables(db).selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst())?.email;
}

export async function anyUser(db: Db): Promise<boolean> {
  return (await tables(db).selectFrom('users').select('id').limit(1).execute()).length > 0;
}

/**
 * A user and their membership of one organisation. Two statements: the caller runs them in its
 * transaction (`inTransaction`) when it has one; alone, they run in their own.
 */
export async function insertMember(db: Db, user: { id: string; email: string; passwordHash: string; orgId: string; role: MemberRole }): Promise<void> {
  const write = async (trx: Db) => {
    await tables(trx).insertInto('users').values({ id: user.id, email: user.email, password_hash: user.passwordHash }).execute();
    await tables(trx).insertInto('memberships').values({ org_id: user.orgId, user_id: user.id, role: user.role }).execute();
  };
  await (db.isTransaction ? write(db) : tables(db).transaction().execute(write));
}

/** The user with this e-mail and their membership, for a log-in. */
export async function selectLoginCandidate(db: Db, email: string) {
  return tables(db)
    .selectFrom('users')
    .innerJoin('memberships', 'memberships.user_id', 'users.id')
    .select(['users.id', 'users.password_hash', 'users.platform_admin', 'memberships.org_id', 'memberships.role'])
    .where('users.email', '=', email)
    .executeTakeFirst();
}

// --- API keys ----------------------------------------------------------------------------------

export interface NewApiKey {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  keyHash: string;
  role: MemberRole;
}

export async function insertApiKey(db: Db, key: NewApiKey, options: { ignoreExisting?: boolean } = {}): Promise<void> {
  const insert = tables(db)
    .insertInto('api_keys')
    .values({ id: key.id, org_id: key.orgId, name: key.name, prefix: key.prefix, key_hash: key.keyHash, role: key.role });
  await (options.ignoreExisting ? insert.onConflict((oc) => oc.column('key_hash').doNothing()) : insert).execute();
}

export async function selectActiveApiKeys(db: Db, orgId: string) {
  return tables(db)
    .selectFrom('api_keys')
    .select(['id', 'name', 'prefix', 'role', 'created_at', 'last_used_at'])
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute();
}

/** Revokes an active key of the organisation; false if there was none. */
export async function markApiKeyRevoked(db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await tables(db)
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function selectActiveApiKeyByHash(db: Db, keyHash: string) {
  return tables(db)
    .selectFrom('api_keys')
    .select(['id', 'org_id', 'role', 'last_used_at', 'platform_admin'])
    .where('key_hash', '=', keyHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function touchApiKey(db: Db, id: string): Promise<void> {
  await tables(db).updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', id).execute();
}

export async function apiKeyActive(db: Db, id: string): Promise<boolean> {
  const key = await tables(db).selectFrom('api_keys').select('id').where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return key !== undefined;
}

// --- sessions ----------------------------------------------------------------------------------

export async function insertSession(db: Db, session: { tokenHash: string; userId: string; orgId: string; expiresAt: Date }): Promise<void> {
  await tables(db)
    .insertInto('sessions')
    .values({ token_hash: session.tokenHash, user_id: session.userId, org_id: session.orgId, expires_at: session.expiresAt })
    .execute();
}

/** A live session whose user is still a member of its organisation, with the member's role. */
export async function selectLiveSession(db: Db, tokenHash: string) {
  return tables(db)
    .selectFrom('sessions')
    .innerJoin('memberships', (j) => j.onRef('memberships.user_id', '=', 'sessions.user_id').onRef('memberships.org_id', '=', 'sessions.org_id'))
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.user_id', 'sessions.org_id', 'memberships.role', 'users.platform_admin'])
    .where('sessions.token_hash', '=', tokenHash)
    .where('sessions.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/** Ends a session; returns its organisation if there was one. */
export async function deleteSession(db: Db, tokenHash: string): Promise<string | undefined> {
  return (await tables(db).deleteFrom('sessions').where('token_hash', '=', tokenHash).returning('org_id').executeTakeFirst())?.org_id;
}

// --- log-in throttle ---------------------------------------------------------------------------

export interface ThrottleRow {
  failures: number;
  locked_until: Date | null;
  last_attempt_at: Date;
  /** The database's clock, so that every instance agrees. */
  now: Date;
  /** The account had no row yet. */
  inserted: boolean;
}

/**
 * In the caller's transaction: makes sure the account has a row (forgetting quiet accounts now and
 * then, when a new one is added — new keys are what make the table grow) and returns it locked.
 */
export async function lockThrottleRow(trx: Db, account: string, forgetAfterMs: number): Promise<ThrottleRow> {
  const db = tables(trx);
  const inserted = await db
    .insertInto('login_throttle')
    .values({ account, failures: 0 })
    .onConflict((oc) => oc.column('account').doNothing())
    .returning('account')
    .executeTakeFirst();
  if (inserted) {
    await db
      .deleteFrom('login_throttle')
      .where('last_attempt_at', '<', sql<Date>`now() - ${forgetAfterMs}::integer * interval '1 millisecond'`)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`now()`)]))
      .execute();
  }
  const row = await db
    .selectFrom('login_throttle')
    .select(['failures', 'locked_until', 'last_attempt_at', sql<Date>`now()`.as('now')])
    .where('account', '=', account)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return { ...row, inserted: inserted !== undefined };
}

export async function updateThrottleRow(trx: Db, account: string, next: { failures: number; lockedUntil: Date | null; lastAttemptAt: Date }): Promise<void> {
  await tables(trx)
    .updateTable('login_throttle')
    .set({ failures: next.failures, locked_until: next.lockedUntil, last_attempt_at: next.lastAttemptAt })
    .where('account', '=', account)
    .execute();
}

export async function deleteThrottleRow(db: Db, account: string): Promise<void> {
  await tables(db).deleteFrom('login_throttle').where('account', '=', account).execute();
}

/** Runs `work` in a transaction (accounts' verbs that need one). */
export async function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return tables(db).transaction().execute(work);
}

// --- platform administration (013_platform_admin.sql) ------------------------------------------

export async function markPlatformAdminUser(db: Db, email: string): Promise<void> {
  await tables(db).updateTable('users').set({ platform_admin: true }).where('email', '=', email).where('platform_admin', '=', false).execute();
}

export async function markPlatformAdminKey(db: Db, keyHash: string): Promise<void> {
  await tables(db).updateTable('api_keys').set({ platform_admin: true }).where('key_hash', '=', keyHash).where('platform_admin', '=', false).execute();
}

/** Every organisation with its number of members, oldest first. */
export async function selectOrgsWithCounts(db: Db) {
  return tables(db)
    .selectFrom('orgs')
    .leftJoin('memberships', 'memberships.org_id', 'orgs.id')
    .select(['orgs.id', 'orgs.name', 'orgs.created_at', (eb) => eb.fn.count<string | number>('memberships.user_id').as('members')])
    .groupBy(['orgs.id', 'orgs.name', 'orgs.created_at'])
    .orderBy('orgs.created_at')
    .orderBy('orgs.id')
    .execute();
}

export async function selectOrgsByName(db: Db, name: string): Promise<OrgRow[]> {
  return tables(db).selectFrom('orgs').selectAll().where('name', '=', name).execute();
}

export async function renameOrg(db: Db, id: string, name: string): Promise<boolean> {
  const res = await tables(db).updateTable('orgs').set({ name }).where('id', '=', id).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Removes an organisation (its rows go with it: every tenant table references orgs ON DELETE
 * CASCADE) and the users who belonged to it alone and are not platform administrators.
 */
export async function deleteOrg(trx: Db, id: string): Promise<boolean> {
  const db = tables(trx);
  const members = await db.selectFrom('memberships').select('user_id').where('org_id', '=', id).execute();
  const res = await db.deleteFrom('orgs').where('id', '=', id).executeTakeFirst();
  const ids = members.map((m) => m.user_id);
  if (ids.length) {
    await db
      .deleteFrom('users')
      .where('id', 'in', ids)
      .where('platform_admin', '=', false)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('memberships').select('user_id').whereRef('memberships.user_id', '=', 'users.id'))))
      .execute();
  }
  return Number(res.numDeletedRows) > 0;
}

export async function selectMembers(db: Db, orgId: string) {
  return tables(db)
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.email', 'users.platform_admin', 'users.created_at', 'memberships.role'])
    .where('memberships.org_id', '=', orgId)
    .orderBy('users.email')
    .execute();
}

export async function selectMember(db: Db, orgId: string, userId: string) {
  return tables(db)
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.email', 'users.platform_admin', 'memberships.role'])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst();
}

/** How many admins the organisation has, its rows locked (so two demotions cannot both pass the last-admin check). */
export async function countAdminsLocked(trx: Db, orgId: string): Promise<number> {
  const rows = await tables(trx).selectFrom('memberships').select('user_id').where('org_id', '=', orgId).where('role', '=', 'admin').forUpdate().execute();
  return rows.length;
}

export async function updateMemberRole(db: Db, orgId: string, userId: string, role: MemberRole): Promise<void> {
  await tables(db).updateTable('memberships').set({ role }).where('org_id', '=', orgId).where('user_id', '=', userId).execute();
}

/** Removes a membership, the member's sessions in that organisation, and the user if they now belong nowhere (and are no platform administrator). */
export async function deleteMember(trx: Db, orgId: string, userId: string): Promise<void> {
  const db = tables(trx);
  await db.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
  await db.deleteFrom('sessions').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
  await db
    .deleteFrom('users')
    .where('id', '=', userId)
    .where('platform_admin', '=', false)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('memberships').select('user_id').whereRef('memberships.user_id', '=', 'users.id'))))
    .execute();
}

export async function selectApiKeyName(db: Db, id: string): Promise<string | undefined> {
  return (await tables(db).selectFrom('api_keys').select('name').where('id', '=', id).executeTakeFirst())?.name;
}

// --- invitations -------------------------------------------------------------------------------

export async function insertInvitation(
  db: Db,
  inv: { id: string; orgId: string; email: string; role: MemberRole; tokenHash: string; invitedBy: string; expiresAt: Date },
): Promise<{ created_at: Date }> {
  return tables(db)
    .insertInto('invitations')
    .values({ id: inv.id, org_id: inv.orgId, email: inv.email, role: inv.role, token_hash: inv.tokenHash, invited_by: inv.invitedBy, expires_at: inv.expiresAt })
    .returning('created_at')
    .executeTakeFirstOrThrow();
}

/** Invitations not yet accepted, revoked or expired (on the database's clock). */
export async function selectPendingInvitations(db: Db, orgId: string) {
  return tables(db)
    .selectFrom('invitations')
    .select(['id', 'email', 'role', 'invited_by', 'created_at', 'expires_at'])
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('created_at')
    .execute();
}

/**
 * Claims a pending invitation by its token, in the caller's transaction: marks it accepted and
 * returns it, or undefined if there is none (wrong, used, revoked or expired). The UPDATE is the
 * claim: of two concurrent accepts, one updates the row and the other finds it accepted.
 */
export async function claimInvitation(trx: Db, tokenHash: string) {
  return tables(trx)
    .updateTable('invitations')
    .set({ accepted_at: sql<Date>`now()` })
    .where('token_hash', '=', tokenHash)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['id', 'org_id', 'email', 'role'])
    .executeTakeFirst();
}

export async function revokeInvitation(db: Db, orgId: string, id: string): Promise<{ email: string } | undefined> {
  return tables(db)
    .updateTable('invitations')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returning('email')
    .executeTakeFirst();
}

// --- admin action log --------------------------------------------------------------------------

export interface AdminAction {
  orgId: string | null;
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

export async function insertAdminAction(db: Db, a: AdminAction): Promise<void> {
  await tables(db)
    .insertInto('admin_actions')
    .values({ org_id: a.orgId, actor: a.actor, action: a.action, target: a.target, details: JSON.stringify(a.details ?? {}) })
    .execute();
}

export async function selectAdminActions(db: Db, q: { orgId?: string | undefined; limit: number; before?: number | undefined }) {
  let query = tables(db).selectFrom('admin_actions').selectAll().orderBy('id', 'desc').limit(q.limit);
  if (q.orgId !== undefined) query = query.where('org_id', '=', q.orgId);
  if (q.before !== undefined) query = query.where('id', '<', q.before);
  return query.execute();
}
