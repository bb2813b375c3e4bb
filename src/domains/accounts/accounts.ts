import { sql } from 'kysely';
import type { Db, Role } from '../../platform/store/index.js';
import { DomainError, conflict, notFound, unauthorized } from '../../platform/errors.js';
import { newId, randomToken, sha256 } from '../../platform/ids.js';
import type { ApiKeyView, CreatedUser, Me } from '../../contracts/accounts.js';
import { hashPassword, verifyPassword } from './password.js';
import { ACCOUNT_POLICY, addressKey, beginAttempt, retryAfterSeconds, type AddressThrottle, type ThrottleDecision } from './throttle.js';

/** Who is making a request, once authenticated. Every domain verb takes the org from here. */
export interface Principal {
  orgId: string;
  role: Role;
  userId?: string;
  apiKeyId?: string;
  /** The session's id (the hash of its token, as stored). */
  sessionId?: string;
  via: 'api-key' | 'session';
}

/** One string naming the credential a principal came with (what a revocation names). */
export const credentialOf = (p: Principal): string => (p.via === 'api-key' ? `api-key:${p.apiKeyId ?? ''}` : `session:${p.sessionId ?? ''}`);

export const ROLE_RANK: Record<Role, number> = { 'read-only': 0, member: 1, admin: 2 };

export interface Org {
  id: string;
  name: string;
  pingKey: string;
}

const API_KEY_PREFIX = 'vgl_';
const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

const iso = (d: Date | string): string => new Date(d).toISOString();

const toOrg = (row: { id: string; name: string; ping_key: string }): Org => ({ id: row.id, name: row.name, pingKey: row.ping_key });

export async function createOrg(db: Db, name: string): Promise<Org> {
  const org = { id: newId(), name, pingKey: randomToken(16) };
  await db.insertInto('orgs').values({ id: org.id, name, ping_key: org.pingKey }).execute();
  return org;
}

export async function getOrg(db: Db, orgId: string): Promise<Org> {
  const row = await db.selectFrom('orgs').selectAll().where('id', '=', orgId).executeTakeFirst();
  if (!row) throw notFound('Organisation');
  return toOrg(row);
}

export async function findOrgByPingKey(db: Db, pingKey: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').selectAll().where('ping_key', '=', pingKey).executeTakeFirst();
  return row && toOrg(row);
}

/**
 * First start: make sure a default organisation exists, then create the admin user and the
 * automation key from the environment if they are given and not there yet. Safe to run at every start.
 */
export async function bootstrap(
  db: Db,
  opts: { orgName: string; adminEmail?: string | undefined; adminPassword?: string | undefined; adminToken?: string | undefined },
): Promise<Org> {
  let first = await db.selectFrom('orgs').selectAll().orderBy('created_at').limit(1).executeTakeFirst();
  if (!first) {
    await createOrg(db, opts.orgName);
    first = await db.selectFrom('orgs').selectAll().orderBy('created_at').limit(1).executeTakeFirstOrThrow();
  }
  const org = toOrg(first);
  if (opts.adminEmail && opts.adminPassword) {
    const existing = await db.selectFrom('users').select('id').where('email', '=', opts.adminEmail.toLowerCase()).executeTakeFirst();
    if (!existing) await createUser(db, org.id, opts.adminEmail, opts.adminPassword, 'admin');
  }
  if (opts.adminToken) {
    const hash = sha256(opts.adminToken);
    await db
      .insertInto('api_keys')
      .values({ id: newId(), org_id: org.id, name: 'VIGIL_ADMIN_TOKEN', prefix: opts.adminToken.slice(0, 8), key_hash: hash, role: 'admin' })
      .onConflict((oc) => oc.column('key_hash').doNothing())
      .execute();
  }
  return org;
}

export async function createUser(db: Db, orgId: string, email: string, password: string, role: Role): Promise<CreatedUser> {
  const normalised = email.trim().toLowerCase();
  const taken = await db.selectFrom('users').select('id').where('email', '=', normalised).executeTakeFirst();
  if (taken) throw conflict(`A user with e-mail ${normalised} already exists`);
  const id = newId();
  const passwordHash = await hashPassword(password);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('users').values({ id, email: normalised, password_hash: passwordHash }).execute();
    await trx.insertInto('memberships').values({ org_id: orgId, user_id: id, role }).execute();
  });
  return { id, email: normalised, role };
}

