/**
 * Job alerts through the alert manager: a check is one alert instance (source `job`, rule id = the
 * check id, no identity labels, so renaming a check keeps its instance), active while the check is
 * down with an alerted condition. The manager owns its state, reminders and notifications; the
 * jobs domain only reports conditions, in the transaction that changed the check.
 *
 * Routing of a check: one group per check, no group wait nor group interval (a job alert goes out
 * at once, as before the manager), repeat interval = the check's re-alert setting (none: never),
 * channels = the check's channels.
 */
import { reportConditions, rerouteRule, type ConditionReport, type ManagerOptions, type Routing } from '../alerting/index.js';
import type { Db } from '../../platform/store/index.js';
import type { CheckRow } from './checks.js';
import type { CheckCondition } from './lifecycle.js';

/** What is reported: a lifecycle condition, or the check leaving monitoring while alerted. */
type ReportedKind = CheckCondition['kind'] | 'paused' | 'deleted';

const TITLES: Record<ReportedKind, string> = {
  fail: 'failed',
  too_short: 'finished too fast',
  missed: 'missed its run',
  too_long: 'is running too long',
  recovered: 'is up again',
  paused: 'was paused',
  deleted: 'was deleted',
};
const CLEARS: ReadonlySet<ReportedKind> = new Set(['recovered', 'paused', 'deleted']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const checkName = (check: Pick<CheckRow, 'name' | 'slug' | 'id'>) => check.name || check.slug || check.id;

export function checkRouting(check: Pick<CheckRow, 'channels' | 'realert_s'>): Routing {
  return {
    channels:
      check.channels === '*'
        ? '*'
        : check.channels
            .split(',')
            .map((c) => c.trim())
            .filter((c) => UUID.test(c)),
    groupBy: [],
    groupWaitMs: 0,
    groupIntervalMs: 0,
    repeatIntervalMs: check.realert_s ? check.realert_s * 1000 : Number.POSITIVE_INFINITY,
  };
}

/** The report of a check's condition: active for a failure, a missed run, a run too long or too short; inactive when it recovered. */
export function checkReport(check: CheckRow, condition: { kind: ReportedKind; reason: string }, at: Date, details: Record<string, unknown> = {}): ConditionReport {
  const name = checkName(check);
  return {
    orgId: check.org_id,
    source: 'job',
    ruleId: check.id,
    ruleName: name,
    labels: {},
    // check_id: what maintenance windows (mute windows of kind maintenance) match one check by.
    displayLabels: { check: name, check_id: check.id, ...(check.tags ? { tags: check.tags } : {}) },
    at,
    active: !CLEARS.has(condition.kind),
    value: null,
    threshold: null,
    reason: condition.reason,
    summary: `Job "${name}" ${TITLES[condition.kind]}`,
    kind: condition.kind,
    severity: 'critical',
    timing: { forMs: 0, keepFiringForMs: 0 },
    routing: checkRouting(check),
    link: `/checks/${check.id}`,
    details: { check_id: check.id, check_name: name, status: check.status, tags: check.tags, ...details },
  };
}

/** Reports a check's condition to the alert manager in the caller's transaction (`now`: when it was seen). */
export async function reportCheck(trx: Db, check: CheckRow, condition: { kind: ReportedKind; reason: string }, at: Date, details: Record<string, unknown> = {}, options: ManagerOptions = {}): Promise<void> {
  await reportConditions(trx, [checkReport(check, condition, at, details)], at, options);
}

/**
 * A check that was alerted down stops being monitored (paused, deleted): its instance resolves,
 * so the manager neither reminds of it forever nor keeps it firing on the alerts page.
 */
export async function endCheckAlert(trx: Db, check: CheckRow, kind: 'paused' | 'deleted', at: Date): Promise<void> {
  await reportCheck(trx, check, { kind, reason: kind === 'paused' ? 'paused by user' : 'check deleted' }, at);
}

/** The check's channels or re-alert setting changed: its alert group follows. */
export async function rerouteCheck(trx: Db, check: CheckRow, at: Date): Promise<void> {
  await rerouteRule(trx, check.org_id, 'job', check.id, checkRouting(check), at);
}
