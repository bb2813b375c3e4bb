import type { Logger } from 'pino';
import type { LiveHub } from '../../platform/live.js';
import { asSystem, type Db } from '../../platform/store/index.js';
import { every, type Worker } from '../../platform/worker.js';
import { decideGroups, loadSuppressions, type ManagerOptions } from './manager.js';
import { claimDueGroups, selectDueGroups } from './store.js';
import { alertingDb } from './tables.js';
import { publishAlertChanges } from './live.js';

const BATCH = 200;

export interface AlertWorkerDeps {
  db: Db;
  logger: Logger;
  live: LiveHub;
  /** Public base URL for notification links. */
  baseUrl: string;
}

/**
 * Flushes the groups whose `wake_at` has passed (group wait, group interval, repeat interval, a
 * silence ending, a mute window opening or closing): those of one organisation in one transaction,
 * decided together (manager.ts `decideGroups`), under row locks taken with SKIP LOCKED, so several
 * instances share the work and none sends what another sent. Returns how many notified.
 */
export async function flushDueGroups(deps: Pick<AlertWorkerDeps, 'db'> & ManagerOptions, now: Date = new Date()): Promise<number> {
  const due = await selectDueGroups(deps.db, now, BATCH);
  const byOrg = new Map<string, string[]>();
  for (const { org_id, group_key } of due) byOrg.set(org_id, [...(byOrg.get(org_id) ?? []), group_key]);
  let notified = 0;
  for (const [orgId, keys] of byOrg) {
    notified += await alertingDb(deps.db)
      .transaction()
      .execute(async (trx) => {
        // Those another instance holds, or that were decided meanwhile, are left out.
        const groups = await claimDueGroups(trx, orgId, keys, now);
        if (groups.length === 0) return 0;
        const suppressions = await loadSuppressions(trx, orgId, now);
        return decideGroups(trx, groups, new Map([[orgId, suppressions]]), now, deps.baseUrl === undefined ? {} : { baseUrl: deps.baseUrl });
      });
  }
  return notified;
}

/** Flushes due groups every `intervalMs` (VIGIL_ALERT_INTERVAL_MS); a failed tick is logged and retried. */
export function startAlertFlusher(deps: AlertWorkerDeps, intervalMs: number): Worker {
  return every(intervalMs, () => asSystem('the alert flusher sends due groups of every organisation', () => flushDueGroups(deps)), (error) => deps.logger.error({ err: error }, 'alert group flush failed'));
}

/**
 * Pushes changed alert instances to dashboards (`alert` events of GET /api/v1/events) every
 * `intervalMs`. Changes are read back from the store rather than published by the transactions that
 * made them, so every source (a ping, a sweep, the rule evaluator, another instance) is covered
 * without post-commit hooks; see live.ts for the overlap that catches late commits.
 */
export function startAlertLive(deps: AlertWorkerDeps, intervalMs: number): Worker {
  const cursor = { since: new Date(), seen: new Map<string, number>() };
  return every(intervalMs, () => asSystem('live alert updates follow every organisation\'s alerts', () => publishAlertChanges(deps, cursor)), (error) => deps.logger.warn({ err: error }, 'live alert updates failed'));
}
