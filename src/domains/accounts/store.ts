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

/** A user and their membership of one organisation, in one transaction. */
export async function insertMember(db: Db, user: { id: string; email: string; passwordHash: string; orgId: string; role: MemberRole }): Promise<void> {
  await tables(db)
    .transaction()
    .execute(async (trx) => {
      await trx.insertInto('users').values({ id: user.id, email: user.email, password_hash: user.passwordHash }).execute();
      await trx.insertInto('memberships').values({ org_id: user.orgId, user_id: user.id, role: user.role }).execute();
    });
}

/** The user with this e-mail and their membership, for a log-in. */
export async function selectLoginCandidate(db: Db, email: string) {
  return tables(db)
    .selectFrom('users')
    .innerJoin('memberships', 'memberships.user_id', 'users.id')
    .select(['users.id', 'users.password_hash', 'memberships.org_id', 'memberships.role'])
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
    .select(['id', 'org_id', 'role', 'last_used_at'])
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
    .select(['sessions.user_id', 'sessions.org_id', 'memberships.role'])
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
