/**
 * SQL of criteria and their versions (fraud_criteria, fraud_criterion_versions), and the per-criterion
 * statistics read from fraud_alerts. Every query filters by org_id; a deleted criterion (deleted_at
 * set) is invisible to every read but its versions and the statistics of its alerts.
 */
import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../../platform/store/index.js';
import { fraudDb, type FraudCriteriaTable, type FraudCriterionVersionsTable } from './tables.js';

export type CriterionRow = Selectable<FraudCriteriaTable>;
export type VersionRow = Selectable<FraudCriterionVersionsTable>;

export async function insertCriterion(db: Db, row: Insertable<FraudCriteriaTable>): Promise<CriterionRow> {
  return fraudDb(db).insertInto('fraud_criteria').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function insertVersion(db: Db, row: Insertable<FraudCriterionVersionsTable>): Promise<void> {
  await fraudDb(db).insertInto('fraud_criterion_versions').values(row).execute();
}

/** The criterion (not deleted), locked for the rest of the transaction when `lock`: versions are numbered one after another. */
export async function selectCriterion(db: Db, orgId: string, id: string, lock = false): Promise<CriterionRow | undefined> {
  const q = fraudDb(db).selectFrom('fraud_criteria').selectAll().where('org_id', '=', orgId).where('id', '=', id).where('deleted_at', 'is', null);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

export async function selectCriteria(db: Db, orgId: string): Promise<CriterionRow[]> {
  return fraudDb(db).selectFrom('fraud_criteria').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
}

export async function updateCriterion(db: Db, orgId: string, id: string, values: Partial<Insertable<FraudCriteriaTable>>): Promise<CriterionRow> {
  return fraudDb(db).updateTable('fraud_criteria').set(values).where('org_id', '=', orgId).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Whether the organisation has (or had: deleted ones count) this criterion. */
export async function criterionExists(db: Db, orgId: string, id: string): Promise<boolean> {
  const row = await fraudDb(db).selectFrom('fraud_criteria').select('id').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

export async function selectVersions(db: Db, orgId: string, id: string): Promise<VersionRow[]> {
  return fraudDb(db).selectFrom('fraud_criterion_versions').selectAll().where('org_id', '=', orgId).where('criterion_id', '=', id).orderBy('version', 'desc').execute();
}

export interface CriterionStats {
  matches_7d: number;
  fraud: number;
  false_positive: number;
  benign: number;
}

/** Per criterion (all its versions): matches in the 7 days before `now`, and the verdicts of its alerts. */
export async function criterionStats(db: Db, orgId: string, ids: string[], now: Date): Promise<Map<string, CriterionStats>> {
  if (ids.length === 0) return new Map();
  const since = new Date(now.getTime() - 7 * 86_400_000);
  const rows = await fraudDb(db)
    .selectFrom('fraud_alerts')
    .select([
      'criterion_id',
      sql<string | number>`count(*) FILTER (WHERE matched_at >= ${since})`.as('matches_7d'),
      sql<string | number>`count(*) FILTER (WHERE verdict = 'fraud')`.as('fraud'),
      sql<string | number>`count(*) FILTER (WHERE verdict = 'false_positive')`.as('false_positive'),
      sql<string | number>`count(*) FILTER (WHERE verdict = 'benign')`.as('benign'),
    ])
    .where('org_id', '=', orgId)
    .where('criterion_id', 'in', ids)
    .groupBy('criterion_id')
    .execute();
  return new Map(
    rows.map((r) => [r.criterion_id, { matches_7d: Number(r.matches_7d), fraud: Number(r.fraud), false_positive: Number(r.false_positive), benign: Number(r.benign) }]),
  );
}
