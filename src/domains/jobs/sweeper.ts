import type { AppContext } from '../../platform/http/context.js';
import { every, type Worker } from '../../platform/worker.js';
import { policyOf, stateColumns, stateOf, type CheckRow } from './checks.js';
import { applyDeadlines } from './lifecycle.js';
import { isInWindow } from './maintenance.js';
import { recordEffects } from './pings.js';
import { publishCheck } from './live.js';

const BATCH = 200;

/**
 * Finds checks whose stored deadline has passed (missed run, run over its time limit, reminder due)
 * and applies them. Deadlines live in the database, so a restart or a second instance finds the same
 * work; each check is handled in its own transaction under a row lock taken with SKIP LOCKED, and
 * alert idempotency keys make a repeated attempt a no-op.
 */
export async function sweepDue(ctx: AppContext, now: Date = new Date()): Promise<number> {
  const due = await ctx.db
    .selectFrom('checks')
    .select(['id', 'org_id'])
    .where((eb) =>
      eb.or([
        eb('down_at', '<=', now),
        eb('runtime_deadline_at', '<=', now),
        eb.and([eb('next_realert_at', '<=', now), eb('status', '=', 'down')]),
      ]),
    )
    .limit(BATCH)
    .execute();
  if (due.length === 0) return 0;
  // The maintenance windows of every organisation concerned, read once for the whole sweep.
  const windows = await ctx.db
    .selectFrom('maintenance_windows')
    .select(['org_id', 'check_id', 'starts_at', 'ends_at', 'cron', 'tz', 'duration_s'])
    .where('org_id', 'in', [...new Set(due.map((d) => d.org_id))])
    .execute();
  let changed = 0;
  for (const { id, org_id } of due) {
    const inMaintenance = windows.some((w) => w.org_id === org_id && (w.check_id === null || w.check_id === id) && isInWindow(w, now));
    const row = await sweepOne(ctx, id, now, inMaintenance);
    if (row) {
      changed++;
      await publishCheck(ctx, row);
    }
  }
  return changed;
}

async function sweepOne(ctx: AppContext, id: string, now: Date, inMaintenance: boolean): Promise<CheckRow | undefined> {
  return ctx.db.transaction().execute(async (trx) => {
    const check = await trx.selectFrom('checks').selectAll().where('id', '=', id).forUpdate().skipLocked().executeTakeFirst();
    if (!check) return undefined; // another instance (or a ping) holds it; it will be seen again
    const decision = applyDeadlines(policyOf(check), stateOf(check), now, inMaintenance);
    if (!decision) return undefined;
    if (decision.alert?.kind === 'too_long' && check.last_start_at) {
      await trx
        .updateTable('runs')
        .set({ outcome: 'too_long' })
        .where('check_id', '=', check.id)
        .where('outcome', '=', 'running')
        .where('started_at', '=', check.last_start_at)
        .execute();
    }
    const updated = await trx.updateTable('checks').set(stateColumns(decision.state)).where('id', '=', check.id).returningAll().executeTakeFirstOrThrow();
    await recordEffects(trx, updated, decision, now);
    return decision.flip || decision.alert ? updated : undefined;
  });
}

export function startSweeper(ctx: AppContext): Worker {
  return every(ctx.config.VIGIL_SWEEP_INTERVAL_MS, () => sweepDue(ctx), (error) => ctx.logger.error({ err: error }, 'deadline sweep failed'));
}
