/**
 * The alert manager against real stores (PGlite, and PostgreSQL when TEST_DATABASE_URL is set):
 * grouping a burst into one notification, catch-up notifying only final states, silences, job
 * alerts through the manager (firing, reminder, resolve), acknowledge, history, the API's bad
 * input, live `alert` events, and the notification payload's JSON schema.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeCountsByRule, flushDueGroups, reportConditions, retireRule, type ConditionReport } from '../src/domains/alerting/index.js';
import { eventually, startTestServer, STORE_KINDS, storeAvailable, type TestServer } from './support/server.js';

interface Hook {
  url: string;
  bodies: { type: string; alert: Record<string, unknown> & { kind: string; subject_id: string; title: string; instances?: unknown[] } }[];
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const bodies: Hook['bodies'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hook['bodies'][number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const S = 1000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AlertJson {
  fingerprint: string;
  state: string;
  rule_id: string;
  labels: Record<string, string>;
  silenced_by: string[];
  acknowledged_at: string | null;
  summary: string;
  updated_at: string;
}

describe.each(STORE_KINDS)('alert manager on %s', (kind) => {
  let server: TestServer;
  let hook: Hook;
  let channelId: string;
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    hook = await startHook();
    server = await startTestServer(kind, {
      VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true',
      VIGIL_SWEEP_INTERVAL_MS: '100',
      VIGIL_NOTIFY_INTERVAL_MS: '100',
      VIGIL_ALERT_INTERVAL_MS: '100',
    });
    const res = await server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', url: hook.url } });
    expect(res.status).toBe(201);
    channelId = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await server?.dispose();
    await hook?.close();
  });
  const run = it.skipIf(!storeAvailable(kind));

  /** A log-rule report as the rules domain sends it (one group per rule unless `groupBy`). */
  const logReport = (ruleId: string, ruleName: string, labels: Record<string, string>, at: Date, active: boolean, p: Partial<ConditionReport> = {}): ConditionReport => ({
    orgId: server.org.id,
    source: 'log',
    ruleId,
    ruleName,
    labels,
    at,
    active,
    value: active ? 0.05 : 0.001,
    threshold: 0.02,
    reason: active ? 'error rate 5 % > 2 %' : 'error rate 0.1 % <= 2 %',
    summary: `${ruleName} on ${Object.values(labels).join(',') || 'all'}`,
    severity: 'warning',
    timing: { forMs: 0, keepFiringForMs: 0 },
    routing: { channels: [channelId], groupBy: [], groupWaitMs: 30 * S, groupIntervalMs: 300 * S, repeatIntervalMs: 4 * 3600 * S },
    link: '/traffic',
    ...p,
  });
  const report = (reports: ConditionReport[], now: Date) => server.ctx.db.transaction().execute((trx) => reportConditions(trx, reports, now));
  const records = (subjectId: string) => server.ctx.db.selectFrom('alerts').select(['kind', 'title', 'details', 'created_at']).where('subject_id', '=', subjectId).orderBy('created_at').execute();
  const alerts = async (query: string) => ((await (await server.api(`/api/v1/alerts${query}`)).json()) as { alerts: AlertJson[] }).alerts;

  run('a burst of twenty instances of one rule is one notification, after group wait, sent once however often the group is flushed', async () => {
    const ruleId = randomUUID();
    const t0 = new Date();
    const burst = Array.from({ length: 20 }, (_, i) => logReport(ruleId, '5xx by section', { section: `/s${i}` }, new Date(t0.getTime() + (i % 5) * S), true));
    await report(burst, t0);
    expect(await records(ruleId)).toEqual([]); // group wait: 30 s from the first member
    expect(await flushDueGroups({ db: server.ctx.db }, new Date(t0.getTime() + 29 * S))).toBe(0);
    const due = new Date(t0.getTime() + 30 * S);
    expect(await flushDueGroups({ db: server.ctx.db }, due)).toBe(1);
    expect(await flushDueGroups({ db: server.ctx.db }, due)).toBe(0);
    await report([logReport(ruleId, '5xx by section', { section: '/s1' }, new Date(t0.getTime() + 31 * S), true)], due); // nothing new
    const sent = await records(ruleId);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'firing', title: '[FIRING:20] 5xx by section' });
    expect(sent[0]!.details).toMatchObject({ firing: 20, resolved: 0, group_key: `log:${ruleId}` });
    // The webhook got it, with every instance in the payload.
    await eventually(async () => hook.bodies.some((b) => b.alert.subject_id === ruleId), 5000);
    const delivered = hook.bodies.filter((b) => b.alert.subject_id === ruleId);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.type).toBe('alert.firing');
    expect(delivered[0]!.alert.instances).toHaveLength(20);
    expect((await alerts(`?rule_id=${ruleId}&state=firing`)).length).toBe(20);
    // The outbox row leaves out what the alert record holds; the receiver gets it all, as recorded.
    const record = await server.ctx.db.selectFrom('alerts').select(['id', 'title', 'message', 'details']).where('subject_id', '=', ruleId).executeTakeFirstOrThrow();
    const row = await server.ctx.db.selectFrom('outbox').select('payload').where('alert_id', '=', record.id).executeTakeFirstOrThrow();
    const stored = (row.payload as { alert: Record<string, unknown> }).alert;
    expect(Object.keys(stored)).not.toContain('title');
    expect(Object.keys(stored)).not.toContain('message');
    expect(Object.keys(stored)).not.toContain('details');
    expect(delivered[0]!.alert).toMatchObject({ id: record.id, title: record.title, message: record.message, details: record.details });
    // So the record is never changed (migration 020): a re-send delivers what was queued.
    await expect(server.ctx.db.updateTable('alerts').set({ title: 'changed' }).where('id', '=', record.id).execute()).rejects.toThrow(/alert records are never changed/);
  });

  run('group-by splits a rule into one group per value; re-reporting an unchanged state changes nothing', async () => {
    const ruleId = randomUUID();
    const now = new Date();
    const routing = { channels: [channelId], groupBy: ['section'], groupWaitMs: 0, groupIntervalMs: 300 * S, repeatIntervalMs: 4 * 3600 * S };
    const reports = ['/a', '/a', '/b'].map((section, i) => logReport(ruleId, 'per section', { section, host: `h${i}` }, now, true, { routing }));
    await report(reports, now);
    const sent = await records(ruleId);
    expect(sent.map((r) => (r.details as { group_key: string }).group_key).sort()).toEqual([`log:${ruleId}{section="/a"}`, `log:${ruleId}{section="/b"}`]);
    expect(sent.map((r) => (r.details as { firing: number }).firing).sort()).toEqual([1, 2]);
    const before = await alerts(`?rule_id=${ruleId}`);
    const later = new Date(now.getTime() + 5 * S);
    await report(reports.map((r) => ({ ...r, at: later, value: 0.07 })), later);
    expect(await records(ruleId)).toHaveLength(2);
    const after = await alerts(`?rule_id=${ruleId}`);
    expect(after.map((a) => [a.fingerprint, a.updated_at]).sort()).toEqual(before.map((a) => [a.fingerprint, a.updated_at]).sort());
  });

  run('concurrent reporters of a new instance queue on it: one start, one notification', async () => {
    const ruleId = randomUUID();
    const now = new Date();
    const routing = { channels: [channelId], groupBy: [], groupWaitMs: 0, groupIntervalMs: 300 * S, repeatIntervalMs: 4 * 3600 * S };
    await Promise.all(Array.from({ length: 4 }, () => report([logReport(ruleId, 'raced', { section: '/x' }, now, true, { routing })], now)));
    expect((await records(ruleId)).map((r) => r.kind)).toEqual(['firing']);
    const [instance] = await alerts(`?rule_id=${ruleId}`);
    const history = (await (await server.api(`/api/v1/alerts/${instance!.fingerprint}`)).json()) as { transitions: unknown[] };
    expect(history.transitions).toHaveLength(1);
  });

  run('catching up on event time in one call notifies only the final state, and records every transition', async () => {
    const ruleId = randomUUID();
    const now = new Date();
    const base = now.getTime() - 3600 * S; // an hour of event time missed while down
    const flapping = Array.from({ length: 60 }, (_, i) => logReport(ruleId, 'flapping', {}, new Date(base + i * 60 * S), i % 2 === 0 || i === 59, { routing: { channels: [channelId], groupBy: [], groupWaitMs: 0, groupIntervalMs: 300 * S, repeatIntervalMs: 4 * 3600 * S } }));
    await report(flapping, now);
    const sent = await records(ruleId);
    expect(sent.map((r) => r.kind)).toEqual(['firing']);
    const [instance] = await alerts(`?rule_id=${ruleId}`);
    const history = (await (await server.api(`/api/v1/alerts/${instance!.fingerprint}`)).json()) as { transitions: { from: string; to: string; reason: string }[] };
    expect(history.transitions).toHaveLength(59); // fired, resolved, fired … (the last two reports both fire)
    expect(history.transitions[0]).toMatchObject({ from: 'inactive', to: 'firing', reason: 'error rate 5 % > 2 %' });
    // Catching up again with a resolve: one resolve, after group interval.
    await report([logReport(ruleId, 'flapping', {}, new Date(base + 3700 * S), false)], new Date(now.getTime() + 10 * S));
    expect((await records(ruleId)).map((r) => r.kind)).toEqual(['firing']);
    await flushDueGroups({ db: server.ctx.db }, new Date(now.getTime() + 300 * S));
    expect((await records(ruleId)).map((r) => r.kind)).toEqual(['firing', 'resolved']);
  });

  run('a silence suppresses matching instances; expiring it lets what still fires through', async () => {
    const ruleId = randomUUID();
    const res = await server.api('/api/v1/silences', { method: 'POST', json: { matchers: ['rule="noisy rule"', 'section=~"/api*"'], duration: '1h', comment: 'deploy' } });
    expect(res.status, await res.clone().text()).toBe(201);
    const silence = (await res.json()) as { id: string; state: string; matchers: unknown[] };
    expect(silence).toMatchObject({ state: 'active', matchers: [{ name: 'rule', op: '=', value: 'noisy rule' }, { name: 'section', op: '=~', value: '/api*' }] });
    const now = new Date();
    const routing = { channels: [channelId], groupBy: [], groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 4 * 3600 * S };
    await report([logReport(ruleId, 'noisy rule', { section: '/api/orders' }, now, true, { routing })], now);
    expect(await records(ruleId)).toEqual([]);
    const [instance] = await alerts(`?rule_id=${ruleId}`);
    expect(instance).toMatchObject({ state: 'firing', silenced_by: [silence.id] });
    expect(instance!.labels).toMatchObject({ section: '/api/orders', rule: 'noisy rule', source: 'log', severity: 'warning' });

    const expired = await server.api(`/api/v1/silences/${silence.id}`, { method: 'DELETE' });
    expect(expired.status).toBe(200);
    expect(((await expired.json()) as { state: string }).state).toBe('expired');
    const listed = (await (await server.api('/api/v1/silences')).json()) as { silences: { id: string; state: string }[] };
    expect(listed.silences.find((s) => s.id === silence.id)?.state).toBe('expired'); // kept in history
    await eventually(async () => (await records(ruleId)).length > 0, 5000); // the flusher wakes the group
    expect((await records(ruleId)).map((r) => r.kind)).toEqual(['firing']);
    expect((await alerts(`?rule_id=${ruleId}`))[0]!.silenced_by).toEqual([]);
  });

  run('a retired rule (deleted, disabled) resolves what fired, ends what was pending, and says so once', async () => {
    const ruleId = randomUUID();
    const now = new Date();
    const routing = { channels: [channelId], groupBy: [], groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 4 * 3600 * S };
    await report(
      [
        logReport(ruleId, 'retired', { section: '/a' }, now, true, { routing }),
        logReport(ruleId, 'retired', { section: '/b' }, now, true, { routing }),
        logReport(ruleId, 'retired', { section: '/c' }, now, true, { routing, timing: { forMs: 600 * S, keepFiringForMs: 0 } }),
      ],
      now,
    );
    expect((await activeCountsByRule(server.ctx.db, server.org.id, 'log')).get(ruleId)).toEqual({ firing: 2, pending: 1 });
    await server.ctx.db.transaction().execute((trx) => retireRule(trx, server.org.id, 'log', ruleId, 'rule deleted', new Date(now.getTime() + S)));
    expect((await records(ruleId)).map((r) => r.kind)).toEqual(['firing', 'resolved']);
    expect((await activeCountsByRule(server.ctx.db, server.org.id, 'log')).get(ruleId)).toBeUndefined();
    const states = (await alerts(`?rule_id=${ruleId}`)).map((a) => a.state).sort();
    expect(states).toEqual(['resolved', 'resolved']); // the pending one is inactive again, not listed
    const [one] = await alerts(`?rule_id=${ruleId}`);
    const history = (await (await server.api(`/api/v1/alerts/${one!.fingerprint}`)).json()) as { transitions: { to: string; reason: string }[] };
    expect(history.transitions.at(-1)).toMatchObject({ to: 'resolved', reason: 'rule deleted' });
  });

  run('bad silences are refused with 400 naming the matcher or field', async () => {
    const bad = async (json: unknown) => {
      const res = await server.api('/api/v1/silences', { method: 'POST', json });
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: { message: string; details?: { field: string }[] } }).error;
    };
    expect((await bad({ matchers: ['rule="a"', 'not a matcher'] })).details?.[0]?.field).toBe('matchers[1]');
    expect((await bad({ matchers: ['env!="prod"'] })).details?.[0]?.field).toBe('matchers');
    expect((await bad({ matchers: ['rule="a"'], ends_at: 'tomorrow' })).details?.[0]?.field).toBe('ends_at');
    expect((await bad({ matchers: ['rule="a"'], ends_at: new Date(Date.now() - 1000).toISOString() })).details?.[0]?.field).toBe('ends_at');
    // A duration whose end is no date any more (it was a 500): refused naming the field.
    expect((await bad({ matchers: ['rule="a"'], duration: '99999999999d' })).details?.[0]?.field).toMatch(/duration/);
    expect((await server.api(`/api/v1/silences/${randomUUID()}`, { method: 'DELETE' })).status).toBe(404);
    expect((await server.api('/api/v1/alerts/nope')).status).toBe(404);
  });

  run('a job down alert goes through the manager: listed, notified at once, reminded every re-alert interval, acknowledged, resolved on up', async () => {
    const created = await server.api('/api/v1/checks', { method: 'POST', json: { name: 'nightly export', timeout: 1, grace: 1, realert: 1, tags: ['etl'] } });
    const check = (await created.json()) as { id: string };
    const mine = () => hook.bodies.filter((b) => b.alert.subject_id === check.id);
    expect((await fetch(`${server.url}/ping/${check.id}`)).status).toBe(200);

    await eventually(async () => mine().some((b) => b.type === 'alert.firing'), 8000);
    const [listed] = await alerts(`?source=job&rule_id=${check.id}`);
    expect(listed).toMatchObject({ state: 'firing', rule_id: check.id, summary: 'Job "nightly export" missed its run' });
    expect(listed!.labels).toMatchObject({ check: 'nightly export', tags: 'etl', rule: 'nightly export', source: 'job', severity: 'critical' });
    expect(mine()[0]!.alert).toMatchObject({ kind: 'missed', title: 'Job "nightly export" missed its run', status: 'firing', group_key: `job:${check.id}`, link: `${server.url}/checks/${check.id}` });

    // The manager reminds (repeat interval = re-alert, 1 s) while it stays down …
    await eventually(async () => mine().some((b) => b.type === 'alert.reminder'), 5000);
    expect(mine().find((b) => b.type === 'alert.reminder')!.alert.kind).toBe('reminder');
    // … until someone acknowledges it.
    const ack = await server.api(`/api/v1/alerts/${listed!.fingerprint}/ack`, { method: 'POST' });
    expect(ack.status).toBe(200);
    const acked = (await ack.json()) as AlertJson & { acknowledged_by: string | null };
    expect(acked.acknowledged_at).not.toBeNull();
    expect(acked.acknowledged_by).toBe('API key "VIGIL_ADMIN_TOKEN"'); // who, in words (a user's e-mail, an API key's name)
    await pause(300); // a reminder already queued may still be delivered
    const reminders = mine().filter((b) => b.type === 'alert.reminder').length;
    await pause(2500);
    expect(mine().filter((b) => b.type === 'alert.reminder').length).toBe(reminders);

    // Up again (with a period long enough not to miss its next run during the test): one resolve,
    // and the instance shows resolved with its whole history.
    expect((await server.api(`/api/v1/checks/${check.id}`, { method: 'PATCH', json: { timeout: 3600 } })).status).toBe(200);
    expect((await fetch(`${server.url}/ping/${check.id}`)).status).toBe(200);
    await eventually(async () => mine().some((b) => b.type === 'alert.resolved'), 5000);
    expect(mine().filter((b) => b.type === 'alert.resolved')).toHaveLength(1);
    // Resolved by a ping: its link is absolute too (the ping path knows the public URL).
    expect(mine().find((b) => b.type === 'alert.resolved')!.alert).toMatchObject({ kind: 'recovered', title: 'Job "nightly export" is up again', status: 'resolved', link: `${server.url}/checks/${check.id}` });
    const history = (await (await server.api(`/api/v1/alerts/${listed!.fingerprint}`)).json()) as { alert: AlertJson; transitions: { from: string; to: string }[] };
    expect(history.alert.state).toBe('resolved');
    expect(history.alert.acknowledged_at).toBeNull(); // an acknowledgement ends with its occurrence
    expect(history.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['inactive>firing', 'firing>acknowledged', 'firing>resolved']);
  });

  run('pausing an alerted check resolves its alert (no reminders while paused)', async () => {
    const check = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'paused job', timeout: 3600, grace: 60 } })).json()) as { id: string };
    await fetch(`${server.url}/ping/${check.id}/1`);
    expect((await alerts(`?source=job&rule_id=${check.id}`))[0]?.state).toBe('firing');
    expect((await server.api(`/api/v3/checks/${check.id}/pause`, { method: 'POST' })).status).toBe(200);
    expect((await alerts(`?source=job&rule_id=${check.id}`))[0]?.state).toBe('resolved');
    expect((await records(check.id)).map((r) => r.kind)).toEqual(['fail', 'paused']);
  });

  run('dashboards get an alert event when an instance changes state', async () => {
    const controller = new AbortController();
    const stream = await server.api('/api/v1/events', { signal: controller.signal });
    let text = '';
    const reader = stream.body!.getReader();
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    try {
      const ruleId = randomUUID();
      await report([logReport(ruleId, 'live rule', {}, new Date(), true)], new Date());
      await eventually(async () => text.includes('event: alert') && text.includes(ruleId), 5000);
      const line = text.split('\n').find((l) => l.startsWith('data: ') && l.includes(ruleId))!;
      expect(JSON.parse(line.slice(6))).toMatchObject({ rule_id: ruleId, state: 'firing', rule_name: 'live rule' });
    } finally {
      controller.abort();
      await reading;
    }
  });

  run('the notification payload is documented as a JSON schema', async () => {
    const res = await server.api('/api/v1/notifications/schema');
    expect(res.status).toBe(200);
    const schema = (await res.json()) as { type: string; properties: { alert: { properties: Record<string, unknown> } } };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties.alert.properties)).toEqual(expect.arrayContaining(['id', 'kind', 'title', 'message', 'status', 'group_key', 'instances']));
  });
});
