/**
 * Criteria verbs: create, edit, delete, read, versions; the editor's check and schema; backtests.
 *
 * Invariants:
 * - Every create or edit that changes something inserts an immutable version (version = previous + 1)
 *   and updates the current state in ONE transaction, with its audit entry; an edit that changes
 *   nothing makes no version. The criterion row is locked meanwhile, so concurrent edits number
 *   their versions one after another.
 * - An expression is saved only if it type-checks as bool against the organisation's lists as they
 *   are in that transaction (the lists it reads are locked FOR SHARE: they cannot be deleted under it).
 * - A new version clears a pause; so does re-enabling (`enabled: true` sent to a paused criterion).
 * - Deleting sets deleted_at: the criterion disappears from every read but its versions, audit and
 *   alerts stay.
 * - Tenancy: every read and write names the caller's organisation; another's id is "not found".
 */
import type { z } from 'zod';
import type { backtestRequest, BacktestResult, CriterionPatch, CriterionSpec, CriterionView, ExpressionCheck, FraudSchema, criterionVersionView } from '../../contracts/fraud.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { Db } from '../../platform/store/index.js';
import { listChannels } from '../notify/index.js';
import { changesBetween, recordAudit, type Changes } from './audit.js';
import { runBacktest } from './backtest.js';
import { checkExpression, fraudSchemaFor } from './cel.js';
import { criterionExists, criterionStats, insertCriterion, insertVersion, selectCriteria, selectCriterion, selectVersions, updateCriterion, type CriterionRow } from './criteria-store.js';
import { criterionViewOf, patched, specColumns, specOf, versionViewOf } from './criteria-view.js';
import { listsUsedIn } from './lists-refs.js';
import { listSizes, lockListsShared } from './lists-store.js';

type VersionView = z.infer<typeof criterionVersionView>;

/** A 400 naming `expression` and, when the checker knows it, the line and column of each problem. */
function expressionProblem(check: ExpressionCheck): DomainError | undefined {
  const first = check.errors[0];
  if (!check.ok || first !== undefined) {
    const where = first && first.line !== null ? `line ${first.line}${first.column !== null ? `, column ${first.column}` : ''}: ` : '';
    const message = first?.message ?? 'does not type-check';
    return new DomainError('invalid_field', `expression: ${where}${message}`, {
      details: (check.errors.length > 0 ? check.errors : [{ message, line: null, column: null }]).map((e) => ({ field: 'expression', message: e.message, line: e.line, column: e.column })),
    });
  }
  if (check.type !== 'bool') {
    const message = `must be a condition (of type bool), but is of type ${check.type ?? 'unknown'}; compare it, e.g. shipment.declared_value_usd > 5000.0`;
    return new DomainError('invalid_field', `expression: ${message}`, { details: [{ field: 'expression', message, line: null, column: null }] });
  }
  return undefined;
}

/** Type-checks an expression to be saved or backtested, inside `db` (a transaction: the lists it reads stay); its aggregates. */
async function checkForSave(db: Db, orgId: string, expression: string) {
  await lockListsShared(db, orgId, listsUsedIn(expression));
  const check = checkExpression(expression, await listSizes(db, orgId));
  const problem = expressionProblem(check);
  if (problem) throw problem;
  return check.aggregates;
}

/** Each channel named must be one of the organisation's (another's id, or a removed channel's, would notify nobody). */
async function checkChannels(db: Db, orgId: string, channels: CriterionSpec['channels']): Promise<void> {
  if (channels === '*') return;
  const known = new Set((await listChannels(db, orgId)).map((c) => c.id));
  channels.forEach((id, i) => {
    if (!known.has(id)) throw invalidField(`channels[${i}]`, `no channel of this organisation has the id ${id} (see GET /api/v1/channels), or send "*" for all`);
  });
}

async function withStats(db: Db, orgId: string, rows: CriterionRow[], now: Date): Promise<CriterionView[]> {
  const stats = await criterionStats(
    db,
    orgId,
    rows.map((r) => r.id),
    now,
  );
  return rows.map((r) => criterionViewOf(r, stats.get(r.id)));
}

export async function listCriteria(db: Db, orgId: string, now = new Date()): Promise<CriterionView[]> {
  return withStats(db, orgId, await selectCriteria(db, orgId), now);
}

export async function getCriterion(db: Db, orgId: string, id: string, now = new Date()): Promise<CriterionView> {
  const row = await selectCriterion(db, orgId, id);
  if (!row) throw notFound('Criterion');
  const [view] = await withStats(db, orgId, [row], now);
  return view!;
}

