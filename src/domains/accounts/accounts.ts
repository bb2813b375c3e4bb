import { DomainError, conflict, notFound, unauthorized } from '../../platform/errors.js';
import { newId, randomToken, sha256 } from '../../platform/ids.js';
import type { ApiKeyView, CreatedApiKey, CreatedUser, Me } from '../../contracts/accounts.js';
import type { MemberRole } from './tables.js';
import * as store from './store.js';
import { hashPassword, verifyPassword } from './password.js';
import { ACCOUNT_POLICY, addressKey, beginAttempt, retryAfterSeconds, type AddressThrottle, type ThrottleDecision } from './throttle.js';
import { asSystem, enterOrg, type Db } from '../../platform/store/index.js';

/** Who is making a request, once authenticated. Every domain verb takes the org from here. */
export interface Principal {
  orgId: string;
  role: MemberRole;
  userId?: string;
  apiKeyId?: string;
  /** The session's id (the hash of its token, as stored). */
  sessionId?: string;
  via: 'api-key' | 'session';
  /** Administers the platform: creates, renames and removes organisations, manages any organisation's members. */
  platformAdmin?: boolean;
}

/** One string naming the credential a principal came with (what a revocation names). */
export const credentialOf = (p: Principal): string => (p.via === 'api-key' ? `api-key:${p.apiKeyId ?? ''}` : `session:${p.sessionId ?? ''}`);

export const ROLE_RANK: Record<MemberRole, number> = { 'read-only': 0, member: 1, admin: 2 };

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
  await store.insertOrg(db, org);
  return org;
}

/** The organisation; not found (DomainError) if there is none with this id. */
export async function getOrg(db: Db, orgId: string): Promise<Org> {
  const org = await findOrg(db, orgId);
  if (!org) throw notFound('Organisation');
  return org;
}

export async function findOrg(db: Db, orgId: string): Promise<Org | undefined> {
  const row = await store.selectOrg(db, orgId);
  return row && toOrg(row);
}

export async function findOrgByPingKey(db: Db, pingKey: string): Promise<Org | undefined> {
  const row = await store.selectOrgByPingKey(db, pingKey);
  return row && toOrg(row);
}

/** Whether anyone can log in to the dashboard yet (the server warns at start when nobody can). */
export async function anyUserExists(db: Db): Promise<boolean> {
  return store.anyUser(db);
}

/**
 * First start: make sure a default organisation exists, then create the admin user and the
 * automation key from the environment if they are given and not there yet. Safe to run at every start.
 */
export async function bootstrap(
  db: Db,
  opts: { orgName: string; adminEmail?: string | undefined; adminPassword?: string | undefined; adminToken?: string | undefined },
): Promise<Org> {
  let first = await store.selectFirstOrg(db);
  if (!first) {
    await createOrg(db, opts.orgName);
    // Another instance may have created one at the same time: the oldest wins.
    first = await store.selectFirstOrg(db);
    if (!first) throw new Error('bootstrap: no organisation after creating one');
  }
  const org = toOrg(first);
  if (opts.adminEmail && opts.adminPassword) {
    const existing = await store.selectUserIdByEmail(db, opts.adminEmail.toLowerCase());
    if (!existing) await createUser(db, org.id, opts.adminEmail, opts.adminPassword, 'admin');
  }
  // The bootstrapped user and key administer the platform (also when they were made before 013).
  if (opts.adminEmail) await store.markPlatformAdminUser(db, opts.adminEmail.trim().toLowerCase());
  if (opts.adminToken) {
    const key = { id: newId(), orgId: org.id, name: 'VIGIL_ADMIN_TOKEN', prefix: opts.adminToken.slice(0, 8), keyHash: sha256(opts.adminToken), role: 'admin' as const };
    await store.insertApiKey(db, key, { ignoreExisting: true });
    await store.markPlatformAdminKey(db, key.keyHash);
  }
  return org;
}

export async function createUser(db: Db, orgId: string, email: string, password: string, role: MemberRole): Promise<CreatedUser> {
  const normalised = email.trim().toLowerCase();
  const taken = await store.selectUserIdByEmail(db, normalised);
  if (taken) throw conflict(`A user with e-mail ${normalised} already exists`);
  const id = newId();
  const passwordHash = await hashPassword(password);
  await store.insertMember(db, { id, email: normalised, passwordHash, orgId, role });
  return { id, email: normalised, role };
}

export async function createApiKey(db: Db, orgId: string, name: string, role: MemberRole): Promise<CreatedApiKey> {
  const key = API_KEY_PREFIX + randomToken(24);
  const id = newId();
  const prefix = key.slice(0, API_KEY_PREFIX.length + 6);
  await store.insertApiKey(db, { id, orgId, name, prefix, keyHash: sha256(key), role });
  return { id, name, role, key, prefix };
}

export async function listApiKeys(db: Db, orgId: string): Promise<ApiKeyView[]> {
  const rows = await store.selectActiveApiKeys(db, orgId);
  return rows.map((row) => ({ ...row, created_at: iso(row.created_at), last_used_at: row.last_used_at === null ? null : iso(row.last_used_at) }));
}

