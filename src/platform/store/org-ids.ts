/**
 * Which organisations have rows in a table whose index starts with `org_id`, without reading the
 * rows: a loose index scan (one index probe per organisation, "the next org_id after this one"),
 * where `SELECT DISTINCT org_id` would read every row of a table of millions of events.
 */
import { sql } from 'kysely';
import type { Db } from './store.js';

/** Distinct `org_id` values of `table` (which must have an index leading with org_id). */
export async function orgIdsWithRows(db: Db, table: string): Promise<string[]> {
  const t = sql.table(table);
  const { rows } = await sql<{ org_id: string }>`
    WITH RECURSIVE o(org_id) AS (
      (SELECT org_id FROM ${t} ORDER BY org_id LIMIT 1)
      UNION ALL
      SELECT (SELECT n.org_id FROM ${t} n WHERE n.org_id > o.org_id ORDER BY n.org_id LIMIT 1) FROM o WHERE o.org_id IS NOT NULL
    )
    SELECT org_id FROM o WHERE org_id IS NOT NULL`.execute(db);
  return rows.map((r) => r.org_id);
}

/**
 * Deletes `table`'s rows of one organisation, `batch` rows per statement so that none holds locks
 * (or an embedded store's only connection) for long; returns how many went. `key` is a column
 * unique per row (ctid is not, across the partitions of a partitioned table).
 */
export async function deleteOrgRows(db: Db, table: string, orgId: string, options: { key?: string; batch?: number } = {}): Promise<number> {
  const t = sql.table(table);
  const key = sql.ref(options.key ?? 'ctid');
  const batch = options.batch ?? 10_000;
  let total = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM ${t} WHERE org_id = ${orgId}::uuid AND ${key} = ANY(ARRAY(SELECT ${key} FROM ${t} WHERE org_id = ${orgId}::uuid LIMIT ${batch}))`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0);
    total += deleted;
    if (deleted < batch) return total;
  }
}
