import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IDLE_GROUP, decideGroup, type GroupMember, type GroupState, type GroupTiming } from './grouping.js';

const S = 1000;
const TIMING: GroupTiming = { groupWaitMs: 30 * S, groupIntervalMs: 300 * S, repeatIntervalMs: 4 * 3600 * S };
const firing = (fingerprint: string, since: number, silenced = false): GroupMember => ({ fingerprint, state: 'firing', since: since * S, silenced });
const resolved = (fingerprint: string, since: number): GroupMember => ({ fingerprint, state: 'resolved', since: since * S, silenced: false });

describe('alert group notifications', () => {
  it('sends one notification for a burst of instances, after group wait', () => {
    const burst = Array.from({ length: 20 }, (_, i) => firing(`section=/s${i}`, i % 5));
    const early = decideGroup(IDLE_GROUP, burst, 10 * S, TIMING);
    expect(early.notify).toBeUndefined();
    expect(early.wakeAt).toBe(30 * S); // group wait from the first member, not from the last
    const due = decideGroup(early.state, burst, 30 * S, TIMING);
    expect(due.notify?.kind).toBe('first');
    expect(due.notify?.firing).toHaveLength(20);
    // Asked again at the same instant (a redelivery, a restart): nothing is sent twice.
    expect(decideGroup(due.state, burst, 30 * S, TIMING).notify).toBeUndefined();
  });

  it('waits group interval before telling about a change, and sends the resolve of what it announced', () => {
    const first = decideGroup(IDLE_GROUP, [firing('a', 0)], 30 * S, TIMING);
    const members = [resolved('a', 40), firing('b', 50)];
    const early = decideGroup(first.state, members, 60 * S, TIMING);
    expect(early.notify).toBeUndefined();
    expect(early.wakeAt).toBe(330 * S);
    const update = decideGroup(early.state, members, 330 * S, TIMING);
    expect(update.notify).toEqual({ kind: 'update', firing: ['b'], resolved: ['a'] });
  });

  it('never announces an instance that fired and resolved before the group was due, nor its resolve', () => {
    const pending = decideGroup(IDLE_GROUP, [firing('a', 0)], 10 * S, TIMING);
    const later = decideGroup(pending.state, [resolved('a', 20)], 31 * S, TIMING);
    expect(later.notify).toBeUndefined();
    expect(later.state).toEqual(IDLE_GROUP);
  });

  it('repeats an unchanged firing group every repeat interval, and closes the episode on the last resolve', () => {
    const first = decideGroup(IDLE_GROUP, [firing('a', 0)], 30 * S, TIMING);
    expect(decideGroup(first.state, [firing('a', 0)], 3600 * S, TIMING).notify).toBeUndefined();
    const repeat = decideGroup(first.state, [firing('a', 0)], 30 * S + TIMING.repeatIntervalMs, TIMING);
    expect(repeat.notify).toEqual({ kind: 'repeat', firing: ['a'], resolved: [] });
    const closed = decideGroup(repeat.state, [resolved('a', 20_000)], 40_000 * S, TIMING);
    expect(closed.notify).toEqual({ kind: 'update', firing: [], resolved: ['a'] });
    expect(closed.state).toEqual(IDLE_GROUP);
    // The next firing is a new episode: group wait again.
    expect(decideGroup(closed.state, [firing('a', 50_000)], 50_010 * S, TIMING).wakeAt).toBe(50_030 * S);
  });

  it('leaves silenced instances out, but still sends the resolve of one announced before its silence', () => {
    expect(decideGroup(IDLE_GROUP, [firing('a', 0, true)], 60 * S, TIMING)).toEqual({ state: IDLE_GROUP, wakeAt: null });
    const first = decideGroup(IDLE_GROUP, [firing('a', 0), firing('b', 0)], 30 * S, TIMING);
    const silenced = decideGroup(first.state, [firing('a', 0, true), firing('b', 0)], 400 * S, TIMING);
    expect(silenced.notify).toBeUndefined(); // silencing is not news
    const repeat = decideGroup(silenced.state, [firing('a', 0, true), firing('b', 0)], 30 * S + TIMING.repeatIntervalMs, TIMING);
    expect(repeat.notify).toEqual({ kind: 'repeat', firing: ['b'], resolved: [] });
    const end = decideGroup(repeat.state, [resolved('a', 20_000), firing('b', 0)], 20_000 * S, TIMING);
    expect(end.notify).toEqual({ kind: 'update', firing: ['b'], resolved: ['a'] });
  });

  it('whatever the order and timing of changes, every announced instance gets exactly one resolve, and asking twice never sends twice', () => {
    const step = fc.record({ member: fc.constantFrom('a', 'b', 'c'), fire: fc.boolean(), silence: fc.boolean(), gapS: fc.integer({ min: 0, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const members = new Map<string, GroupMember>();
        let state: GroupState = IDLE_GROUP;
        let now = 0;
        const announcedFiring = new Set<string>();
        const resolves = new Map<string, number>();
        const ask = () => {
          const d = decideGroup(state, [...members.values()], now, TIMING);
          state = d.state;
          for (const f of d.notify?.firing ?? []) announcedFiring.add(f);
          for (const f of d.notify?.resolved ?? []) {
            expect(announcedFiring.has(f)).toBe(true);
            announcedFiring.delete(f);
            resolves.set(f, (resolves.get(f) ?? 0) + 1);
          }
          // The same question at the same instant has no new answer.
          expect(decideGroup(state, [...members.values()], now, TIMING).notify).toBeUndefined();
        };
        for (const s of steps) {
          now += s.gapS * S;
          members.set(s.member, s.fire ? { fingerprint: s.member, state: 'firing', since: now, silenced: s.silence } : { fingerprint: s.member, state: 'resolved', since: now, silenced: false });
          ask();
        }
        // Everything resolves; after enough time every owed resolve has gone out.
        for (const m of members.values()) members.set(m.fingerprint, { ...m, state: 'resolved', since: now });
        now += TIMING.groupIntervalMs;
        ask();
        expect([...announcedFiring]).toEqual([]);
        expect(state).toEqual(IDLE_GROUP);
      }),
    );
  });
});

describe('groups of events (fraud matches)', () => {
  const EVENTS: GroupTiming = { ...TIMING, events: true };

  it('tells each event once, in the digest after group wait, and closes it', () => {
    const burst = [firing('e1', 0), firing('e2', 5), firing('e3', 10)];
    const early = decideGroup(IDLE_GROUP, burst, 10 * S, EVENTS);
    expect(early.notify).toBeUndefined();
    expect(early.wakeAt).toBe(30 * S);
    const due = decideGroup(early.state, burst, 30 * S, EVENTS);
    expect(due.notify).toEqual({ kind: 'first', firing: ['e1', 'e2', 'e3'], resolved: [] });
    expect(due.told).toEqual(['e1', 'e2', 'e3']);
    expect(due.state.announced).toEqual([]); // no resolve is owed for an event
    expect(due.wakeAt).toBeNull(); // no reminder
  });

  it('names only what is new in the next digest, a group interval after the last', () => {
    const first = decideGroup(IDLE_GROUP, [firing('e1', 0)], 30 * S, EVENTS);
    // e1 was closed by the manager: it is no longer a firing member.
    const early = decideGroup(first.state, [firing('e2', 60)], 60 * S, EVENTS);
    expect(early.notify).toBeUndefined();
    expect(early.wakeAt).toBe(330 * S);
    const update = decideGroup(early.state, [firing('e2', 60), firing('e3', 200)], 330 * S, EVENTS);
    expect(update.notify).toEqual({ kind: 'update', firing: ['e2', 'e3'], resolved: [] });
    expect(update.told).toEqual(['e2', 'e3']);
    // Asked again at the same instant with nothing firing (closed): nothing is sent twice.
    expect(decideGroup(update.state, [], 330 * S, EVENTS).notify).toBeUndefined();
  });

  it('after a quiet group interval, a new event waits group wait again to collect its burst', () => {
    const first = decideGroup(IDLE_GROUP, [firing('e1', 0)], 30 * S, EVENTS);
    const later = decideGroup(first.state, [firing('e2', 1000)], 1000 * S, EVENTS);
    expect(later.notify).toBeUndefined();
    expect(later.wakeAt).toBe(1030 * S);
    const due = decideGroup(later.state, [firing('e2', 1000), firing('e3', 1010)], 1030 * S, EVENTS);
    expect(due.notify).toEqual({ kind: 'first', firing: ['e2', 'e3'], resolved: [] });
  });

  it('closes silenced events without telling them', () => {
    const d = decideGroup(IDLE_GROUP, [firing('quiet', 0, true)], 30 * S, EVENTS);
    expect(d.notify).toBeUndefined();
    expect(d.told).toEqual(['quiet']);
    const mixed = decideGroup(IDLE_GROUP, [firing('quiet', 0, true), firing('loud', 0)], 30 * S, EVENTS);
    expect(mixed.notify?.firing).toEqual(['loud']);
    expect(mixed.told).toEqual(['loud', 'quiet']);
  });

  it('tells every unsilenced event exactly once, and closes every event, whatever the timing of arrivals and decisions (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.boolean()), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 40 }), (arrivals, asks) => {
        const events = arrivals.map(([at, quiet], i) => ({ fingerprint: `e${i}`, at, quiet }));
        const times = [...new Set([...events.map((e) => e.at), ...asks])].sort((a, b) => a - b);
        let state = IDLE_GROUP;
        let wake: number | null = null;
        const open = new Set<string>();
        const told = new Map<string, number>();
        const ask = (now: number) => {
          const members = events.filter((e) => e.at <= now && open.has(e.fingerprint)).map((e) => firing(e.fingerprint, e.at, e.quiet));
          const d = decideGroup(state, members, now * S, EVENTS);
          for (const f of d.notify?.firing ?? []) told.set(f, (told.get(f) ?? 0) + 1);
          for (const f of d.told ?? []) open.delete(f);
          state = d.state;
          wake = d.wakeAt === null ? null : d.wakeAt / S;
        };
        for (const t of times) {
          for (const e of events) if (e.at === t) open.add(e.fingerprint);
          while (wake !== null && wake <= t) ask(wake);
          ask(t);
        }
        while (wake !== null) ask(wake);
        expect([...told.values()].every((n) => n === 1)).toBe(true);
        expect([...told.keys()].sort()).toEqual(events.filter((e) => !e.quiet).map((e) => e.fingerprint).sort());
        expect(open.size).toBe(0);
      }),
    );
  });

  it('decides groups of 200,000 members (a fraud burst) without running out of call arguments or going quadratic', () => {
    const members = Array.from({ length: 200_000 }, (_, i) => firing(`m${i}`, 100 + (i % 50)));
    const events = decideGroup(IDLE_GROUP, members, 200 * S, { ...TIMING, events: true });
    expect(events.notify?.firing).toHaveLength(200_000);
    expect(events.told).toHaveLength(200_000);
    const first = decideGroup(IDLE_GROUP, members, 200 * S, TIMING);
    expect(first.state.firstActiveAt).toBe(100 * S);
    const update = decideGroup(first.state, [...members.slice(1), firing('new', 300)], 600 * S, TIMING);
    expect(update.notify).toMatchObject({ kind: 'update', resolved: ['m0'] });
  });
});