/** Revokes a key; returns the credential it names, so that live streams opened with it can be ended too. */
export async function revokeApiKey(db: Db, orgId: string, id: string): Promise<{ credential: string }> {
  if (!(await store.markApiKeyRevoked(db, orgId, id))) throw notFound('API key');
  return { credential: credentialOf({ orgId, role: 'read-only', apiKeyId: id, via: 'api-key' }) };
}

export async function authenticateApiKey(db: Db, key: string): Promise<Principal | undefined> {
  const principal = await asSystem('find the API key a request brings, to learn its organisation', async (): Promise<Principal | undefined> => {
    const row = await store.selectActiveApiKeyByHash(db, sha256(key));
    if (!row) return undefined;
    // Touch last_used_at at most once a minute: keeps hot ping/API paths from writing on every request.
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
      await store.touchApiKey(db, row.id);
    }
    return { orgId: row.org_id, role: row.role, apiKeyId: row.id, via: 'api-key', platformAdmin: row.platform_admin };
  });
  // From here on the request sees only its organisation's rows.
  if (principal) enterOrg(principal.orgId);
  return principal;
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
  return store.inTransaction(db, async (trx) => {
    const row = await store.lockThrottleRow(trx, account, ACCOUNT_POLICY.forgetAfterMs);
    const ms = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());
    const now = new Date(row.now).getTime();
    const decision = beginAttempt(
      row.inserted ? undefined : { failures: row.failures, lockedUntil: ms(row.locked_until), lastAttemptAt: ms(row.last_attempt_at) ?? now },
      now,
      ACCOUNT_POLICY,
    );
    if (decision.allowed) {
      const { next } = decision;
      await store.updateThrottleRow(trx, account, {
        failures: next.failures,
        lockedUntil: next.lockedUntil === null ? null : new Date(next.lockedUntil),
        lastAttemptAt: new Date(next.lastAttemptAt),
      });
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

  const user = await store.selectLoginCandidate(db, normalised);
  // Same work whether or not the user exists, so timing does not reveal registered e-mails.
  const ok = await verifyPassword(password, user?.password_hash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  if (!user || !ok) throw unauthorized('Wrong e-mail or password.');
  await store.deleteThrottleRow(db, account);
  client.throttle.succeeded(address);
  return openSession(db, { userId: user.id, orgId: user.org_id, role: user.role, platformAdmin: user.platform_admin });
}

/** Opens a session for a user known to be who they say (a checked password, an accepted invitation). */
export async function openSession(db: Db, user: { userId: string; orgId: string; role: MemberRole; platformAdmin: boolean }): Promise<SessionStart> {
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await store.insertSession(db, { tokenHash: sha256(token), userId: user.userId, orgId: user.orgId, expiresAt });
  return { token, expiresAt, principal: { orgId: user.orgId, role: user.role, userId: user.userId, via: 'session', platformAdmin: user.platformAdmin } };
}

export async function authenticateSession(db: Db, token: string): Promise<Principal | undefined> {
  const row = await asSystem('find the session a request brings, to learn its organisation', () => store.selectLiveSession(db, sha256(token)));
  if (!row) return undefined;
  enterOrg(row.org_id);
  return { orgId: row.org_id, role: row.role, userId: row.user_id, sessionId: sha256(token), via: 'session', platformAdmin: row.platform_admin };
}

/** Ends a session; returns it (organisation and credential) if there was one, so its live streams can be ended too. */
export async function logout(db: Db, token: string): Promise<{ orgId: string; credential: string } | undefined> {
  const sessionId = sha256(token);
  const orgId = await store.deleteSession(db, sessionId);
  return orgId === undefined ? undefined : { orgId, credential: credentialOf({ orgId, role: 'read-only', sessionId, via: 'session' }) };
}

/**
 * Whether the credential a principal authenticated with still holds: the key not revoked, the
 * session not ended or expired, the membership still there. Long-lived requests (live streams)
 * ask this now and then.
 */
export async function credentialStillValid(db: Db, p: Principal): Promise<boolean> {
  if (p.via === 'api-key') {
    if (!p.apiKeyId) return false;
    return store.apiKeyActive(db, p.apiKeyId);
  }
  if (!p.sessionId) return false;
  return (await store.selectLiveSession(db, p.sessionId)) !== undefined;
}

/** `GET /api/v1/me`: the principal's organisation, role and user. */
export async function whoAmI(db: Db, p: Principal): Promise<Me> {
  const org = await getOrg(db, p.orgId);
  return {
    org: { id: org.id, name: org.name, ping_key: org.pingKey },
    role: p.role,
    via: p.via,
    platform_admin: p.platformAdmin === true,
    user: p.userId ? { id: p.userId, email: await getUserEmail(db, p.userId) } : null,
  };
}

export async function getUserEmail(db: Db, userId: string): Promise<string | undefined> {
  return store.selectUserEmail(db, userId);
}
