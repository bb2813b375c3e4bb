import { describe, expect, it } from 'vitest';
import { actionByBody, applyDeadlines, applyPing, displayStatus, matchesKeywords, type CheckPolicy, type CheckState, type PingEvent } from './lifecycle.js';

const policy = (p: Partial<CheckPolicy> = {}): CheckPolicy => ({
  kind: 'simple',
  timeoutS: 60,
  graceS: 30,
  schedule: '',
  tz: 'UTC',
  maxRuntimeS: null,
  minRuntimeS: null,
  failureThreshold: 1,
  manualResume: false,
  methods: '',
  filterHttpBody: false,
  filterDefaultFail: false,
  startKw: '',
  successKw: '',
  failureKw: '',
  ...p,
});
const fresh: CheckState = {
  status: 'new',
  statusReason: '',
  lastPingAt: null,
  lastStartAt: null,
  lastStartRid: null,
  consecutiveFailures: 0,
  alertedDown: false,
  lateAt: null,
  downAt: null,
  runtimeDeadlineAt: null,
  nextRealertAt: null,
};
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
let n = 0;
const ping = (action: PingEvent['action'], at: Date, extra: Partial<PingEvent> = {}): PingEvent => ({ action, at, method: 'GET', rid: null, exitStatus: null, n: ++n, ...extra });

describe('pings', () => {
  it('a success makes a new check up and sets its deadlines', () => {
    const d = applyPing(policy(), fresh, ping('success', t(0)), null);
    expect(d.state.status).toBe('up');
    expect(d.flip).toMatchObject({ from: 'new', to: 'up' });
    expect(d.state.lateAt).toEqual(t(60));
    expect(d.state.downAt).toEqual(t(90));
    expect(d.alert).toBeUndefined();
  });

  it('a failure alerts once with the exit status in the reason', () => {
    const up = applyPing(policy(), fresh, ping('success', t(0)), null).state;
    const d = applyPing(policy(), up, ping('fail', t(10), { exitStatus: 3 }), null);
    expect(d.state.status).toBe('down');
    expect(d.alert).toMatchObject({ kind: 'fail', state: 'firing' });
    expect(d.alert?.reason).toContain('exit status 3');
    const again = applyPing(policy(), d.state, ping('fail', t(20), { exitStatus: 3 }), null);
    expect(again.alert).toBeUndefined();
  });

  it('recovery after an alerted failure sends a resolved alert', () => {
    const down = applyPing(policy(), fresh, ping('fail', t(0)), null).state;
    const d = applyPing(policy(), down, ping('success', t(5)), null);
    expect(d.state.status).toBe('up');
    expect(d.alert).toMatchObject({ kind: 'recovered', state: 'resolved' });
  });

  it('alerts only after N consecutive failures', () => {
    const p = policy({ failureThreshold: 3 });
    let s = applyPing(p, fresh, ping('success', t(0)), null).state;
    const first = applyPing(p, s, ping('fail', t(1)), null);
    expect(first.state.status).toBe('up');
    expect(first.alert).toBeUndefined();
    s = applyPing(p, first.state, ping('fail', t(2)), null).state;
    const third = applyPing(p, s, ping('fail', t(3)), null);
    expect(third.state.status).toBe('down');
    expect(third.alert?.reason).toContain('3 consecutive failures');
  });

  it('a success between failures resets the count', () => {
    const p = policy({ failureThreshold: 2 });
    let s = applyPing(p, fresh, ping('fail', t(1)), null).state;
    s = applyPing(p, s, ping('success', t(2)), null).state;
    expect(applyPing(p, s, ping('fail', t(3)), null).state.status).toBe('up');
  });

  it('a run finishing faster than the minimum counts as a failure', () => {
    const p = policy({ minRuntimeS: 10 });
    const started = applyPing(p, fresh, ping('start', t(0), { rid: 'r1' }), null).state;
    const d = applyPing(p, started, ping('success', t(2), { rid: 'r1' }), { startedAt: t(0) });
    expect(d.run).toMatchObject({ op: 'close', outcome: 'too_short', durationMs: 2000 });
    expect(d.alert?.kind).toBe('too_short');
    expect(d.alert?.reason).toContain('finished too fast');
  });

  it('records duration and marks an over-long success as too_long', () => {
    const p = policy({ maxRuntimeS: 5 });
    const started = applyPing(p, fresh, ping('start', t(0)), null).state;
    expect(started.runtimeDeadlineAt).toEqual(t(5));
    const d = applyPing(p, started, ping('success', t(8)), { startedAt: t(0) });
    expect(d.run).toMatchObject({ outcome: 'too_long', durationMs: 8000 });
    expect(d.state.status).toBe('up');
  });

  it('ignores non-POST pings when methods is POST, and pings to a manually resumed paused check', () => {
    expect(applyPing(policy({ methods: 'POST' }), fresh, ping('success', t(0)), null).kind).toBe('ign');
    expect(applyPing(policy({ manualResume: true }), { ...fresh, status: 'paused' }, ping('success', t(0)), null).kind).toBe('ign');
  });

  it('a ping resumes a paused check without manual resume', () => {
    expect(applyPing(policy(), { ...fresh, status: 'paused' }, ping('success', t(0)), null).state.status).toBe('up');
  });

  it('log pings change nothing', () => {
    const d = applyPing(policy(), fresh, ping('log', t(0)), null);
    expect(d.kind).toBe('log');
    expect(d.state).toBe(fresh);
  });
});

