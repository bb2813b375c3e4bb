/**
 * SQL of the fraud engine (detector and backtest) on the fraud domain's tables: the active
 * criteria and lists of a set of organisations, the alerts it stores, and pausing a criterion.
 *
 * Invariants:
 * - Alerts go in with ON CONFLICT (criterion_id, criterion_version, shipment_id) DO NOTHING and
 *   the answer is the rows actually inserted: a redelivered or re-evaluated shipment never makes a
 *   second alert, nor a second report to the alert manager.
 * - Every query filters by the organisations it is given.
 */
import type { AggregateUse } from '../../contracts/fraud.js';
import type { ChannelSelection, Severity } from '../../contracts/alerting.js';
import { sql } from 'kysely';
import { newId } from '../../platform/ids.js';
import { pgArray, type Db } from '../../platform/store/index.js';
import { fraudDb } from './tables.js';

export interface ActiveCriterion {
  id: string;
  orgId: string;
  version: number;
  name: string;
  expression: string;
  shadow: boolean;
  severity: Severity;
  channels: ChannelSelection;
  groupBy: string[];
  groupWait: string;
  groupInterval: string;
  aggregates: AggregateUse[];
}

/** jsonb as both drivers hand it back: already parsed ('*' is a JSON string value, not JSON text). */
const json = <T>(v: unknown): T => v as T;

/** Criteria that are enabled, not paused and not deleted, of these organisations (current version). */
export async function activeCriteria(db: Db, orgIds: readonly string[]): Promise<ActiveCriterion[]> {
  if (orgIds.length === 0) return [];
  const rows = await fraudDb(db)
    .selectFrom('fraud_criteria')
    .selectAll()
    .where('org_id', 'in', [...orgIds])
    .where('enabled', '=', true)
    .where('paused_at', 'is', null)
    .where('deleted_at', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    orgId: r.org_id,
    version: r.version,
    name: r.name,
    expression: r.expression,
    shadow: r.shadow,
    severity: r.severity,
    channels: json<ChannelSelection>(r.channels),
    groupBy: json<string[]>(r.group_by),
    groupWait: r.group_wait,
    groupInterval: r.group_interval,
    aggregates: json<AggregateUse[]>(r.aggregates),
  }));
}

/** Each organisation's lists' signature (names, item counts, last change): a change invalidates compiled criteria. */
export async function listSignatures(db: Db, orgIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>(orgIds.map((o) => [o, '']));
  if (orgIds.length === 0) return out;
  const rows = await fraudDb(db)
    .selectFrom('fraud_lists')
    .select(['org_id', 'name', 'updated_at'])
    .where('org_id', 'in', [...orgIds])
    .orderBy('org_id')
    .orderBy('name')
    .execute();
  for (const r of rows) out.set(r.org_id, `${out.get(r.org_id) ?? ''}${r.name}@${new Date(r.updated_at).getTime()};`);
  return out;
}

/** The organisation's lists with their items. */
export async function listsOf(db: Db, orgId: string): Promise<Map<string, string[]>> {
  return (await listsOfOrgs(db, [orgId])).get(orgId)!;
}

/** Each organisation's lists with their items (two queries for all of them; every organisation asked is in the answer). */
export async function listsOfOrgs(db: Db, orgIds: readonly string[]): Promise<Map<string, Map<string, string[]>>> {
  const out = new Map<string, Map<string, string[]>>(orgIds.map((o) => [o, new Map()]));
  if (orgIds.length === 0) return out;
  const lists = await fraudDb(db).selectFrom('fraud_lists').select(['org_id', 'name']).where('org_id', 'in', [...orgIds]).execute();
  for (const l of lists) out.get(l.org_id)?.set(l.name, []);
  const items = await fraudDb(db).selectFrom('fraud_list_items').select(['org_id', 'list_name', 'value']).where('org_id', 'in', [...orgIds]).execute();
  for (const i of items) out.get(i.org_id)?.get(i.list_name)?.push(i.value);
  return out;
}

export interface NewAlert {
  orgId: string;
  criterionId: string;
  version: number;
  shipmentId: string;
  externalId: string;
  shipmentCreatedAt: Date;
  shadow: boolean;
  severity: Severity;
  values: Record<string, unknown>;
}

/** Rows per INSERT statement (bounds one statement's arrays). */
const INSERT_CHUNK = 20_000;

/**
 * Stores the alerts not stored yet; answers the ones inserted now (by `criterionId|version|shipmentId`).
 * Rows go in as one array per column (unnest): 11 parameters per statement instead of 11 per row
 * (bench, 11,583 alerts, interleaved runs: 0.44–0.60 s → 0.33–0.39 s), `values` as JSON text cast per element;
 * the arrays as array text (pgArray).
 */
export async function insertAlerts(trx: Db, alerts: readonly NewAlert[], matchedAt: Date): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < alerts.length; i += INSERT_CHUNK) {
    const chunk = alerts.slice(i, i + INSERT_CHUNK);
    const result = await sql<{ criterion_id: string; criterion_version: number; shipment_id: string | number }>`
      INSERT INTO fraud_alerts (id, org_id, criterion_id, criterion_version, shipment_id, external_id, shipment_created_at, matched_at, shadow, severity, "values")
      SELECT a.id, a.org_id, a.criterion_id, a.criterion_version, a.shipment_id, a.external_id, a.shipment_created_at, ${matchedAt.toISOString()}::timestamptz, a.shadow, a.severity, a.v::jsonb
      FROM unnest(
        ${pgArray(chunk.map(() => newId()))}::uuid[], ${pgArray(chunk.map((a) => a.orgId))}::uuid[], ${pgArray(chunk.map((a) => a.criterionId))}::uuid[], ${pgArray(chunk.map((a) => a.version))}::int4[],
        ${pgArray(chunk.map((a) => a.shipmentId))}::int8[], ${pgArray(chunk.map((a) => a.externalId))}::text[], ${pgArray(chunk.map((a) => a.shipmentCreatedAt.toISOString()))}::timestamptz[],
        ${pgArray(chunk.map((a) => a.shadow))}::bool[], ${pgArray(chunk.map((a) => a.severity))}::text[], ${pgArray(chunk.map((a) => JSON.stringify(a.values)))}::text[]
      ) AS a(id, org_id, criterion_id, criterion_version, shipment_id, external_id, shipment_created_at, shadow, severity, v)
      ON CONFLICT (criterion_id, criterion_version, shipment_id) DO NOTHING
      RETURNING criterion_id, criterion_version, shipment_id`.execute(trx);
    for (const r of result.rows) inserted.add(`${r.criterion_id}|${r.criterion_version}|${String(r.shipment_id)}`);
  }
  return inserted;
}

/**
 * Pauses a criterion that failed at evaluation (only the version that failed: a newer version
 * saved meanwhile is left alone), with an audit entry by nobody (actor null).
 */
export async function pauseCriterion(trx: Db, orgId: string, criterionId: string, version: number, reason: string, at: Date): Promise<boolean> {
  const updated = await fraudDb(trx)
    .updateTable('fraud_criteria')
    .set({ paused_reason: reason, paused_at: at })
    .where('org_id', '=', orgId)
    .where('id', '=', criterionId)
    .where('version', '=', version)
    .where('paused_at', 'is', null)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return false;
  await fraudDb(trx)
    .insertInto('fraud_audit')
    .values({
      id: newId(),
      org_id: orgId,
      at,
      actor: null,
      action: 'criterion.paused',
      criterion_id: criterionId,
      list_name: null,
      version,
      changes: JSON.stringify({ paused_reason: { from: null, to: reason } }),
    })
    .execute();
  return true;
}
