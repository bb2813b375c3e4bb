import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ruleInput } from '../src/contracts/alerting.js';
import { bootstrap } from '../src/domains/accounts/index.js';
import type { RuleReport } from '../src/domains/rules/index.js';
import { RulesEvaluator } from '../src/domains/rules/evaluator.js';
import { createRule } from '../src/domains/rules/rules.js';
import { migrateToLatest, openStore, type Store } from '../src/platform/store/index.js';
import { STORE_KINDS, freshPostgresDatabase, storeAvailable } from './support/server.js';
import { addTrafficCounts } from './support/traffic.js';

// The evaluator against a real store, driven tick by tick with a fake wall clock: a restart in the
// middle of an incident, catching up after an outage, and the outage tolerance.

const T0 = Math.floor(Date.now() / 1000) - 7200;

describe.each(STORE_KINDS)('rule evaluator (%s)', (kind) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(): Promise<{ store: Store; orgId: string }> {
    const pgdb = kind === 'postgres' ? await freshPostgresDatabase() : undefined;
    const store = await openStore({ untenanted: 'system', databaseUrl: pgdb?.url, dataDir: 'memory://', logger: pino({ level: 'silent' }) });
    cleanups.push(async () => {
      await store.close();
      await pgdb?.drop();
    });
    await migrateToLatest(store.db);
    const org = await bootstrap(store.db, { orgName: 'evaluator' });
    return { store, orgId: org.id };
  }

  const setWatermark = async (store: Store, orgId: string, second: number) => {
    await store.db
      .insertInto('stream_progress')
      .values({ consumer: 'traffic', org_id: orgId, watermark: new Date(second * 1000), too_late: 0, updated_at: new Date() })
      .onConflict((oc) => oc.columns(['consumer', 'org_id']).doUpdateSet({ watermark: new Date(second * 1000) }))
      .execute();
  };

  // leaseMs 0: a "new process" here takes over at once (a real one waits for the crashed one's lease to lapse).
  const evaluator = (store: Store, reports: RuleReport[], nowSecond: () => number, toleranceMs = 3_600_000, leaseMs = 0) =>
    new RulesEvaluator({ db: store.db, logger: pino({ level: 'silent' }), report: async (_trx, batch) => void reports.push(...batch), toleranceMs, idleGraceMs: 3_600_000, leaseMs, now: () => nowSecond() * 1000 });

  const changes = (reports: RuleReport[]) => {
    const last = new Map<string, boolean>();
    return reports.flatMap((r) => {
      const key = `${r.ruleName}${JSON.stringify(r.labels)}`;
      if ((last.get(key) ?? false) === r.active) return [];
      last.set(key, r.active);
      return [`${r.active ? 'fire' : 'clear'} ${r.at.getTime() / 1000 - T0} ${key}`];
    });
  };

  it.skipIf(!storeAvailable(kind))('a restart mid-incident rebuilds windows and mirrors: the resolve comes once and nothing is repeated', async () => {
    const { store, orgId } = await setup();
    await createRule(store.db, orgId, ruleInput.parse({ name: 'busy', metric: 'requests', group_by: ['section'], window: '10s', op: '>', threshold: 12, keep_firing_for: '3s' }));
    // /api: 1 hit a second for 20 s, 10 at +5 s: its 10 s window holds more than 12 from +5 s to +14 s.
    const rows = Array.from({ length: 20 }, (_, i) => ({ bucket: new Date((T0 + i + 1) * 1000), resolution: 1, section: '/api', hits: i === 4 ? 10 : 1 }));
    await addTrafficCounts(store.db, orgId, rows);
    const reports: RuleReport[] = [];
    await setWatermark(store, orgId, T0 + 9);
    await evaluator(store, reports, () => T0 + 60).tick();
    expect(changes(reports).filter((c) => c.startsWith('fire') || c.startsWith('clear')).filter((c) => c.includes('busy'))).toEqual(['fire 5 busy{"section":"/api"}']);

    // A new process (the old one's memory is gone) goes on from the stored position and snapshot.
    const after: RuleReport[] = [];
    await setWatermark(store, orgId, T0 + 30);
    await evaluator(store, after, () => T0 + 60).tick();
    // Window (t-10, t] drops the 10 hits at t = 15: cleared at 15, resolved 3 s later (keep_firing_for).
    const busy = after.filter((r) => r.ruleName === 'busy');
    expect(busy.filter((r) => !r.active).map((r) => r.at.getTime() / 1000 - T0)).toEqual([15, 18]);
    expect(busy.some((r) => r.active)).toBe(false);
    // Nothing evaluated twice: every report of the second process is after the first one's position.
    expect(Math.min(...after.map((r) => r.at.getTime() / 1000 - T0))).toBeGreaterThanOrEqual(9);
    const view = await store.db.selectFrom('rule_evaluator').select('position').where('org_id', '=', orgId).executeTakeFirstOrThrow();
    expect(view.position?.getTime()).toBe((T0 + 29) * 1000);
  });

  it.skipIf(!storeAvailable(kind))('with two processes, the one holding the lease evaluates; the other takes over when it stops or its lease lapses', async () => {
    const { store, orgId } = await setup();
    await createRule(store.db, orgId, ruleInput.parse({ name: 'busy', metric: 'requests', window: '10s', op: '>', threshold: 5 }));
    await addTrafficCounts(store.db, orgId, Array.from({ length: 40 }, (_, i) => ({ bucket: new Date((T0 + i + 1) * 1000), resolution: 1, section: '/api', hits: i >= 10 && i < 20 ? 3 : 0 })));
    const first: RuleReport[] = [];
    const second: RuleReport[] = [];
    const a = evaluator(store, first, () => T0 + 60, 3_600_000, 400);
    const b = evaluator(store, second, () => T0 + 60, 3_600_000, 400);
    await setWatermark(store, orgId, T0 + 15);
    await a.tick();
    await b.tick();
    expect(changes(first).filter((c) => c.includes('busy'))).toEqual(['fire 12 busy{}']);
    expect(second).toEqual([]); // a holds the lease: b leaves the organisation alone
    await setWatermark(store, orgId, T0 + 35);
    await new Promise((r) => setTimeout(r, 500)); // a stopped without a word: its lease lapses
    await b.tick();
    // b goes on from a's stored position and snapshot: the instance a fired is cleared by b, once.
    const cleared = second.filter((r) => r.ruleName === 'busy' && !r.active).map((r) => r.at.getTime() / 1000 - T0);
    expect(cleared).toEqual([29]);
    await a.tick(); // back, but b holds the lease now
    expect(changes(first).filter((c) => c.includes('busy'))).toEqual(['fire 12 busy{}']);
    await b.releaseLeases(); // a clean stop hands over at once
    await setWatermark(store, orgId, T0 + 36);
    await a.tick();
    const view = await store.db.selectFrom('rule_evaluator').select('position').where('org_id', '=', orgId).executeTakeFirstOrThrow();
    expect(view.position?.getTime()).toBe((T0 + 35) * 1000);
  });

  it.skipIf(!storeAvailable(kind))('catches up on missed event time up to the outage tolerance, then skips ahead', async () => {
    const { store, orgId } = await setup();
    await createRule(store.db, orgId, ruleInput.parse({ name: 'any', metric: 'requests', window: '1s', op: '>', threshold: 0 }));
    await addTrafficCounts(store.db, orgId, [1, 50, 500].map((s) => ({ bucket: new Date((T0 + s) * 1000), resolution: 1, section: '/a', hits: 1 })));
    const reports: RuleReport[] = [];
    await setWatermark(store, orgId, T0 + 2);
    const e = evaluator(store, reports, () => T0 + 1000, 100_000);
    await e.tick();
    // Within the tolerance (100 s): every second is caught up, the hit at +50 s is seen.
    await setWatermark(store, orgId, T0 + 60);
    await e.tick();
    // Beyond it: from +60 to +600 is 540 s; the evaluator skips to 100 s before the watermark and still sees +500.
    await setWatermark(store, orgId, T0 + 600);
    await e.tick();
    expect(changes(reports).filter((c) => c.includes('any'))).toEqual(['fire 1 any{}', 'clear 2 any{}', 'fire 50 any{}', 'clear 51 any{}', 'fire 500 any{}', 'clear 501 any{}']);
    const view = await store.db.selectFrom('rule_evaluator').select('position').where('org_id', '=', orgId).executeTakeFirstOrThrow();
    expect(view.position?.getTime()).toBe((T0 + 599) * 1000);
  });

  it.skipIf(!storeAvailable(kind))('a failed report commits nothing: the next pass reports the same transitions once; a deleted firing rule resolves', async () => {
    const { store, orgId } = await setup();
    const rule = await createRule(store.db, orgId, ruleInput.parse({ name: 'hot', metric: 'requests', window: '5s', op: '>', threshold: 0, keep_firing_for: '1m' }));
    await addTrafficCounts(store.db, orgId, [{ bucket: new Date((T0 + 3) * 1000), resolution: 1, section: '/a', hits: 2 }]);
    await setWatermark(store, orgId, T0 + 6);
    let fail = true;
    const delivered: RuleReport[] = [];
    const e = new RulesEvaluator({
      db: store.db,
      logger: pino({ level: 'silent' }),
      report: async (_trx, batch) => {
        if (fail) throw new Error('manager unavailable');
        delivered.push(...batch);
      },
      idleGraceMs: 3_600_000,
      now: () => (T0 + 60) * 1000,
    });
    await expect(e.tick()).rejects.toThrow(/manager unavailable/);
    const stored = await store.db.selectFrom('rule_evaluator').select('position').where('org_id', '=', orgId).executeTakeFirstOrThrow();
    expect(stored.position).toBeNull();
    fail = false;
    await e.tick();
    expect(changes(delivered)).toEqual(['fire 3 hot{}']);
    await e.tick();
    expect(changes(delivered)).toEqual(['fire 3 hot{}']);

    // Deleted while firing (keep_firing_for 1m): its instance is told it cleared, resolving at once.
    await store.db.deleteFrom('alert_rules').where('id', '=', rule.id).execute();
    await setWatermark(store, orgId, T0 + 7);
    await e.tick();
    const last = delivered.at(-1)!;
    expect(last).toMatchObject({ ruleName: 'hot', active: false, timing: { forMs: 0, keepFiringForMs: 0 } });
    expect(last.reason).toMatch(/removed/);
  });
});
