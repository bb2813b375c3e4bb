import type { CheckStatus, PingKind, RunOutcome } from './tables.js';
import { deadlinesAfter, describeDuration, type Schedule } from './schedule.js';

/**
 * The job-monitoring state machine, as pure functions: given a check's stored state and an event
 * (a ping, or the clock passing a deadline) it returns the new state and the effects to record.
 * The service applies the decision in one transaction; nothing here reads a clock or a database.
 */

export interface CheckPolicy extends Schedule {
  /** Longest a run may take after its start ping; null → the grace period (Healthchecks' behaviour). */
  maxRuntimeS: number | null;
  /** A success finishing sooner than this counts as a failure ("finished too fast"). */
  minRuntimeS: number | null;
  /** Alert only after this many consecutive failures. */
  failureThreshold: number;
  /** A paused check ignores pings until resumed from the API/UI. */
  manualResume: boolean;
  /** "POST": only POST pings count; others are recorded as ignored. */
  methods: string;
  /** Healthchecks' HTTP body filtering: when on, the body's keywords decide what a ping is. */
  filterHttpBody: boolean;
  /** With filtering on, a body matching no keyword is a failure (else it is ignored). */
  filterDefaultFail: boolean;
  /** Comma-separated keywords; a ping whose body contains one is a start / success / failure. */
  startKw: string;
  successKw: string;
  failureKw: string;
}

export interface CheckState {
  status: CheckStatus;
  statusReason: string;
  lastPingAt: Date | null;
  lastStartAt: Date | null;
  lastStartRid: string | null;
  consecutiveFailures: number;
  /** A down alert went out and no recovery yet: the next up sends "recovered". */
  alertedDown: boolean;
  lateAt: Date | null;
  downAt: Date | null;
  runtimeDeadlineAt: Date | null;
  /**
   * Legacy: when the next reminder was due, from before the alert manager owned reminders (its
   * repeat interval). Never set now; a stale one is cleared by `applyDeadlines`.
   */
  nextRealertAt: Date | null;
}

export type PingAction = 'success' | 'fail' | 'start' | 'log';

export interface PingEvent {
  action: PingAction;
  at: Date;
  method: string;
  rid: string | null;
  exitStatus: number | null;
  /** The ping's sequence number for this check (1, 2, …): makes alert keys unique per ping. */
  n: number;
  /** The body kept with the ping (its tail), for keyword filtering. */
  body?: string | null;
}

/** The run a finish ping closes, found by the caller (same rid, or the open run without rid). */
export interface OpenRun {
  startedAt: Date;
}

export type CheckConditionKind = 'fail' | 'too_short' | 'missed' | 'too_long' | 'recovered';

/**
 * A condition of a check that the lifecycle reports to the alert manager (a failed or missed run,
 * a run too long or too short, a recovery). Reminders are the manager's (the check's repeat
 * interval), not the lifecycle's. Not the stream domain's threshold
 * transitions: those are `AlertDecision` over there.
 */
export interface CheckCondition {
  kind: CheckConditionKind;
  state: 'firing' | 'resolved';
  /** Suffix of the idempotency key: the same occurrence always yields the same key. */
  key: string;
  reason: string;
}

export interface Decision {
  state: CheckState;
  flip?: { from: CheckStatus; to: CheckStatus; reason: string };
  /** The condition to raise an alert for, if any. */
  alert?: CheckCondition;
}

export interface PingDecision extends Decision {
  /** How the ping is recorded ('ign' when filtered out). */
  kind: PingKind;
  run?: { op: 'open' } | { op: 'close'; outcome: RunOutcome; durationMs: number | null };
}

const addS = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000);

function transition(prev: CheckState, next: CheckState, reason: string): Decision['flip'] {
  return prev.status === next.status ? undefined : { from: prev.status, to: next.status, reason };
}

/** Whether the text contains one of the comma-separated keywords (blank ones ignored), as Healthchecks matches. */
export function matchesKeywords(text: string, keywords: string): boolean {
  return keywords.split(',').some((k) => {
    const keyword = k.trim();
    return keyword !== '' && text.includes(keyword);
  });
}

/**
 * What a ping is once its body is read, when the check filters by body (Healthchecks' rule): the
 * failure keywords win over success, success over start; no match is a failure with
 * `filterDefaultFail`, else the ping is ignored. The URL's own action does not count then.
 */
