/**
 * Organisation-wide reads and deletes of the retention jobs: which organisations have rows in a
 * table, found by a loose index scan (one index probe per organisation, "the next org_id after
 * this one") where `SELECT DISTINCT org_id` would read every row of a table of millions of events;
 * and deletes in batches that hold no lock for long.
 */
import { sql, type RawBuilder } from 'kysely';
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
 * Deletes the rows of `table` that `where` selects, `batch` rows per statement (by ctid: a TID
 * scan) so that none holds locks, or an embedded store's only connection, for long; returns how
 * many went. Not for a partitioned table (ctid repeats across partitions): call it per partition.
 */
export async function deleteInBatches(db: Db, table: string, where: RawBuilder<unknown>, batch = 10_000): Promise<number> {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`deleteInBatches: batch must be a positive integer, not ${batch}`);
  const t = sql.table(table);
  let total = 0;
  for (;;) {
    // The condition again outside: a ctid is only a row's place, so a row that moved (or one of
    // another partition, were the table partitioned) is never taken for a selected one.
    const result = await sql`DELETE FROM ${t} WHERE ${where} AND ctid = ANY(ARRAY(SELECT ctid FROM ${t} WHERE ${where} LIMIT ${batch}))`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0);
    total += deleted;
    if (deleted < batch) return total;
  }
}

/** Deletes one organisation's rows of `table` in batches (`deleteInBatches`). */
export const deleteOrgRows = (db: Db, table: string, orgId: string, batch?: number): Promise<number> => deleteInBatches(db, table, sql`org_id = ${orgId}::uuid`, batch);
