import { describe, expect, it } from 'vitest';
import { NEW_INSTANCE, acknowledge, observe, type Instance, type InstanceTiming, type Observation } from './instance.js';

const S = 1000;
const on = (at: number, value = 1): Observation => ({ at: at * S, active: true, value, reason: `value ${value} > 0.5` });
const off = (at: number, value = 0): Observation => ({ at: at * S, active: false, value, reason: `value ${value} ≤ 0.5` });

/** Feeds observations in order; returns the final instance and the transitions as "from→to@s". */
function run(timing: InstanceTiming, observations: Observation[], start: Instance = NEW_INSTANCE) {
  let instance = start;
  const transitions: string[] = [];
  for (const o of observations) {
    const d = observe(instance, o, timing);
    instance = d.instance;
    if (d.transition) transitions.push(`${d.transition.from}→${d.transition.to}@${d.transition.at / S}`);
  }
  return { instance, transitions };
}

describe('alert instance', () => {
  it('fires at once without `for`, and resolves when the condition clears', () => {
    const { instance, transitions } = run({ forMs: 0, keepFiringForMs: 0 }, [on(0), on(1), off(2)]);
    expect(transitions).toEqual(['inactive→firing@0', 'firing→resolved@2']);
    expect(instance).toMatchObject({ state: 'resolved', firingSince: null, value: 0 });
  });

  it('waits for `for` while pending, and a condition that clears before never fires', () => {
    const timing = { forMs: 60 * S, keepFiringForMs: 0 };
    expect(run(timing, [on(0), on(30), off(45)]).transitions).toEqual(['inactive→pending@0', 'pending→inactive@45']);
    const { instance, transitions } = run(timing, [on(0), on(30), on(59), on(60)]);
    expect(transitions).toEqual(['inactive→pending@0', 'pending→firing@60']);
    expect(instance).toMatchObject({ state: 'firing', activeSince: 0, firingSince: 60 * S });
  });

  it('keeps firing for keep-firing-for after the condition clears, so a flap does not page twice', () => {
    const timing = { forMs: 0, keepFiringForMs: 120 * S };
    // Clear for 60 s, then active again: never resolved.
    expect(run(timing, [on(0), off(10), off(70), on(75), off(80), off(150)]).transitions).toEqual(['inactive→firing@0']);
    // Clear for the whole 120 s: resolved, at the observation that shows it.
    expect(run(timing, [on(0), off(10), off(130)]).transitions).toEqual(['inactive→firing@0', 'firing→resolved@130']);
  });

  it('starts a new, unacknowledged occurrence after a resolve', () => {
    const timing = { forMs: 0, keepFiringForMs: 0 };
    const first = run(timing, [on(0)]).instance;
    const acked = acknowledge(first, 5 * S);
    expect(acked.acknowledgedAt).toBe(5 * S);
    expect(acknowledge(acked, 9 * S).acknowledgedAt).toBe(5 * S);
    const { instance, transitions } = run(timing, [off(10), on(20)], acked);
    expect(transitions).toEqual(['firing→resolved@10', 'resolved→firing@20']);
    expect(instance.acknowledgedAt).toBeNull();
    expect(acknowledge(NEW_INSTANCE, 1)).toBe(NEW_INSTANCE);
  });

  it('records the reason and the value of each transition', () => {
    const d = observe(NEW_INSTANCE, { at: 7, active: true, value: 0.031, reason: 'error rate 3.1 % > 2 %' }, { forMs: 0, keepFiringForMs: 0 });
    expect(d.transition).toEqual({ from: 'inactive', to: 'firing', at: 7, reason: 'error rate 3.1 % > 2 %', value: 0.031 });
  });
});