export function actionByBody(policy: Pick<CheckPolicy, 'filterHttpBody' | 'filterDefaultFail' | 'startKw' | 'successKw' | 'failureKw'>, action: PingAction, body: string | null | undefined): PingAction | 'ign' {
  if (!policy.filterHttpBody) return action;
  const text = body ?? '';
  if (policy.failureKw && matchesKeywords(text, policy.failureKw)) return 'fail';
  if (policy.successKw && matchesKeywords(text, policy.successKw)) return 'success';
  if (policy.startKw && matchesKeywords(text, policy.startKw)) return 'start';
  return policy.filterDefaultFail ? 'fail' : 'ign';
}

export function applyPing(policy: CheckPolicy, prev: CheckState, event: PingEvent, openRun: OpenRun | null): PingDecision {
  if (policy.methods === 'POST' && event.method !== 'POST') return { kind: 'ign', state: prev };
  const action = actionByBody(policy, event.action, event.body);
  if (action === 'ign') return { kind: 'ign', state: prev };
  const ping: PingEvent = action === event.action ? event : { ...event, action };
  if (prev.status === 'paused' && policy.manualResume) return { kind: 'ign', state: prev };
  if (ping.action === 'log') return { kind: 'log', state: prev };

  // A ping to a paused check (without manual resume) resumes it: it is judged like any other.
  const base: CheckState = { ...prev, lastPingAt: ping.at };

  if (ping.action === 'start') {
    const limit = policy.maxRuntimeS ?? policy.graceS;
    const state: CheckState = {
      ...base,
      status: prev.status === 'paused' ? 'new' : prev.status,
      lastStartAt: ping.at,
      lastStartRid: ping.rid,
      runtimeDeadlineAt: addS(ping.at, limit),
      // While a run is in progress the run-time limit, not the schedule, decides when it is overdue.
      downAt: null,
    };
    return { kind: 'start', state, run: { op: 'open' }, flip: transition(prev, state, 'start ping') };
  }

  const durationMs = openRun ? ping.at.getTime() - openRun.startedAt.getTime() : null;
  const tooShort = ping.action === 'success' && durationMs !== null && policy.minRuntimeS !== null && durationMs < policy.minRuntimeS * 1000;
  const tooLong = durationMs !== null && durationMs > (policy.maxRuntimeS ?? policy.graceS) * 1000;
  const failed = ping.action === 'fail' || tooShort;
  const outcome: RunOutcome = tooShort ? 'too_short' : ping.action === 'fail' ? 'fail' : tooLong ? 'too_long' : 'success';

  // The run finished (well or not): it was not missed, so the schedule's next deadlines start from now.
  const { lateAt, downAt } = deadlinesAfter(policy, ping.at);
  const closesCurrentRun = !ping.rid || ping.rid === prev.lastStartRid;
  const finished: CheckState = {
    ...base,
    lateAt,
    downAt,
    lastStartAt: closesCurrentRun ? null : prev.lastStartAt,
    lastStartRid: closesCurrentRun ? null : prev.lastStartRid,
    runtimeDeadlineAt: closesCurrentRun ? null : prev.runtimeDeadlineAt,
  };
  const run = { op: 'close' as const, outcome, durationMs };

  if (!failed) {
    const state: CheckState = { ...finished, status: 'up', statusReason: 'success', consecutiveFailures: 0, alertedDown: false, nextRealertAt: null };
    const reason = ping.exitStatus === 0 ? 'success ping (exit status 0)' : 'success ping';
    const alert: CheckCondition | undefined = prev.alertedDown
      ? { kind: 'recovered', state: 'resolved', key: `recovered:${ping.n}`, reason: `back up: ${reason}` }
      : undefined;
    return { kind: 'success', state, run, flip: transition(prev, state, reason), alert };
  }

  const failures = prev.consecutiveFailures + 1;
  const what = tooShort
    ? `finished too fast: ran ${describeDuration((durationMs ?? 0) / 1000)}, minimum is ${describeDuration(policy.minRuntimeS ?? 0)}`
    : ping.exitStatus !== null
      ? `failed with exit status ${ping.exitStatus}`
      : 'fail ping';
  if (failures < policy.failureThreshold) {
    const state: CheckState = {
      ...finished,
      status: prev.status === 'paused' || prev.status === 'new' ? 'up' : prev.status,
      statusReason: `${what} (${failures} of ${policy.failureThreshold} consecutive failures before alerting)`,
      consecutiveFailures: failures,
    };
    return { kind: 'fail', state, run, flip: transition(prev, state, state.statusReason) };
  }
  const reason = policy.failureThreshold > 1 ? `${what}; ${failures} consecutive failures` : what;
  const state: CheckState = {
    ...finished,
    status: 'down',
    statusReason: reason,
    consecutiveFailures: failures,
    alertedDown: true,
  };
  // Already down and alerted: a further failure is recorded, not alerted again (the manager's repeat interval reminds).
  const alert: CheckCondition | undefined =
    prev.status === 'down' && prev.alertedDown ? undefined : { kind: tooShort ? 'too_short' : 'fail', state: 'firing', key: `${tooShort ? 'too_short' : 'fail'}:${ping.n}`, reason };
  return { kind: 'fail', state, run, flip: transition(prev, state, reason), alert };
}

