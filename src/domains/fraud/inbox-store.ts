/**
 * SQL of the alert inbox: reading fraud_alerts (the detector writes them) with their criterion's
 * name, acknowledging and recording verdicts. Every query filters by org_id.
 *
 * Paging is keyset on (matched_at, id) descending, the order of the index fraud_alerts_org_matched;
 * the cursor carries matched_at in whole microseconds (PostgreSQL's precision, which a JavaScript
 * Date would round to milliseconds and so skip or repeat rows).
 */
import { sql } from 'kysely';
import type { FraudVerdict } from '../../contracts/fraud.js';
import type { Db } from '../../platform/store/index.js';
import { fraudDb } from './tables.js';

export interface AlertFilter {
  criterionId?: string;
  externalId?: string;
  status: 'open' | 'acknowledged' | 'reviewed' | 'all';
  verdict?: FraudVerdict;
  shadow: 'true' | 'false' | 'all';
  since?: Date;
  before?: { micros: bigint; id: string };
  limit: number;
}

function alertQuery(db: Db, orgId: string) {
  return fraudDb(db)
    .selectFrom('fraud_alerts as a')
    .innerJoin('fraud_criteria as c', (j) => j.onRef('c.id', '=', 'a.criterion_id').onRef('c.org_id', '=', 'a.org_id'))
    .selectAll('a')
    .select(['c.name as criterion_name', sql<string>`(extract(epoch from a.matched_at) * 1000000)::bigint::text`.as('matched_micros')])
    .where('a.org_id', '=', orgId);
}

export type AlertRow = NonNullable<Awaited<ReturnType<typeof selectAlert>>>;

export async function selectAlerts(db: Db, orgId: string, f: AlertFilter) {
  let q = alertQuery(db, orgId);
  if (f.criterionId !== undefined) q = q.where('a.criterion_id', '=', f.criterionId);
  if (f.externalId !== undefined) q = q.where('a.external_id', '=', f.externalId);
  if (f.status === 'open') q = q.where('a.acknowledged_at', 'is', null).where('a.verdict', 'is', null);
  if (f.status === 'acknowledged') q = q.where('a.acknowledged_at', 'is not', null);
  if (f.status === 'reviewed') q = q.where('a.verdict', 'is not', null);
  if (f.verdict !== undefined) q = q.where('a.verdict', '=', f.verdict);
  if (f.shadow !== 'all') q = q.where('a.shadow', '=', f.shadow === 'true');
  if (f.since !== undefined) q = q.where('a.matched_at', '>=', f.since);
  if (f.before !== undefined) {
    const { micros, id } = f.before;
    q = q.where(sql<boolean>`(a.matched_at, a.id) < (timestamptz 'epoch' + ${micros.toString()}::bigint * interval '1 microsecond', ${id}::uuid)`);
  }
  return q.orderBy('a.matched_at', 'desc').orderBy('a.id', 'desc').limit(f.limit).execute();
}

export async function selectAlert(db: Db, orgId: string, id: string) {
  return alertQuery(db, orgId).where('a.id', '=', id).executeTakeFirst();
}

/** Acknowledges once (the first acknowledgement is kept); false when the organisation has no such alert. */
export async function acknowledgeAlertRow(db: Db, orgId: string, id: string, by: string | null, at: Date): Promise<boolean> {
  await fraudDb(db).updateTable('fraud_alerts').set({ acknowledged_at: at, acknowledged_by: by }).where('org_id', '=', orgId).where('id', '=', id).where('acknowledged_at', 'is', null).execute();
  const row = await fraudDb(db).selectFrom('fraud_alerts').select('id').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

/** Sets (or changes) the one verdict of an alert; false when the organisation has no such alert. */
export async function setVerdictRow(db: Db, orgId: string, id: string, verdict: FraudVerdict, note: string, by: string | null, at: Date): Promise<boolean> {
  const result = await fraudDb(db)
    .updateTable('fraud_alerts')
    .set({ verdict, verdict_note: note, verdict_by: by, verdict_at: at })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
