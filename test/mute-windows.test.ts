/**
 * Mute windows against real stores (PGlite, and PostgreSQL when TEST_DATABASE_URL is set): a
 * recurring window holds back a log rule's notification while open and the group is notified when
 * it closes if still firing (and not at all if it resolved meanwhile); a maintenance window created
 * through /api/v1/maintenance is a mute window of kind maintenance and still suppresses a job alert,
 * which is sent once the window is removed; bad input is refused with 400 naming the field.
 *
 * Group decisions are driven with explicit instants (reportConditions, flushDueGroups) in the
 * future of the wall clock; the server's own flusher is slowed down so that it never races them.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushDueGroups, reportConditions, type ConditionReport } from '../src/domains/alerting/index.js';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { sweepDue } from '../src/domains/jobs/index.js';
import { databaseAt } from './support/migrations.js';
import { startTestServer, STORE_KINDS, storeAvailable, type TestServer } from './support/server.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

interface WindowJson {
  id: string;
  kind: string;
  name: string;
  state: string;
  next_change: string | null;
  matchers: { name: string; op: string; value: string }[];
}

describe.each(STORE_KINDS)('mute windows on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind, { VIGIL_ALERT_INTERVAL_MS: '3600000' });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const run = it.skipIf(!storeAvailable(kind));

  const logReport = (ruleId: string, ruleName: string, at: Date, active: boolean): ConditionReport => ({
    orgId: server.org.id,
    source: 'log',
    ruleId,
    ruleName,
    labels: {},
    at,
    active,
    value: active ? 0.05 : 0.001,
    threshold: 0.02,
    reason: active ? 'error rate 5 % > 2 %' : 'error rate 0.1 % <= 2 %',
    summary: ruleName,
    severity: 'warning',
    timing: { forMs: 0, keepFiringForMs: 0 },
    routing: { channels: '*', groupBy: [], groupWaitMs: 0, groupIntervalMs: 0, repeatIntervalMs: 4 * H },
  });
  const report = (reports: ConditionReport[], now: Date) => server.ctx.db.transaction().execute((trx) => reportConditions(trx, reports, now));
  const records = (subjectId: string) => server.ctx.db.selectFrom('alerts').select(['kind', 'created_at']).where('subject_id', '=', subjectId).orderBy('created_at').execute();
  const flush = (at: number) => flushDueGroups({ db: server.ctx.db }, new Date(at));

  run('a recurring window holds back a log rule while open; the group is notified when it closes if still firing', async () => {
    const res = await server.api('/api/v1/mute-windows', {
      method: 'POST',
      json: { name: 'hourly batch', matchers: ['rule=~"batch *"'], cron: '0 * * * *', tz: 'Europe/Paris', duration: '30m', reason: 'the batch makes errors' },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const window = (await res.json()) as WindowJson;
    expect(window).toMatchObject({ kind: 'mute', name: 'hourly batch', matchers: [{ name: 'rule', op: '=~', value: 'batch *' }] });
    expect(['open', 'scheduled']).toContain(window.state);
    expect(window.next_change).not.toBeNull();

    // An hour boundary well ahead of the wall clock: the window is open from h0 to h0 + 30 min.
    const h0 = Math.ceil((Date.now() + 2 * H) / H) * H;
    const still = randomUUID();
    const gone = randomUUID();
    await report([logReport(still, 'batch errors', new Date(h0 + 5 * M), true), logReport(gone, 'batch latency', new Date(h0 + 5 * M), true)], new Date(h0 + 5 * M));
    expect(await records(still)).toEqual([]); // muted: group wait 0, yet nothing sent
    expect(await records(gone)).toEqual([]);
    await report([logReport(gone, 'batch latency', new Date(h0 + 10 * M), false)], new Date(h0 + 10 * M)); // resolves inside the window
    expect(await flush(h0 + 29 * M)).toBe(0);

    // The window closes at h0 + 30 min: the group that still fires is woken and notified, once.
    const groups = await server.ctx.db.selectFrom('alert_groups').select(['rule_id', 'wake_at']).where('rule_id', '=', still).execute();
    expect(groups[0]!.wake_at?.getTime()).toBe(h0 + 30 * M);
    expect(await flush(h0 + 30 * M)).toBe(1);
    expect(await flush(h0 + 30 * M)).toBe(0);
    expect((await records(still)).map((r) => r.kind)).toEqual(['firing']);
    expect(await records(gone)).toEqual([]); // fired and resolved while muted: never announced

    // Next hour the window opens again: the firing group is not reminded while it is open.
    await report([logReport(still, 'batch errors', new Date(h0 + H + 5 * M), true)], new Date(h0 + H + 5 * M));
    expect((await records(still)).map((r) => r.kind)).toEqual(['firing']);
    // Its resolve, announced before, is sent even while the window is open.
    await report([logReport(still, 'batch errors', new Date(h0 + H + 10 * M), false)], new Date(h0 + H + 10 * M));
    expect((await records(still)).map((r) => r.kind)).toEqual(['firing', 'resolved']);

    const listed = (await (await server.api('/api/v1/mute-windows')).json()) as { windows: WindowJson[] };
    expect(listed.windows.map((w) => w.id)).toContain(window.id);
    expect((await server.api(`/api/v1/mute-windows/${window.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await server.api(`/api/v1/mute-windows/${window.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  run('a maintenance window created through /api/v1/maintenance is a mute window and still suppresses a job alert', async () => {
    const check = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'db backup', timeout: 3600, grace: 60 } })).json()) as { id: string };
    const now = Date.now();
    const res = await server.api('/api/v1/maintenance', { method: 'POST', json: { check_id: check.id, starts_at: new Date(now - 1000).toISOString(), ends_at: new Date(now + H).toISOString(), reason: 'db upgrade' } });
    expect(res.status, await res.clone().text()).toBe(201);
    const maintenance = (await res.json()) as { id: string; check_id: string | null; reason: string; duration: number | null };
    expect(maintenance).toMatchObject({ check_id: check.id, reason: 'db upgrade', duration: null });
    const asMute = ((await (await server.api('/api/v1/mute-windows')).json()) as { windows: WindowJson[] }).windows.find((w) => w.id === maintenance.id);
    expect(asMute).toMatchObject({
      kind: 'maintenance',
      state: 'open',
      matchers: [
        { name: 'source', op: '=', value: 'job' },
        { name: 'check_id', op: '=', value: check.id },
      ],
    });

    expect((await fetch(`${server.url}/ping/${check.id}/fail`)).status).toBe(200);
    const alerts = (await (await server.api(`/api/v1/alerts?source=job&rule_id=${check.id}`)).json()) as { alerts: { state: string; labels: Record<string, string>; silenced_by: string[] }[] };
    expect(alerts.alerts[0]).toMatchObject({ state: 'firing', silenced_by: [maintenance.id] });
    expect(alerts.alerts[0]!.labels).toMatchObject({ check_id: check.id, source: 'job' });
    expect(await records(check.id)).toEqual([]); // muted by the maintenance window

    // The maintenance view is unchanged; removing the window lets what still fires through.
    const list = (await (await server.api('/api/v1/maintenance')).json()) as { windows: { id: string; check_id: string | null }[] };
    expect(list.windows.find((w) => w.id === maintenance.id)).toMatchObject({ check_id: check.id });
    expect((await server.api(`/api/v1/maintenance/${maintenance.id}`, { method: 'DELETE' })).status).toBe(204);
    await flush(Date.now());
    expect((await records(check.id)).map((r) => r.kind)).toEqual(['fail']);

    // A deleted check takes its maintenance windows with it (as the old table's foreign key did).
    const again = (await (await server.api('/api/v1/maintenance', { method: 'POST', json: { check_id: check.id, cron: '0 4 * * *', duration: 600 } })).json()) as { id: string };
    expect((await server.api(`/api/v1/checks/${check.id}`, { method: 'DELETE' })).status).toBe(204);
    const left = (await (await server.api('/api/v1/maintenance')).json()) as { windows: { id: string }[] };
    expect(left.windows.map((w) => w.id)).not.toContain(again.id);
  });

  run('a recurring organisation-wide maintenance window keeps the jobs lifecycle quiet: a missed run inside it flips without alerting', async () => {
    const check = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'nightly etl', timeout: 1, grace: 1 } })).json()) as { id: string };
    const res = await server.api('/api/v1/maintenance', { method: 'POST', json: { cron: '0 3 * * *', duration: 3600, tz: 'UTC', reason: 'nightly restart' } });
    expect(res.status, await res.clone().text()).toBe(201);
    const maintenance = (await res.json()) as { id: string; check_id: string | null; cron: string };
    expect(maintenance).toMatchObject({ check_id: null, cron: '0 3 * * *' });
    expect((await fetch(`${server.url}/ping/${check.id}`)).status).toBe(200);
    const inside = Math.ceil((Date.now() + H) / (24 * H)) * 24 * H + 3 * H + 30 * M; // a coming 03:30 UTC
    await sweepDue(server.ctx, new Date(inside));
    const row = await server.ctx.db.selectFrom('checks').select(['status', 'status_reason']).where('id', '=', check.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('down');
    expect(row.status_reason).toMatch(/maintenance/);
    expect(await records(check.id)).toEqual([]);
    expect((await server.api(`/api/v1/maintenance/${maintenance.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  run('/api/v1/maintenance shows and deletes maintenance windows only', async () => {
    const res = await server.api('/api/v1/mute-windows', { method: 'POST', json: { name: 'logs only', matchers: ['source="log"'], starts_at: new Date(Date.now() + H).toISOString(), ends_at: new Date(Date.now() + 2 * H).toISOString() } });
    expect(res.status).toBe(201);
    const mute = (await res.json()) as WindowJson;
    expect(mute.state).toBe('scheduled');
    // /api/v1/maintenance shows and deletes maintenance windows only.
    const list = (await (await server.api('/api/v1/maintenance')).json()) as { windows: { id: string }[] };
    expect(list.windows.map((w) => w.id)).not.toContain(mute.id);
    expect((await server.api(`/api/v1/maintenance/${mute.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await server.api(`/api/v1/mute-windows/${mute.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  run("no key of one organisation can see, delete or be muted by another's windows", async () => {
    const other = await createOrg(server.ctx.db, `Other ${randomUUID()}`);
    const otherKey = await createApiKey(server.ctx.db, other.id, 'k', 'admin');
    const res = await server.api('/api/v1/mute-windows', { method: 'POST', json: { name: 'mine', matchers: ['source="log"'], starts_at: new Date(Date.now() - M).toISOString(), ends_at: new Date(Date.now() + H).toISOString() } });
    const mine = (await res.json()) as WindowJson;
    expect(((await (await server.api('/api/v1/mute-windows', { key: otherKey.key })).json()) as { windows: unknown[] }).windows).toEqual([]);
    expect((await server.api(`/api/v1/mute-windows/${mine.id}`, { key: otherKey.key, method: 'DELETE' })).status).toBe(404);
    expect((await server.api(`/api/v1/maintenance/${mine.id}`, { key: otherKey.key, method: 'DELETE' })).status).toBe(404);
    // The other organisation's log rule fires and is notified: this organisation's window does not cover it.
    const ruleId = randomUUID();
    const now = new Date();
    await report([{ ...logReport(ruleId, 'theirs', now, true), orgId: other.id }], now);
    expect((await records(ruleId)).map((r) => r.kind)).toEqual(['firing']);
    expect((await server.api(`/api/v1/mute-windows/${mine.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  run('bad mute windows are refused with 400 naming the field', async () => {
    const field = async (json: Record<string, unknown>) => {
      const res = await server.api('/api/v1/mute-windows', { method: 'POST', json: { name: 'w', matchers: ['rule="a"'], ...json } });
      expect(res.status, JSON.stringify(json)).toBe(400);
      const body = (await res.json()) as { error: { details?: { field: string }[] } };
      return body.error.details?.[0]?.field;
    };
    const later = (ms: number) => new Date(Date.now() + ms).toISOString();
    expect(await field({ cron: 'every day', duration: '1h' })).toBe('cron');
    expect(await field({ cron: '61 * * * *', duration: '1h' })).toBe('cron');
    expect(await field({ cron: '0 2 * * *', tz: 'Mars/Olympus', duration: '1h' })).toBe('tz');
    expect(await field({ cron: '0 2 * * *' })).toBe('duration');
    expect(await field({ cron: '0 * * * *', duration: '2h' })).toBe('duration'); // overlapping forever: never closes
    expect(await field({ cron: '0 2 * * *', duration: '1h', starts_at: later(H) })).toBe('cron');
    expect(await field({ starts_at: later(2 * H), ends_at: later(H) })).toBe('ends_at');
    expect(await field({ starts_at: 'soon', ends_at: later(H) })).toBe('starts_at');
    expect(await field({ ends_at: later(H) })).toBe('starts_at');
    expect(await field({ matchers: ['env!="prod"'], starts_at: later(0), ends_at: later(H) })).toBe('matchers');
    expect(await field({ matchers: ['rule="a"', 'not a matcher'], starts_at: later(0), ends_at: later(H) })).toBe('matchers[1]');
    expect(await field({ name: '', starts_at: later(0), ends_at: later(H) })).toBe('body.name'); // schema errors name the body field
    expect((await server.api(`/api/v1/mute-windows/${randomUUID()}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('migration 011 on a database with maintenance windows', () => {
  it('moves them into mute windows of kind maintenance (same ids), labels job instances with check_id, and back down', async () => {
    const { db, migrator, close } = await databaseAt('010_notify_channel_health');
    try {
      const org = '11111111-1111-4111-8111-111111111111';
      const check = '22222222-2222-4222-8222-222222222222';
      const [whole, one] = ['33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444'];
      await sql`INSERT INTO orgs (id, name, ping_key) VALUES (${org}, 'o', 'pk')`.execute(db);
      await sql`INSERT INTO checks (id, org_id, name) VALUES (${check}, ${org}, 'nightly')`.execute(db);
      await sql`INSERT INTO maintenance_windows (id, org_id, check_id, starts_at, ends_at, cron, tz, duration_s, reason)
                VALUES (${whole}, ${org}, NULL, NULL, NULL, '0 3 * * 0', 'Europe/Paris', 3600, 'weekly'),
                       (${one}, ${org}, ${check}, '2030-01-01T00:00:00Z', '2030-01-01T02:00:00Z', NULL, 'UTC', NULL, 'upgrade')`.execute(db);
      await sql`INSERT INTO alert_instances (org_id, fingerprint, source, rule_id, rule_name, labels, group_key)
                VALUES (${org}, 'f1', 'job', ${check}, 'nightly', '{"check":"nightly"}', ${`job:${check}`})`.execute(db);
      expect((await migrator.migrateToLatest()).error).toBeUndefined();

      const rows = await sql<{ id: string; kind: string; matchers: unknown; cron: string | null; duration_s: number | null; reason: string }>`
        SELECT id, kind, matchers, cron, duration_s, reason FROM mute_windows ORDER BY id`.execute(db);
      expect(rows.rows).toEqual([
        { id: whole, kind: 'maintenance', matchers: [{ name: 'source', op: '=', value: 'job' }], cron: '0 3 * * 0', duration_s: 3600, reason: 'weekly' },
        {
          id: one,
          kind: 'maintenance',
          matchers: [
            { name: 'source', op: '=', value: 'job' },
            { name: 'check_id', op: '=', value: check },
          ],
          cron: null,
          duration_s: null,
          reason: 'upgrade',
        },
      ]);
      const labels = await sql<{ labels: Record<string, string> }>`SELECT labels FROM alert_instances`.execute(db);
      expect(labels.rows[0]!.labels).toEqual({ check: 'nightly', check_id: check });

      expect((await migrator.migrateTo('010_notify_channel_health')).error).toBeUndefined();
      const back = await sql<{ id: string; check_id: string | null }>`SELECT id, check_id FROM maintenance_windows ORDER BY id`.execute(db);
      expect(back.rows).toEqual([
        { id: whole, check_id: null },
        { id: one, check_id: check },
      ]);
    } finally {
      await close();
    }
  });
});