/**
 * What the clock passing `now` does to a check: a run over its time limit, a missed run.
 * Returns null when nothing is due. `inMaintenance`: missed runs during a window flip without alerting.
 * A past deadline that calls for nothing is cleared, so that the sweeper does not find it again.
 */
export function applyDeadlines(policy: CheckPolicy, prev: CheckState, now: Date, inMaintenance: boolean): Decision | null {
  if (prev.status === 'paused') return null;

  if (prev.runtimeDeadlineAt && prev.lastStartAt && prev.runtimeDeadlineAt <= now) {
    const limit = policy.maxRuntimeS ?? policy.graceS;
    const reason = `run started at ${prev.lastStartAt.toISOString()} has not finished within ${describeDuration(limit)}${policy.maxRuntimeS === null ? ' (the grace period)' : ' (maximum run time)'}`;
    const state: CheckState = {
      ...prev,
      status: 'down',
      statusReason: reason,
      runtimeDeadlineAt: null,
      alertedDown: prev.alertedDown || prev.status !== 'down',
    };
    const alert: CheckCondition | undefined =
      prev.status === 'down' && prev.alertedDown ? undefined : { kind: 'too_long', state: 'firing', key: `too_long:${prev.lastStartAt.toISOString()}`, reason };
    return { state, flip: transition(prev, state, reason), alert };
  }

  if (prev.downAt && prev.downAt <= now && prev.status !== 'down' && prev.status !== 'new') {
    const since = prev.lastPingAt ? `since ${prev.lastPingAt.toISOString()}` : 'yet';
    const expected = prev.lateAt ? `, expected by ${prev.lateAt.toISOString()}` : '';
    if (inMaintenance) {
      const reason = `missed run during a maintenance window: no ping ${since}${expected} (not alerted)`;
      const state: CheckState = { ...prev, status: 'down', statusReason: reason, downAt: null, alertedDown: false };
      return { state, flip: transition(prev, state, reason) };
    }
    const reason = `missed run: no ping ${since}${expected} plus ${describeDuration(policy.graceS)} grace`;
    const state: CheckState = {
      ...prev,
      status: 'down',
      statusReason: reason,
      downAt: null,
      alertedDown: true,
    };
    return { state, flip: transition(prev, state, reason), alert: { kind: 'missed', state: 'firing', key: `missed:${prev.downAt.toISOString()}`, reason } };
  }
  if (prev.downAt && prev.downAt <= now) {
    // Down already (or new): the deadline has nothing left to say.
    return { state: { ...prev, downAt: null } };
  }

  if (prev.nextRealertAt && prev.nextRealertAt <= now) {
    // A reminder deadline from before the alert manager owned reminders: stale, cleared so that the
    // sweeper does not find it again (the manager's repeat interval reminds now).
    return { state: { ...prev, nextRealertAt: null } };
  }
  return null;
}

/** Status as users see it: "late" is an up check past its expected time but within its grace. */
export function displayStatus(state: Pick<CheckState, 'status' | 'lateAt'>, now: Date): CheckStatus | 'late' {
  if (state.status === 'up' && state.lateAt && state.lateAt <= now) return 'late';
  return state.status;
}
