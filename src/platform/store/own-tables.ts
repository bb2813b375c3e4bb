import type { Kysely } from 'kysely';
import type { Db } from './columns.js';

/**
 * A domain's view of the store: a Kysely typed with only the tables that domain owns, so a query on
 * another domain's table does not compile. Each domain declares its tables in its own `tables.ts`
 * and its store module calls this once per query path. Only a type changes: it is the same
 * connection (or transaction), so a domain verb still joins the caller's transaction.
 */
export function ownTables<Tables>(db: Db): Kysely<Tables> {
  return db as Kysely<Tables>;
}
