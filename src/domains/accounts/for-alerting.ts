import { ownTables, type Db } from '../../platform/store/index.js';
import type { Principal } from './accounts.js';
import type { AccountsTables } from './tables.js';

/**
 * Who did something, in words a teammate reads in a history ("ana@example.com", `API key "ci"`),
 * for the alert manager's acknowledgements and silences. Stored as written at the time, so the
 * history still says who it was after a user or key is removed.
 */
export async function actorName(db: Db, p: Principal): Promise<string> {
  const accounts = ownTables<AccountsTables>(db);
  if (p.userId) {
    const user = await accounts.selectFrom('users').select('email').where('id', '=', p.userId).executeTakeFirst();
    if (user) return user.email;
  }
  if (p.apiKeyId) {
    const key = await accounts.selectFrom('api_keys').select('name').where('id', '=', p.apiKeyId).where('org_id', '=', p.orgId).executeTakeFirst();
    return key ? `API key "${key.name}"` : 'an API key';
  }
  return p.via === 'api-key' ? 'the admin token' : 'a signed-in user';
}
