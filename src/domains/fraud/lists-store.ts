/**
 * SQL of the organisation's lists (fraud_lists, fraud_list_items). Every query filters by org_id.
 * Items go in and out as text[] parameters in chunks (one statement per chunk bounds a statement's
 * size on both stores; a list holds at most 100,000 items).
 */
import { sql } from 'kysely';
import type { Db } from '../../platform/store/index.js';
import { fraudDb } from './tables.js';

const CHUNK = 10_000;

/** name → number of items, for the type checker (`lists.<name>` of an unknown name is a save-time error). */
export async function listSizes(db: Db, orgId: string): Promise<Map<string, number>> {
  const rows = await fraudDb(db)
    .selectFrom('fraud_lists as l')
    .leftJoin('fraud_list_items as i', (j) => j.onRef('i.org_id', '=', 'l.org_id').onRef('i.list_name', '=', 'l.name'))
    .select(['l.name', (eb) => eb.fn.count<string | number>('i.value').as('items')])
    .where('l.org_id', '=', orgId)
    .groupBy('l.name')
    .execute();
  return new Map(rows.map((r) => [r.name, Number(r.items)]));
}

export async function selectLists(db: Db, orgId: string) {
  return fraudDb(db).selectFrom('fraud_lists').selectAll().where('org_id', '=', orgId).orderBy('name').execute();
}

export async function selectList(db: Db, orgId: string, name: string, lock = false) {
  const q = fraudDb(db).selectFrom('fraud_lists').selectAll().where('org_id', '=', orgId).where('name', '=', name);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

export async function selectItems(db: Db, orgId: string, name: string): Promise<string[]> {
  const rows = await fraudDb(db).selectFrom('fraud_list_items').select('value').where('org_id', '=', orgId).where('list_name', '=', name).orderBy('value').execute();
  return rows.map((r) => r.value);
}

/** Inserts the list; false when the organisation already has one of that name. */
export async function insertList(db: Db, orgId: string, name: string, description: string, by: string | null): Promise<boolean> {
  const row = await fraudDb(db)
    .insertInto('fraud_lists')
    .values({ org_id: orgId, name, description, updated_by: by })
    .onConflict((oc) => oc.columns(['org_id', 'name']).doNothing())
    .returning('name')
    .executeTakeFirst();
  return row !== undefined;
}

export async function touchList(db: Db, orgId: string, name: string, description: string, by: string | null): Promise<void> {
  await fraudDb(db).updateTable('fraud_lists').set({ description, updated_by: by, updated_at: sql<Date>`now()` }).where('org_id', '=', orgId).where('name', '=', name).execute();
}

export async function addItems(db: Db, orgId: string, name: string, values: string[]): Promise<void> {
  for (let start = 0; start < values.length; start += CHUNK) {
    const chunk = values.slice(start, start + CHUNK);
    await sql`INSERT INTO fraud_list_items (org_id, list_name, value)
      SELECT ${orgId}::uuid, ${name}, v FROM unnest(${chunk}::text[]) AS t(v)
      ON CONFLICT DO NOTHING`.execute(db);
  }
}

export async function removeItems(db: Db, orgId: string, name: string, values: string[]): Promise<void> {
  for (let start = 0; start < values.length; start += CHUNK) {
    const chunk = values.slice(start, start + CHUNK);
    await sql`DELETE FROM fraud_list_items WHERE org_id = ${orgId}::uuid AND list_name = ${name} AND value = ANY(${chunk}::text[])`.execute(db);
  }
}

/** Deletes the list and its items (the items' foreign key cascades); false when there was none. */
export async function deleteList(db: Db, orgId: string, name: string): Promise<boolean> {
  const result = await fraudDb(db).deleteFrom('fraud_lists').where('org_id', '=', orgId).where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Locks the named lists against deletion until the transaction ends (FOR SHARE: saving criteria
 * concurrently is fine, deleting a list waits) and answers which exist: a criterion saved with a
 * list cannot race that list's deletion.
 */
export async function lockListsShared(db: Db, orgId: string, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await fraudDb(db).selectFrom('fraud_lists').select('name').where('org_id', '=', orgId).where('name', 'in', names).forShare().execute();
  return rows.map((r) => r.name);
}
