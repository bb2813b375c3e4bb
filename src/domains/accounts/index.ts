export {
  type Principal,
  type Org,
  ROLE_RANK,
  bootstrap,
  createOrg,
  findOrgByPingKey,
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
  type RequireRoleOptions,
} from './guard.js';
export { orgPingKey } from './for-jobs.js';
export { listOrgIds } from './for-stream.js';