describe('deadlines', () => {
  const up = () => applyPing(policy(), fresh, ping('success', t(0)), null).state;

  it('nothing is due before the grace ends; late is shown in the grace', () => {
    const s = up();
    expect(applyDeadlines(policy(), s, t(89), false)).toBeNull();
    expect(displayStatus(s, t(70))).toBe('late');
    expect(displayStatus(s, t(30))).toBe('up');
  });

  it('a missed run flips down once with a stable key', () => {
    const s = up();
    const d = applyDeadlines(policy(), s, t(90), false);
    expect(d?.state.status).toBe('down');
    expect(d?.alert).toMatchObject({ kind: 'missed', key: `missed:${t(90).toISOString()}` });
    expect(applyDeadlines(policy(), d!.state, t(95), false)).toBeNull();
  });

  it('a missed run during maintenance flips without alerting, and the next success sends no recovery', () => {
    const d = applyDeadlines(policy(), up(), t(90), true);
    expect(d?.state.status).toBe('down');
    expect(d?.alert).toBeUndefined();
    expect(applyPing(policy(), d!.state, ping('success', t(100)), null).alert).toBeUndefined();
  });

  it('new checks never go down on their own', () => {
    expect(applyDeadlines(policy(), fresh, t(10_000), false)).toBeNull();
  });

  it('a run that does not finish within the maximum run time alerts too_long', () => {
    const p = policy({ maxRuntimeS: 10 });
    const s = applyPing(p, up(), ping('start', t(5), { rid: 'r' }), null).state;
    expect(applyDeadlines(p, s, t(14), false)).toBeNull();
    const d = applyDeadlines(p, s, t(15), false);
    expect(d?.alert).toMatchObject({ kind: 'too_long', key: `too_long:${t(5).toISOString()}` });
    expect(d?.alert?.reason).toContain('maximum run time');
  });

  it('without a maximum run time, the grace limits a started run (Healthchecks behaviour)', () => {
    const s = applyPing(policy(), up(), ping('start', t(5)), null).state;
    expect(applyDeadlines(policy(), s, t(35), false)?.alert?.kind).toBe('too_long');
  });

  it('never reminds by itself: reminders are the alert manager\'s repeat interval', () => {
    const down = applyPing(policy(), fresh, ping('fail', t(0)), null).state;
    expect(down.nextRealertAt).toBeNull();
    expect(applyDeadlines(policy(), down, t(3600), false)?.alert).toBeUndefined();
  });

  it('a legacy reminder deadline (from before the alert manager) sends nothing and is cleared (not found again by every sweep)', () => {
    const down = { ...applyPing(policy(), fresh, ping('fail', t(0)), null).state, nextRealertAt: t(60) };
    const d = applyDeadlines(policy(), down, t(61), false);
    expect(d).toEqual({ state: { ...down, nextRealertAt: null } });
    expect(applyDeadlines(policy(), d!.state, t(62), false)).toBeNull();
  });
});

describe('HTTP body filtering (Healthchecks\' filter_http_body)', () => {
  const filtering = policy({ filterHttpBody: true, startKw: 'STARTING', successKw: 'SUCCESS, all good', failureKw: 'ERROR,FATAL' });
  it('matches comma-separated keywords, blanks ignored', () => {
    expect(matchesKeywords('backup: all good', 'SUCCESS, all good')).toBe(true);
    expect(matchesKeywords('anything', ' , ,')).toBe(false);
  });
  it('lets the body decide: failure over success over start; no match is ignored, or a failure with filter_default_fail', () => {
    expect(actionByBody(filtering, 'success', 'ERROR then SUCCESS')).toBe('fail');
    expect(actionByBody(filtering, 'fail', 'SUCCESS')).toBe('success');
    expect(actionByBody(filtering, 'success', 'STARTING backup')).toBe('start');
    expect(actionByBody(filtering, 'success', 'nothing to see')).toBe('ign');
    expect(actionByBody({ ...filtering, filterDefaultFail: true }, 'success', 'nothing to see')).toBe('fail');
    expect(actionByBody(policy(), 'success', 'ERROR')).toBe('success');
  });
  it('records a ping whose body matches nothing as ignored, without changing the check', () => {
    const d = applyPing(filtering, fresh, { action: 'success', at: new Date(0), method: 'POST', rid: null, exitStatus: null, n: 1, body: 'hello' }, null);
    expect(d.kind).toBe('ign');
    expect(d.state).toBe(fresh);
  });
  it('turns a plain success ping with a failure keyword into a failure', () => {
    const d = applyPing(filtering, fresh, { action: 'success', at: new Date(0), method: 'POST', rid: null, exitStatus: null, n: 1, body: 'FATAL: disk full' }, null);
    expect(d.kind).toBe('fail');
    expect(d.state.status).toBe('down');
  });
});
