/** Accounts: organisations, users, member roles, API keys, sessions; the request guard every route uses. */
export {
  type Principal,
  type Org,
  ROLE_RANK,
  bootstrap,
  createOrg,
  findOrg,
  findOrgByPingKey,
  getOrg,
  orgExists,
  anyUserExists,
  createApiKey,
  authenticateApiKey,
  authenticateSession,
  credentialOf,
  credentialStillValid,
} from './accounts.js';
export { accountRoutes } from './http.js';
export {
  BODY_KEY_BODY_LIMIT,
  CSRF_COOKIE,
  CSRF_HEADER,
  SESSION_COOKIE,
  apiKeyFrom,
  authenticate,
  principalOf,
  registerAuth,
  requireRole,
  type AuthDeps,
  type RequireRoleOptions,
} from './guard.js';
export type { AccountsTables, MemberRole } from './tables.js';
export { listOrgIds } from './for-stream.js';
