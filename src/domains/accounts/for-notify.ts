import { ownTables, type Db } from '../../platform/store/index.js';
import type { AccountsTables } from './tables.js';

/**
 * What the notify domain reads of accounts: the e-mail addresses of an organisation's admins, told
 * by e-mail when one of its channels is disabled.
 */
export async function orgAdminEmails(db: Db, orgId: string): Promise<string[]> {
  const rows = await ownTables<AccountsTables>(db)
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.email')
    .where('memberships.org_id', '=', orgId)
    .where('memberships.role', '=', 'admin')
    .orderBy('users.email')
    .execute();
  return rows.map((r) => r.email);
}
