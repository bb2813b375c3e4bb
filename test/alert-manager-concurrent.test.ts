/**
 * The alert manager's write-once path for new instances and groups (manager.ts `reportConditions`):
 * a new instance or group is inserted in its final state, and only those that existed are locked
 * and updated. Against PostgreSQL (two reporters really run at the same time there):
 * - two reporters of the same new instance: the second waits at its insert, then finds the
 *   instance existing and applies its report to the stored state (one transition, one notification);
 * - two reporters of two new instances of the same new group: one notification for the first, the
 *   second member is announced after the group interval, once;
 * - a batch with an existing instance beside new ones: transitions in report order, one update;
 * - two reporters of two new events of one new event group: the second event, inserted closed on the
 *   guess that its group is new (told at once, group wait 0), is opened again when the other
 *   reporter turns out to have created the group, and told in the group's next digest, once.
 *
 * The instants lie a day ahead of the wall clock, so the server's own flush worker never decides
 * these groups in between.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushDueGroups, reportConditions, type ConditionReport } from '../src/domains/alerting/index.js';
import { startTestServer, storeAvailable, type TestServer } from './support/server.js';

const S = 1000;
const INTERVAL = 60 * S;

describe('alert manager: new instances and groups written once, on PostgreSQL', () => {
  let server: TestServer;
  let channel = '';
  beforeAll(async () => {
    if (!storeAvailable('postgres')) return;
    server = await startTestServer('postgres', { VIGIL_NOTIFY_INTERVAL_MS: '3600000', VIGIL_ALERT_INTERVAL_MS: '3600000' });
    const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', name: 'one', url: 'http://127.0.0.1:9/one' } });
    expect(res.status, await res.clone().text()).toBe(201);
    channel = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const run = it.skipIf(!storeAvailable('postgres'));

  const reportOf = (ruleId: string, sender: string, at: Date, active = true, events = false): ConditionReport => ({
    orgId: server.org.id,
    source: 'fraud',
    ruleId,
    ruleName: 'concurrent',
    labels: { sender_id: 'one-sender', shipment: sender },
    at,
    active,
    value: 1,
    threshold: null,
    reason: `${sender} ${active ? 'matched' : 'cleared'}`,
    summary: `${sender} matched`,
    severity: 'warning',
    timing: { forMs: 0, keepFiringForMs: 0 },
    routing: { channels: [channel], groupBy: ['sender_id'], groupWaitMs: 0, groupIntervalMs: INTERVAL, repeatIntervalMs: 24 * 3600 * S, ...(events ? { events } : {}) },
  });
  const report = (reports: ConditionReport[], now: Date) => server.ctx.db.transaction().execute((trx) => reportConditions(trx, reports, now));
  const records = (ruleId: string) =>
    server.ctx.db.selectFrom('alerts').select(['id', 'kind', 'idempotency_key', 'title']).where('subject_id', '=', ruleId).orderBy('created_at').execute();
  const queued = async (ruleId: string) => {
    const ids = (await records(ruleId)).map((r) => r.id);
    return ids.length ? server.ctx.db.selectFrom('outbox').select(['alert_id', 'channel_id']).where('alert_id', 'in', ids).execute() : [];
  };
  const transitions = (ruleId: string) =>
    server.ctx.db
      .selectFrom('alert_transitions as t')
      .innerJoin('alert_instances as i', (j) => j.onRef('i.org_id', '=', 't.org_id').onRef('i.fingerprint', '=', 't.fingerprint'))
      .select(['i.labels', 't.from_state', 't.to_state', 't.at', 't.reason'])
      .where('i.rule_id', '=', ruleId)
      .orderBy('t.id')
      .execute();
  const group = (ruleId: string) =>
    server.ctx.db.selectFrom('alert_groups').select(['announced', 'last_notified_at', 'wake_at']).where('rule_id', '=', ruleId).executeTakeFirstOrThrow();

  run('two reporters of the same new instance: one transition, one notification', async () => {
    const ruleId = randomUUID();
    const t0 = new Date(Date.now() + 24 * 3600 * S);
    const t1 = new Date(t0.getTime() + S);
    await heldReport([reportOf(ruleId, 'a', t0)], t0, () => report([reportOf(ruleId, 'a', t1)], t1));

    const rows = await transitions(ruleId);
    expect(rows.map((r) => `${r.from_state}>${r.to_state}`)).toEqual(['inactive>firing']);
    expect(rows[0]!.at.getTime()).toBe(t0.getTime());
    const mine = await records(ruleId);
    expect(mine.map((r) => r.idempotency_key)).toEqual([`group:fraud:${ruleId}{sender_id="one-sender"}:${t0.getTime()}`]);
    expect(await queued(ruleId)).toEqual([{ alert_id: mine[0]!.id, channel_id: channel }]);
    const g = await group(ruleId);
    expect(g.announced).toHaveLength(1);
    expect(g.last_notified_at?.getTime()).toBe(t0.getTime());
  });

  run('two reporters of two new instances of one new group: the second is announced after the group interval, once', async () => {
    const ruleId = randomUUID();
    const t0 = new Date(Date.now() + 24 * 3600 * S + 10 * S);
    const t1 = new Date(t0.getTime() + S);
    await heldReport([reportOf(ruleId, 'a', t0)], t0, () => report([reportOf(ruleId, 'b', t1)], t1));

    expect((await transitions(ruleId)).map((r) => `${r.labels.shipment}:${r.from_state}>${r.to_state}`)).toEqual(['a:inactive>firing', 'b:inactive>firing']);
    expect((await records(ruleId)).map((r) => r.title)).toEqual(['a matched']);
    const g = await group(ruleId);
    expect(g.wake_at?.getTime()).toBe(t0.getTime() + INTERVAL);

    const due = new Date(t0.getTime() + INTERVAL);
    await flushDueGroups({ db: server.ctx.db }, due);
    await flushDueGroups({ db: server.ctx.db }, due);
    const mine = await records(ruleId);
    expect(mine.map((r) => r.title)).toEqual(['a matched', '[FIRING:2] concurrent']);
    expect(await queued(ruleId)).toHaveLength(2);
  });

  run('two reporters of two new events of one new event group: the second is opened again and told in the next digest, once', async () => {
    const ruleId = randomUUID();
    const t0 = new Date(Date.now() + 24 * 3600 * S + 30 * S);
    const t1 = new Date(t0.getTime() + S);
    await heldReport([reportOf(ruleId, 'a', t0, true, true)], t0, () => report([reportOf(ruleId, 'b', t1, true, true)], t1));

    const states = () =>
      server.ctx.db.selectFrom('alert_instances').select(['labels', 'state', 'resolved_at']).where('rule_id', '=', ruleId).execute().then((rows) => rows.map((r) => `${r.labels.shipment}:${r.state}`).sort());
    // a: told at once by the new group's first digest, inserted closed. b: the group was the other
    // reporter's, whose digest had just gone out, so b waits for the group interval, firing.
    expect(await states()).toEqual(['a:resolved', 'b:firing']);
    expect((await transitions(ruleId)).map((r) => `${r.labels.shipment}:${r.from_state}>${r.to_state}${r.to_state === 'resolved' ? ` (${r.reason})` : ''}`)).toEqual([
      'a:inactive>firing',
      'a:firing>resolved (told in a digest)',
      'b:inactive>firing',
    ]);
    expect((await records(ruleId)).map((r) => r.title)).toEqual(['a matched']);
    expect((await group(ruleId)).wake_at?.getTime()).toBe(t0.getTime() + INTERVAL);

    const due = new Date(t0.getTime() + INTERVAL);
    await flushDueGroups({ db: server.ctx.db }, due);
    await flushDueGroups({ db: server.ctx.db }, due);
    expect((await records(ruleId)).map((r) => r.title)).toEqual(['a matched', 'b matched']);
    expect(await queued(ruleId)).toHaveLength(2);
    expect(await states()).toEqual(['a:resolved', 'b:resolved']);
    expect((await transitions(ruleId)).filter((r) => r.to_state === 'resolved').map((r) => `${r.labels.shipment}:${r.reason}`)).toEqual(['a:told in a digest', 'b:told in a digest']);
  });

  run('an existing instance beside new ones in one batch: transitions in report order, one update', async () => {
    const ruleId = randomUUID();
    const t0 = new Date(Date.now() + 24 * 3600 * S + 20 * S);
    await report([reportOf(ruleId, 'x', t0)], t0);
    const t1 = new Date(t0.getTime() + INTERVAL);
    // New, existing (resolves), new: the existing one is recomputed from its stored state.
    await report([reportOf(ruleId, 'y', t1), reportOf(ruleId, 'x', t1, false), reportOf(ruleId, 'z', t1)], t1);

    expect((await transitions(ruleId)).map((r) => `${r.labels.shipment}:${r.from_state}>${r.to_state}`)).toEqual([
      'x:inactive>firing',
      'y:inactive>firing',
      'x:firing>resolved',
      'z:inactive>firing',
    ]);
    const mine = await records(ruleId);
    expect(mine.map((r) => [r.kind, r.title])).toEqual([
      ['firing', 'x matched'],
      ['firing', '[FIRING:2, RESOLVED:1] concurrent'],
    ]);
    expect(await queued(ruleId)).toHaveLength(2);
    const g = await group(ruleId);
    expect(g.announced).toHaveLength(2);

    // The same batch delivered again: nothing changes, nothing is queued.
    await report([reportOf(ruleId, 'y', t1), reportOf(ruleId, 'x', t1, false), reportOf(ruleId, 'z', t1)], t1);
    expect(await transitions(ruleId)).toHaveLength(4);
    expect(await records(ruleId)).toHaveLength(2);
  });

  /** Reports `reports` in a transaction held open while `second` starts (and must wait), then commits it. */
  async function heldReport(reports: ConditionReport[], now: Date, second: () => Promise<void>): Promise<void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reported!: () => void;
    const firstReported = new Promise<void>((resolve) => (reported = resolve));
    const first = server.ctx.db.transaction().execute(async (trx) => {
      await reportConditions(trx, reports, now);
      reported();
      await held;
    });
    await firstReported;
    let secondDone = false;
    const other = second().then(() => {
      secondDone = true;
    });
    // The second reporter waits on the first's uncommitted rows.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(secondDone).toBe(false);
    release();
    await first;
    await other;
  }
});
