/**
 * Rule CRUD and the default rule. Every query filters by organisation; a rule of another
 * organisation is "not found". An edit bumps `version` (the evaluator rebuilds that rule's windows)
 * and clears `error` (the rule is evaluated again).
 */
import { randomUUID } from 'node:crypto';
import { ruleInput, type RuleInput, type RuleSpec, type RuleView } from '../../contracts/alerting.js';
import { invalidField, notFound } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { activeCountsByRule, rerouteRule, retireRule } from '../alerting/index.js';
import { listChannels } from '../notify/index.js';
import { routingOf, validateSpec } from './spec.js';
import { rulesDb, type AlertRulesTable } from './tables.js';
import type { Selectable } from 'kysely';

/**
 * The classic exercise as a rule: the 2-minute average above 10 requests/s alerts, at or below 10
 * recovers (`vigil monitor`'s defaults, decided at the same event-time seconds).
 */
export const DEFAULT_RULE: RuleInput = {
  name: 'High traffic',
  description: 'The average request rate over the last 2 minutes is above 10 requests per second (recovers at or below 10).',
  metric: 'requests_per_second',
  window: '2m',
  op: '>',
  threshold: 10,
  channels: '*',
};

/**
 * Creates the organisation's default rule once: the evaluator row records that it was made, so
 * deleting the default rule is not undone. Idempotent and safe under concurrency (the row's key).
 */
export async function ensureDefaultRule(db: Db, orgId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const created = await rulesDb(trx).insertInto('rule_evaluator').values({ org_id: orgId, instances: JSON.stringify({}) }).onConflict((oc) => oc.column('org_id').doNothing()).returning('org_id').executeTakeFirst();
    if (created === undefined) return;
    const spec = ruleInput.parse(DEFAULT_RULE);
    await rulesDb(trx)
      .insertInto('alert_rules')
      .values({ id: randomUUID(), org_id: orgId, name: spec.name, spec: JSON.stringify(spec), is_default: true, enabled: spec.enabled })
      .execute();
  });
}

type RuleRow = Selectable<AlertRulesTable>;

/** The alert manager's firing and pending instances per rule, for the views. */
const instanceCounts = (db: Db, orgId: string) => activeCountsByRule(db, orgId, 'log');

function viewOf(row: RuleRow, counts: Map<string, { firing: number; pending: number }>): RuleView {
  return {
    ...row.spec,
    id: row.id,
    is_default: row.is_default,
    enabled: row.enabled,
    error: row.error,
    firing: counts.get(row.id)?.firing ?? 0,
    pending: counts.get(row.id)?.pending ?? 0,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export async function listRules(db: Db, orgId: string): Promise<RuleView[]> {
  await ensureDefaultRule(db, orgId);
  const rows = await rulesDb(db).selectFrom('alert_rules').selectAll().where('org_id', '=', orgId).orderBy('created_at').orderBy('id').execute();
  const counts = await instanceCounts(db, orgId);
  return rows.map((r) => viewOf(r, counts));
}

export async function getRule(db: Db, orgId: string, id: string): Promise<RuleView> {
  const row = await rulesDb(db).selectFrom('alert_rules').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw notFound('Rule');
  return viewOf(row, await instanceCounts(db, orgId));
}

/**
 * A rule notifies channels of its own organisation only: an id of another organisation's channel is
 * refused like an unknown one (400, field `channels`), as a check's channels are — otherwise the
 * rule would keep, and show, another organisation's id.
 */
async function checkChannels(db: Db, orgId: string, channels: RuleSpec['channels']): Promise<void> {
  if (channels === '*') return;
  const known = new Set((await listChannels(db, orgId)).map((c) => c.id));
  const unknown = channels.filter((id) => !known.has(id.toLowerCase()));
  if (unknown.length) throw invalidField('channels', `no channel of this organisation has the id ${unknown.join(', ')}; list them with GET /api/v1/channels`);
}

export async function createRule(db: Db, orgId: string, spec: RuleSpec): Promise<RuleView> {
  validateSpec(spec);
  await checkChannels(db, orgId, spec.channels);
  await ensureDefaultRule(db, orgId);
  const row = await rulesDb(db)
    .insertInto('alert_rules')
    .values({ id: randomUUID(), org_id: orgId, name: spec.name, spec: JSON.stringify(spec), enabled: spec.enabled })
    .returningAll()
    .executeTakeFirstOrThrow();
  return viewOf(row, new Map());
}

/**
 * Replaces a rule. In the same transaction the alert manager learns its new routing, and, when the
 * rule is now disabled, its instances resolve.
 */
export async function updateRule(db: Db, orgId: string, id: string, spec: RuleSpec, now = new Date()): Promise<RuleView> {
  validateSpec(spec);
  await checkChannels(db, orgId, spec.channels);
  const row = await db.transaction().execute(async (trx) => {
    const updated = await rulesDb(trx)
      .updateTable('alert_rules')
      .set((eb) => ({ name: spec.name, spec: JSON.stringify(spec), enabled: spec.enabled, error: null, error_at: null, updated_at: now, version: eb('version', '+', 1) }))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (updated === undefined) throw notFound('Rule');
    await rerouteRule(trx, orgId, 'log', id, routingOf(spec), now);
    if (!spec.enabled) await retireRule(trx, orgId, 'log', id, 'the rule was disabled', now);
    return updated;
  });
  return viewOf(row, await instanceCounts(db, orgId));
}

/** Deletes a rule; its instances resolve in the same transaction. */
export async function deleteRule(db: Db, orgId: string, id: string, now = new Date()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const result = await rulesDb(trx).deleteFrom('alert_rules').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw notFound('Rule');
    await retireRule(trx, orgId, 'log', id, 'the rule was deleted', now);
  });
}

/** What the evaluator needs of the enabled rules that evaluate (no error). */
export interface LiveRule {
  id: string;
  version: number;
  spec: RuleSpec;
}

export async function liveRules(db: Db, orgId: string): Promise<LiveRule[]> {
  const rows = await rulesDb(db).selectFrom('alert_rules').select(['id', 'version', 'spec']).where('org_id', '=', orgId).where('enabled', '=', true).where('error', 'is', null).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, version: r.version, spec: r.spec }));
}

/** Marks a rule in error (the evaluator stops evaluating it until it is edited). */
export async function markRuleError(db: Db, orgId: string, id: string, error: string, at: Date): Promise<void> {
  await rulesDb(db).updateTable('alert_rules').set({ error: error.slice(0, 2000), error_at: at }).where('org_id', '=', orgId).where('id', '=', id).execute();
}
