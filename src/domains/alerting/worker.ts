import type { Logger } from 'pino';
import type { LiveHub } from '../../platform/live.js';
import { asSystem, type Db } from '../../platform/store/index.js';
import { every, type Worker } from '../../platform/worker.js';
import { decideAndNotify, loadSuppressions, type ManagerOptions } from './manager.js';
import { claimDueGroup, selectDueGroups } from './store.js';
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
 * silence ending, a mute window opening or closing): each in its own transaction under a row lock taken with SKIP LOCKED, so several
 * instances share the work and none sends what another sent. Returns how many notified.
 */
export async function flushDueGroups(deps: Pick<AlertWorkerDeps, 'db'> & ManagerOptions, now: Date = new Date()): Promise<number> {
  const due = await selectDueGroups(deps.db, now, BATCH);
  let notified = 0;
  for (const { org_id, group_key } of due) {
    const sent = await alertingDb(deps.db)
      .transaction()
      .execute(async (trx) => {
        const group = await claimDueGroup(trx, org_id, group_key, now);
        if (!group) return false; // another instance holds it, or it was decided meanwhile
        const suppressions = await loadSuppressions(trx, org_id, now);
        return decideAndNotify(trx, group, suppressions, now, deps.baseUrl === undefined ? {} : { baseUrl: deps.baseUrl });
      });
    if (sent) notified++;
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
