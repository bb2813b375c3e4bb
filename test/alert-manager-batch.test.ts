/**
 * The alert manager deciding many groups at once (manager.ts `decideGroups`), against real stores
 * (PGlite, and PostgreSQL when TEST_DATABASE_URL is set): 2,000 groups reported in one
 * transaction queue one notification per group and channel, exactly once; a redelivery (the same
 * reports again, or the same decisions again at the same instant) queues nothing more; retiring
 * the rule resolves all 2,000 in one transaction, again exactly once.
 *
 * The instants lie a day ahead of the wall clock, so the server's own flush worker (which uses the
 * wall clock) never decides these groups in between.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushDueGroups, reportConditions, retireRule, type ConditionReport } from '../src/domains/alerting/index.js';
import { startTestServer, STORE_KINDS, storeAvailable, type TestServer } from './support/server.js';

const S = 1000;
const GROUPS = 2000;

describe.each(STORE_KINDS)('alert manager batches on %s', (kind) => {
  let server: TestServer;
  const channels: string[] = [];
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    // Nothing is delivered (the receivers do not exist): the outbox rows are what is checked.
    server = await startTestServer(kind, { VIGIL_NOTIFY_INTERVAL_MS: '3600000', VIGIL_ALERT_INTERVAL_MS: '3600000' });
    for (const name of ['one', 'two']) {
      const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', name, url: `http://127.0.0.1:9/${name}` } });
      expect(res.status, await res.clone().text()).toBe(201);
      channels.push(((await res.json()) as { id: string }).id);
    }
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const run = it.skipIf(!storeAvailable(kind));

  run(`${GROUPS} groups reported in one transaction: one notification per group and channel, none again on a redelivery or a retire redelivered`, async () => {
    const ruleId = randomUUID();
    const t0 = new Date(Date.now() + 24 * 3600 * S);
    const reports: ConditionReport[] = Array.from({ length: GROUPS }, (_, i) => ({
      orgId: server.org.id,
      source: 'fraud',
      ruleId,
      ruleName: 'many senders',
      labels: { sender: `sender-${String(i).padStart(5, '0')}` },
      at: t0,
      active: true,
      value: 1,
      threshold: null,
      reason: 'matched',
      summary: `sender-${i} matched`,
      severity: 'warning',
      timing: { forMs: 0, keepFiringForMs: 0 },
      routing: { channels: [...channels], groupBy: ['sender'], groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 4 * 3600 * S },
    }));
    const report = (now: Date) => server.ctx.db.transaction().execute((trx) => reportConditions(trx, reports, now));
    const records = () => server.ctx.db.selectFrom('alerts').select(['id', 'kind', 'idempotency_key']).where('subject_id', '=', ruleId).execute();
    const queued = async () => {
      const ids = (await records()).map((r) => r.id);
      return server.ctx.db.selectFrom('outbox').select(['alert_id', 'channel_id']).where('alert_id', 'in', ids).execute();
    };
    /** Every record of `kind` has exactly one notification per channel, and there are `GROUPS` of them, one per group. */
    const expectOncePerGroup = async (kindOf: string, at: Date) => {
      const mine = (await records()).filter((r) => r.kind === kindOf);
      expect(mine).toHaveLength(GROUPS);
      expect(new Set(mine.map((r) => r.idempotency_key)).size).toBe(GROUPS);
      for (const r of mine) expect(r.idempotency_key).toMatch(new RegExp(`^group:fraud:${ruleId}\\{sender="sender-\\d{5}"\\}:${at.getTime()}$`));
      const rows = (await queued()).filter((q) => mine.some((r) => r.id === q.alert_id));
      expect(rows).toHaveLength(GROUPS * channels.length);
      expect(new Set(rows.map((q) => `${q.alert_id}/${q.channel_id}`)).size).toBe(GROUPS * channels.length);
    };

    const started = performance.now();
    await report(t0);
    const took = performance.now() - started;
    console.log(`${kind}: ${GROUPS} groups reported and notified in one transaction in ${took.toFixed(0)} ms`);
    await expectOncePerGroup('firing', t0);

    // The same reports delivered again (a restart before the source's acknowledgement): no change, nothing queued.
    await report(t0);
    expect(await records()).toHaveLength(GROUPS);
    expect(await queued()).toHaveLength(GROUPS * channels.length);

    // The same decisions taken again at the same instant (group state lost, groups due): the records'
    // idempotency keys are taken already, so nothing is recorded or queued twice.
    await server.ctx.db
      .updateTable('alert_groups')
      .set({ first_active_at: null, last_notified_at: null, announced: [], wake_at: t0 })
      .where('org_id', '=', server.org.id)
      .where('rule_id', '=', ruleId)
      .execute();
    let flushed = 0;
    for (let i = 0; i < GROUPS / 200 + 1; i++) flushed += await flushDueGroups({ db: server.ctx.db }, t0); // 200 due groups a call
    expect(flushed).toBe(0);
    const stillDue = await server.ctx.db.selectFrom('alert_groups').select('group_key').where('rule_id', '=', ruleId).where('wake_at', '<=', t0).execute();
    expect(stillDue).toEqual([]);
    expect(await records()).toHaveLength(GROUPS);
    expect(await queued()).toHaveLength(GROUPS * channels.length);

    // Retiring the rule resolves every instance in one transaction: one resolve per group, once,
    // even when the retire is delivered twice.
    const t1 = new Date(t0.getTime() + S);
    const retire = () => server.ctx.db.transaction().execute((trx) => retireRule(trx, server.org.id, 'fraud', ruleId, 'criterion disabled', t1));
    // The group state reset above is restored by the flush (same decisions): announced again.
    await retire();
    await retire();
    await expectOncePerGroup('resolved', t1);
    expect(await records()).toHaveLength(2 * GROUPS);
    expect(await queued()).toHaveLength(2 * GROUPS * channels.length);
  }, 240_000);
});