export interface CreatedApiKey {
  id: string;
  name: string;
  role: Role;
  /** The secret, shown exactly once. */
  key: string;
  prefix: string;
}

export async function createApiKey(db: Db, orgId: string, name: string, role: Role): Promise<CreatedApiKey> {
  const key = API_KEY_PREFIX + randomToken(24);
  const id = newId();
  const prefix = key.slice(0, API_KEY_PREFIX.length + 6);
  await db.insertInto('api_keys').values({ id, org_id: orgId, name, prefix, key_hash: sha256(key), role }).execute();
  return { id, name, role, key, prefix };
}

export async function listApiKeys(db: Db, orgId: string): Promise<ApiKeyView[]> {
  const rows = await db
    .selectFrom('api_keys')
    .select(['id', 'name', 'prefix', 'role', 'created_at', 'last_used_at'])
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute();
  return rows.map((row) => ({ ...row, created_at: iso(row.created_at), last_used_at: row.last_used_at === null ? null : iso(row.last_used_at) }));
}

export async function revokeApiKey(db: Db, orgId: string, id: string): Promise<void> {
  const res = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw notFound('API key');
}

export async function authenticateApiKey(db: Db, key: string): Promise<Principal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'org_id', 'role', 'last_used_at'])
    .where('key_hash', '=', sha256(key))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  // Touch last_used_at at most once a minute: keeps hot ping/API paths from writing on every request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', row.id).execute();
  }
  return { orgId: row.org_id, role: row.role, apiKeyId: row.id, via: 'api-key' };
}

export interface SessionStart {
  token: string;
  expiresAt: Date;
  principal: Principal;
}

/** Where a log-in comes from, for throttling: the client address and this instance's per-address record. */
export interface LoginClient {
  address: string;
  throttle: AddressThrottle;
}

const tooManyAttempts = (what: string, retryAfterMs: number) => {
  const seconds = retryAfterSeconds(retryAfterMs);
  return new DomainError('too_many_attempts', `Too many failed log-ins ${what}: try again in ${seconds} s.`, { retryAfterSeconds: seconds });
};

/**
 * Counts a log-in attempt against an account (see throttle.ts: counted first, forgiven on
 * success), in one transaction with the row locked, on the database's clock so that every instance
 * agrees. Accounts are keyed by the e-mail's hash, existing or not.
 */
async function beginAccountAttempt(db: Db, account: string): Promise<ThrottleDecision> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('login_throttle')
      .values({ account, failures: 0 })
      .onConflict((oc) => oc.column('account').doNothing())
      .returning('account')
      .executeTakeFirst();
    // New keys are what make the table grow: forget the quiet ones now and then.
    if (inserted) {
      await trx
        .deleteFrom('login_throttle')
        .where('last_attempt_at', '<', sql<Date>`now() - ${ACCOUNT_POLICY.forgetAfterMs}::integer * interval '1 millisecond'`)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`now()`)]))
        .execute();
    }
    const row = await trx
      .selectFrom('login_throttle')
      .select(['failures', 'locked_until', 'last_attempt_at', sql<Date>`now()`.as('now')])
      .where('account', '=', account)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const ms = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());
    const now = new Date(row.now).getTime();
    const decision = beginAttempt(
      inserted ? undefined : { failures: row.failures, lockedUntil: ms(row.locked_until), lastAttemptAt: ms(row.last_attempt_at) ?? now },
      now,
      ACCOUNT_POLICY,
    );
    if (decision.allowed) {
      const { next } = decision;
      await trx
        .updateTable('login_throttle')
        .set({ failures: next.failures, locked_until: next.lockedUntil === null ? null : new Date(next.lockedUntil), last_attempt_at: new Date(next.lastAttemptAt) })
        .where('account', '=', account)
        .execute();
    }
    return decision;
  });
}

