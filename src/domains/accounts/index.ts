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
