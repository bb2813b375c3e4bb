/** Accounts: organisations, users, member roles, API keys, sessions; the request guard every route uses. */
export { type Principal, type Org, bootstrap, createOrg, findOrgByPingKey, anyUserExists, createApiKey, authenticateApiKey, credentialOf, credentialStillValid } from './accounts.js';
export { accountRoutes } from './http.js';
export { addMember, createOrgAs, invite, listOrgs, removeOrgAs, renameOrgAs, resolveOrg } from './admin.js';
export { smtpMailer } from './mailer.js';
export {
  BODY_KEY_BODY_LIMIT,
  SESSION_COOKIE,
  apiKeyFrom,
  authenticate,
  principalOf,
  registerAuth,
  requireRole,
} from './guard.js';

export { orgPingKey } from './for-jobs.js';
export { orgAdminEmails } from './for-notify.js';
export { actorName } from './for-alerting.js';
export { listOrgIds } from './for-stream.js';
