import { every, type Worker } from '../../platform/worker.js';
import { asSystem } from '../../platform/store/index.js';
import { dueChecks, lockCheckIfFree, policyOf, stateOf, writeCheckState, type CheckRow } from './checks.js';
import { markRunTooLong } from './history.js';
import { applyDeadlines } from './lifecycle.js';
import { maintenanceChecker } from './maintenance.js';
import { recordEffects } from './pings.js';
import { publishCheck, type LiveDeps } from './live.js';
import { jobsDb } from './tables.js';

const BATCH = 200;

/** What the sweeper needs: the store, and the live hub to tell dashboards what changed. */
export type SweeperDeps = LiveDeps;

/**
 * Finds checks whose stored deadline has passed (missed run, run over its time limit) and applies
 * them; reminders are the alert manager's (its repeat interval). Deadlines live in the database, so a restart or a second instance finds the same
 * work; each check is handled in its own transaction under a row lock taken with SKIP LOCKED, and
 * alert idempotency keys make a repeated attempt a no-op.
 */
export async function sweepDue(deps: SweeperDeps, now: Date = new Date()): Promise<number> {
  const due = await dueChecks(deps.db, now, BATCH);
  if (due.length === 0) return 0;
  // The maintenance windows of every organisation concerned, read once for the whole sweep.
  const inMaintenanceAt = await maintenanceChecker(deps.db, [...new Set(due.map((d) => d.org_id))], now);
  let changed = 0;
  for (const { id, org_id } of due) {
    const inMaintenance = inMaintenanceAt(org_id, id);
    const row = await sweepOne(deps, id, now, inMaintenance);
    if (row) {
      changed++;
      await publishCheck(deps, row);
    }
  }
  return changed;
}

async function sweepOne(deps: SweeperDeps, id: string, now: Date, inMaintenance: boolean): Promise<CheckRow | undefined> {
  return jobsDb(deps.db)
    .transaction()
    .execute(async (trx) => {
      const check = await lockCheckIfFree(trx, id);
      if (!check) return undefined; // another instance (or a ping) holds it; it will be seen again
      const decision = applyDeadlines(policyOf(check), stateOf(check), now, inMaintenance);
      if (!decision) return undefined;
      if (decision.alert?.kind === 'too_long' && check.last_start_at) await markRunTooLong(trx, check.id, check.last_start_at);
      const updated = await writeCheckState(trx, check.id, decision.state);
      await recordEffects(trx, updated, decision, now, {}, { baseUrl: deps.baseUrl });
      return decision.flip || decision.alert ? updated : undefined;
    });
}

/** Sweeps every `intervalMs` (VIGIL_SWEEP_INTERVAL_MS); a failed sweep is logged and the next one tries again. */
export function startSweeper(deps: SweeperDeps, intervalMs: number): Worker {
  return every(intervalMs, () => asSystem('the deadline sweeper checks every organisation\'s checks', () => sweepDue(deps)), (error) => deps.logger.error({ err: error }, 'deadline sweep failed'));
}