/**
 * Checks e-mail and password and opens a session. Throttled per client address (in memory) and per
 * account (in the database) before any hashing, so refused attempts cost no scrypt work: 429 with
 * Retry-After while locked, 401 for a wrong e-mail or password.
 */
export async function login(db: Db, email: string, password: string, client: LoginClient): Promise<SessionStart> {
  const address = addressKey(client.address);
  const byAddress = client.throttle.begin(address);
  if (!byAddress.allowed) throw tooManyAttempts('from your address', byAddress.retryAfterMs);
  const normalised = email.trim().toLowerCase();
  const account = sha256(`login:${normalised}`);
  const byAccount = await beginAccountAttempt(db, account);
  if (!byAccount.allowed) throw tooManyAttempts('for this account', byAccount.retryAfterMs);

  const user = await db
    .selectFrom('users')
    .innerJoin('memberships', 'memberships.user_id', 'users.id')
    .select(['users.id', 'users.password_hash', 'memberships.org_id', 'memberships.role'])
    .where('users.email', '=', normalised)
    .executeTakeFirst();
  // Same work whether or not the user exists, so timing does not reveal registered e-mails.
  const ok = await verifyPassword(password, user?.password_hash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  if (!user || !ok) throw unauthorized('Wrong e-mail or password.');
  await db.deleteFrom('login_throttle').where('account', '=', account).execute();
  client.throttle.succeeded(address);
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await db.insertInto('sessions').values({ token_hash: sha256(token), user_id: user.id, org_id: user.org_id, expires_at: expiresAt }).execute();
  return { token, expiresAt, principal: { orgId: user.org_id, role: user.role, userId: user.id, via: 'session' } };
}

export async function authenticateSession(db: Db, token: string): Promise<Principal | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('memberships', (j) => j.onRef('memberships.user_id', '=', 'sessions.user_id').onRef('memberships.org_id', '=', 'sessions.org_id'))
    .select(['sessions.user_id', 'sessions.org_id', 'memberships.role'])
    .where('sessions.token_hash', '=', sha256(token))
    .where('sessions.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row && { orgId: row.org_id, role: row.role, userId: row.user_id, sessionId: sha256(token), via: 'session' };
}

/** Ends a session; returns it (organisation and credential) if there was one, so its live streams can be ended too. */
export async function logout(db: Db, token: string): Promise<{ orgId: string; credential: string } | undefined> {
  const sessionId = sha256(token);
  const row = await db.deleteFrom('sessions').where('token_hash', '=', sessionId).returning('org_id').executeTakeFirst();
  return row && { orgId: row.org_id, credential: credentialOf({ orgId: row.org_id, role: 'read-only', sessionId, via: 'session' }) };
}

/**
 * Whether the credential a principal authenticated with still holds: the key not revoked, the
 * session not ended or expired, the membership still there. Long-lived requests (live streams)
 * ask this now and then.
 */
export async function credentialStillValid(db: Db, p: Principal): Promise<boolean> {
  if (p.via === 'api-key') {
    if (!p.apiKeyId) return false;
    const key = await db.selectFrom('api_keys').select('id').where('id', '=', p.apiKeyId).where('revoked_at', 'is', null).executeTakeFirst();
    return key !== undefined;
  }
  if (!p.sessionId) return false;
  const session = await db
    .selectFrom('sessions')
    .innerJoin('memberships', (j) => j.onRef('memberships.user_id', '=', 'sessions.user_id').onRef('memberships.org_id', '=', 'sessions.org_id'))
    .select('sessions.token_hash')
    .where('sessions.token_hash', '=', p.sessionId)
    .where('sessions.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return session !== undefined;
}

/** `GET /api/v1/me`: the principal's organisation, role and user. */
export async function whoAmI(db: Db, p: Principal): Promise<Me> {
  const org = await getOrg(db, p.orgId);
  return {
    org: { id: org.id, name: org.name, ping_key: org.pingKey },
    role: p.role,
    via: p.via,
    user: p.userId ? { id: p.userId, email: await getUserEmail(db, p.userId) } : null,
  };
}

export async function getUserEmail(db: Db, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
  return row?.email;
}
