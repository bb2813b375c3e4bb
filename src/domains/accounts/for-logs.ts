import type { Db } from '../../platform/store/index.js';

/**
 * What the logs domain reads of accounts: whether an organisation still exists, for the retention
 * pass that deletes what removed organisations left in the tables without a foreign key to orgs.
 */
export async function orgExists(db: Db, orgId: string): Promise<boolean> {
  const row = await db.selectFrom('orgs').select('id').where('id', '=', orgId).executeTakeFirst();
  return row !== undefined;
}