export async function createCriterion(db: Db, orgId: string, spec: CriterionSpec, by: string | null, now = new Date()): Promise<CriterionView> {
  const row = await db.transaction().execute(async (trx) => {
    const aggregates = await checkForSave(trx, orgId, spec.expression);
    await checkChannels(trx, orgId, spec.channels);
    const id = newId();
    const columns = specColumns(spec, aggregates);
    const created = await insertCriterion(trx, { id, org_id: orgId, version: 1, ...columns, created_at: now, created_by: by, updated_at: now, updated_by: by });
    await insertVersion(trx, { criterion_id: id, version: 1, org_id: orgId, ...columns, created_at: now, created_by: by });
    await recordAudit(trx, { orgId, actor: by, action: 'criterion.created', criterionId: id, version: 1, changes: changesBetween(null, { ...spec }) });
    return created;
  });
  return criterionViewOf(row);
}

/**
 * Applies a patch. A change makes version + 1 (and resumes a paused criterion); no change but
 * `enabled: true` on a paused criterion resumes it without a version; otherwise nothing happens.
 */
export async function updateCriterionSpec(db: Db, orgId: string, id: string, patch: CriterionPatch, by: string | null, now = new Date()): Promise<CriterionView> {
  await db.transaction().execute(async (trx) => {
    const row = await selectCriterion(trx, orgId, id, true);
    if (!row) throw notFound('Criterion');
    const current = specOf(row);
    const next = patched(current, patch);
    const changes = changesBetween({ ...current }, { ...next });
    const pause: Changes = row.paused_reason !== null ? { paused_reason: { from: row.paused_reason, to: null } } : {};
    if (Object.keys(changes).length === 0) {
      if (patch.enabled === true && row.paused_reason !== null) {
        await updateCriterion(trx, orgId, id, { paused_reason: null, paused_at: null, updated_at: now, updated_by: by });
        await recordAudit(trx, { orgId, actor: by, action: 'criterion.resumed', criterionId: id, version: row.version, changes: pause });
      }
      return;
    }
    const aggregates = changes.expression ? await checkForSave(trx, orgId, next.expression) : row.aggregates;
    if (changes.channels) await checkChannels(trx, orgId, next.channels);
    const version = row.version + 1;
    const columns = specColumns(next, aggregates);
    await insertVersion(trx, { criterion_id: id, version, org_id: orgId, ...columns, created_at: now, created_by: by });
    await updateCriterion(trx, orgId, id, { ...columns, version, paused_reason: null, paused_at: null, updated_at: now, updated_by: by });
    await recordAudit(trx, { orgId, actor: by, action: 'criterion.updated', criterionId: id, version, changes: { ...changes, ...pause } });
  });
  return getCriterion(db, orgId, id, now);
}

/** Soft delete: gone from the criteria and from detection; versions, audit and alerts stay. */
export async function deleteCriterion(db: Db, orgId: string, id: string, by: string | null, now = new Date()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await selectCriterion(trx, orgId, id, true);
    if (!row) throw notFound('Criterion');
    await updateCriterion(trx, orgId, id, { deleted_at: now, updated_at: now, updated_by: by });
    await recordAudit(trx, { orgId, actor: by, action: 'criterion.deleted', criterionId: id, version: row.version, changes: { deleted: { from: false, to: true } } });
  });
}

/** Every version, newest first; a deleted criterion's versions stay readable (its alerts point at them). */
export async function listVersions(db: Db, orgId: string, id: string): Promise<VersionView[]> {
  if (!(await criterionExists(db, orgId, id))) throw notFound('Criterion');
  return (await selectVersions(db, orgId, id)).map(versionViewOf);
}

/** The editor's check as the user types: problems with line/column, the type, the aggregates (never an error answer). */
export async function checkDraft(db: Db, orgId: string, expression: string): Promise<ExpressionCheck> {
  return checkExpression(expression, await listSizes(db, orgId));
}

export async function schemaFor(db: Db, orgId: string): Promise<FraudSchema> {
  return fraudSchemaFor(await listSizes(db, orgId));
}

/** Runs a draft over the organisation's recent shipments; refused like a save when it does not check. */
export async function backtest(db: Db, orgId: string, request: z.output<typeof backtestRequest>, now = new Date()): Promise<BacktestResult> {
  const problem = expressionProblem(checkExpression(request.expression, await listSizes(db, orgId)));
  if (problem) throw problem;
  return runBacktest(db, orgId, request, now);
}
