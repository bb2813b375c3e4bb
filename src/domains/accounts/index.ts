export {
  type Principal,
  type Org,
  type CreatedApiKey,
  ROLE_RANK,
  API_KEY_PREFIX,
  bootstrap,
  createOrg,
  getOrg,
  findOrgByPingKey,
  createUser,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  authenticateApiKey,
  authenticateSession,
  login,
  logout,
  getUserEmail,
} from './accounts.js';
export { hashPassword, verifyPassword } from './password.js';
export { accountRoutes } from './http.js';
