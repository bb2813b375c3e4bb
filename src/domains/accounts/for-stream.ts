import type { Db } from '../../platform/store/index.js';

/**
 * What the stream domain reads of accounts: the ids of every organisation, for the retention pass
 * that prunes statistics one organisation at a time (its tables' keys start with org_id).
 */
export async function listOrgIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('orgs').select('id').orderBy('id').execute();
  return rows.map((r) => r.id);
}
