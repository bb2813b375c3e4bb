import type { Db } from '../../platform/store/index.js';
import { getOrg } from './accounts.js';

/**
 * What the jobs domain reads of accounts: an organisation's ping key (the `/ping/<ping-key>/<slug>`
 * URLs it shows). Not found: the organisation is gone (DomainError not_found).
 */
export async function orgPingKey(db: Db, orgId: string): Promise<string> {
  return (await getOrg(db, orgId)).pingKey;
}
