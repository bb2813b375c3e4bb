import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { recordPing, sweepDue, type PingRequest } from '../src/domains/jobs/index.js';
import { STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

interface View {
  id: string;
  status: string;
  status_reason: string;
  running: boolean;
  next_expected_at: string | null;
  last_ping_at: string | null;
}

describe.each(STORE_KINDS)('job monitoring on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind, { VIGIL_SWEEP_INTERVAL_MS: '100' });
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  const create = async (body: Record<string, unknown>) => {
    const res = await server.api('/api/v1/checks', { method: 'POST', json: { name: 'job', ...body } });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as View;
  };
  const view = async (id: string) => (await (await server.api(`/api/v1/checks/${id}`)).json()) as View;
  const ping = (id: string, suffix = '', body?: string) => fetch(`${server.url}/ping/${id}${suffix}`, { method: 'POST', body });
  const alertsFor = (id: string) => server.ctx.db.selectFrom('alerts').selectAll().where('subject_id', '=', id).orderBy('created_at').execute();

  run('detects a missed run in real time with a 2-second period, alerting once', async () => {
    const c = await create({ timeout: 2, grace: 1 });
    await ping(c.id);
    expect((await view(c.id)).status).toBe('up');
    const t0 = Date.now();
    const down = await eventually(async () => {
      const v = await view(c.id);
      return v.status === 'down' && v;
    }, 8000);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(2500);
    expect(elapsed).toBeLessThan(5000);
    expect(down.status_reason).toMatch(/missed run/);
    await new Promise((r) => setTimeout(r, 600));
    const alerts = await alertsFor(c.id);
    expect(alerts.map((a) => a.kind)).toEqual(['missed']);
    // Recovery: a ping brings it up and sends a "recovered" alert.
    await ping(c.id);
    expect((await view(c.id)).status).toBe('up');
    expect((await alertsFor(c.id)).map((a) => a.kind)).toEqual(['missed', 'recovered']);
  });

  run('alerts when a started run exceeds its maximum run time, and records it as too long', async () => {
    const c = await create({ timeout: 3600, grace: 3600, max_runtime: 1 });
    await ping(c.id, '/start?rid=11111111-1111-4111-8111-111111111111');
    expect((await view(c.id)).running).toBe(true);
    await eventually(async () => (await view(c.id)).status === 'down', 5000);
    expect((await alertsFor(c.id)).map((a) => a.kind)).toEqual(['too_long']);
    await ping(c.id, '/0?rid=11111111-1111-4111-8111-111111111111');
    const runs = (await (await server.api(`/api/v1/checks/${c.id}/runs`)).json()) as { runs: { outcome: string; duration_ms: number }[] };
    expect(runs.runs[0]).toMatchObject({ outcome: 'too_long' });
    expect(runs.runs[0]!.duration_ms).toBeGreaterThan(1000);
    expect((await view(c.id)).status).toBe('up');
  });

  run('alerts when a run finishes faster than its minimum run time', async () => {
    const c = await create({ timeout: 3600, grace: 60, min_runtime: 30 });
    await ping(c.id, '/start');
    await ping(c.id, '/0');
    const v = await view(c.id);
    expect(v.status).toBe('down');
    expect(v.status_reason).toMatch(/finished too fast/);
    expect((await alertsFor(c.id)).map((a) => a.kind)).toEqual(['too_short']);
  });

  run('alerts only after N consecutive failures, with the output tail in the alert', async () => {
    const c = await create({ timeout: 3600, grace: 60, failure_threshold: 2 });
    await ping(c.id, '/1', 'first failure');
    expect((await view(c.id)).status).toBe('up');
    await ping(c.id, '/2', 'Traceback: disk full');
    expect((await view(c.id)).status).toBe('down');
    const [alert] = await alertsFor(c.id);
    expect(alert).toMatchObject({ kind: 'fail' });
    expect(alert!.details).toMatchObject({ output_tail: 'Traceback: disk full', exit_status: 2 });
  });

  run('follows a cron schedule across a DST change (stored deadlines, swept at a given time)', async () => {
    // 09:00 New York every day, across the US spring-forward (second Sunday of March) two years
    // ahead: in the future, so the server's own sweeper (running on the real clock) leaves it alone.
    const year = new Date().getUTCFullYear() + 2;
    const day = (d: number) => `${year}-03-${String(d).padStart(2, '0')}`;
    const sunday = [8, 9, 10, 11, 12, 13, 14].find((d) => new Date(`${day(d)}T12:00:00Z`).getUTCDay() === 0)!;
    const c = await create({ kind: 'cron', schedule: '0 9 * * *', tz: 'America/New_York', grace: 600 });
    const at = (iso: string): PingRequest => ({ action: 'success', exitStatus: null, rid: null, method: 'GET', scheme: 'http', remoteAddr: '', userAgent: '', body: null, bodySize: 0, at: new Date(iso) });
    await recordPing(server.ctx.db, c.id, at(`${day(sunday - 1)}T14:00:05Z`)); // Saturday 09:00 EST
    expect((await view(c.id)).next_expected_at).toBe(`${day(sunday)}T13:00:00.000Z`); // Sunday 09:00 EDT
    await sweepDue(server.ctx, new Date(`${day(sunday)}T13:09:59Z`));
    expect((await view(c.id)).status).toBe('up');
    await sweepDue(server.ctx, new Date(`${day(sunday)}T13:10:00Z`));
    expect((await view(c.id)).status).toBe('down');
    await recordPing(server.ctx.db, c.id, at(`${day(sunday)}T13:20:00Z`));
    expect((await view(c.id)).next_expected_at).toBe(`${day(sunday + 1)}T13:00:00.000Z`);
  });

  run('a new schedule moves the deadline of an up check (native API), and a schedule alone makes it a cron check (v3 API)', async () => {
    const c = await create({ timeout: 3600, grace: 60 });
    await ping(c.id);
    const pinged = await view(c.id);
    const lastPing = Date.parse(pinged.last_ping_at!);
    expect(Date.parse(pinged.next_expected_at!)).toBe(lastPing + 3600_000);
    const patched = (await (await server.api(`/api/v1/checks/${c.id}`, { method: 'PATCH', json: { timeout: 120 } })).json()) as View;
    expect(Date.parse(patched.next_expected_at!)).toBe(lastPing + 120_000);
    const cron = await server.api(`/api/v3/checks/${c.id}`, { method: 'POST', json: { schedule: '0 9 * * *', tz: 'UTC' } });
    expect(cron.status).toBe(200);
    const hc = (await cron.json()) as { schedule?: string; timeout?: number; next_ping: string };
    expect(hc).toMatchObject({ schedule: '0 9 * * *' });
    expect(hc.timeout).toBeUndefined();
    const nine = new Date(lastPing);
    nine.setUTCHours(9, 0, 0, 0);
    if (nine.getTime() <= lastPing) nine.setUTCDate(nine.getUTCDate() + 1);
    expect(Date.parse(hc.next_ping)).toBe(nine.getTime());
  });

  run('a check whose reminders were switched off while down sends none, and its reminder deadline is cleared', async () => {
    const c = await create({ timeout: 3600, grace: 60, realert: 60 });
    await ping(c.id, '/1');
    expect((await view(c.id)).status).toBe('down');
    expect((await server.api(`/api/v1/checks/${c.id}`, { method: 'PATCH', json: { realert: null } })).status).toBe(200);
    await sweepDue(server.ctx, new Date(Date.now() + 61_000));
    const row = await server.ctx.db.selectFrom('checks').select(['status', 'next_realert_at']).where('id', '=', c.id).executeTakeFirstOrThrow();
    // A deadline left in the past would be selected again by every sweep, crowding out real work.
    expect(row).toEqual({ status: 'down', next_realert_at: null });
    expect((await alertsFor(c.id)).map((a) => a.kind)).toEqual(['fail']);
  });

  run('does not alert a missed run inside a maintenance window', async () => {
    const c = await create({ timeout: 1, grace: 1 });
    const now = Date.now();
    const res = await server.api('/api/v1/maintenance', { method: 'POST', json: { check_id: c.id, starts_at: new Date(now - 1000).toISOString(), ends_at: new Date(now + 60_000).toISOString(), reason: 'db upgrade' } });
    expect(res.status).toBe(201);
    const other = await create({ timeout: 1, grace: 1 }); // not covered by that window
    await Promise.all([ping(c.id), ping(other.id)]);
    await eventually(async () => (await view(c.id)).status === 'down', 6000);
    expect((await view(c.id)).status_reason).toMatch(/maintenance/);
    expect(await alertsFor(c.id)).toEqual([]);
    await eventually(async () => (await view(other.id)).status === 'down', 6000);
    expect((await alertsFor(other.id)).map((a) => a.kind)).toEqual(['missed']);
  });

  run('pause stops monitoring; resume makes the check new again', async () => {
    const c = await create({ timeout: 1, grace: 1 });
    await ping(c.id);
    expect((await (await server.api(`/api/v3/checks/${c.id}/pause`, { method: 'POST' })).json()) as { status: string }).toMatchObject({ status: 'paused' });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await view(c.id)).status).toBe('paused');
    expect((await server.api(`/api/v3/checks/${c.id}/resume`, { method: 'POST' })).status).toBe(200);
    expect((await server.api(`/api/v3/checks/${c.id}/resume`, { method: 'POST' })).status).toBe(409);
    expect((await view(c.id)).status).toBe('new');
  });

  describe('bad input', () => {
    run('unknown check → 404, bad cron or time zone → 400 naming the field', async () => {
      expect((await server.api('/api/v1/checks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      const cron = await server.api('/api/v1/checks', { method: 'POST', json: { kind: 'cron', schedule: '61 * * * *', tz: 'UTC' } });
      expect(cron.status).toBe(400);
      expect(((await cron.json()) as { error: { details: { field: string }[] } }).error.details[0]!.field).toBe('schedule');
      const tz = await server.api('/api/v3/checks/', { method: 'POST', json: { schedule: '0 2 * * *', tz: 'Europe/Atlantis' } });
      expect(tz.status).toBe(400);
      expect(((await tz.json()) as { error: string }).error).toMatch(/^tz: unknown time zone/);
      const grace = await server.api('/api/v1/checks', { method: 'POST', json: { grace: 0 } });
      expect(grace.status).toBe(400);
      expect(((await grace.json()) as { error: { message: string } }).error.message).toMatch(/grace/);
    });

    run('the Healthchecks API applies the same limits as the native one, in its own error shape', async () => {
      const threshold = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'x', failure_threshold: 0 } });
      expect(threshold.status).toBe(400);
      expect(((await threshold.json()) as { error: string }).error).toMatch(/^json validation error: failure_threshold: /);
      const timeout = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'x', timeout: 0 } });
      expect(timeout.status).toBe(400);
      expect(((await timeout.json()) as { error: string }).error).toMatch(/^json validation error: timeout: .*at least 1 second/);
      const slug = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'x', slug: 'Not Valid' } });
      expect(((await slug.json()) as { error: string }).error).toMatch(/^json validation error: slug: /);
      const listed = (await (await server.api('/api/v3/checks/')).json()) as { checks: { name: string }[] };
      expect(listed.checks.filter((c) => c.name === 'x')).toEqual([]);
    });

    run('wrong API key → 401; read-only key writing → 403; Bearer works', async () => {
      expect((await server.api('/api/v3/checks/', { key: 'wrong' })).status).toBe(401);
      expect((await server.api('/api/v1/checks', { key: null })).status).toBe(401);
      const ro = await createApiKey(server.ctx.db, server.org.id, 'ro', 'read-only');
      expect((await server.api('/api/v3/checks/', { key: ro.key })).status).toBe(200);
      expect((await server.api('/api/v3/checks/', { key: ro.key, method: 'POST', json: { name: 'x' } })).status).toBe(403);
      expect((await server.api('/api/v1/checks', { key: ro.key, method: 'POST', json: { name: 'x' } })).status).toBe(403);
      const bearer = await fetch(`${server.url}/api/v1/checks`, { headers: { authorization: `Bearer ${ro.key}` } });
      expect(bearer.status).toBe(200);
    });

    run("no key of one organisation can read or change another's checks", async () => {
      const other = await createOrg(server.ctx.db, 'Other');
      const otherKey = await createApiKey(server.ctx.db, other.id, 'k', 'admin');
      const mine = await create({ timeout: 60 });
      expect((await server.api(`/api/v1/checks/${mine.id}`, { key: otherKey.key })).status).toBe(404);
      expect((await server.api(`/api/v3/checks/${mine.id}`, { key: otherKey.key, method: 'DELETE' })).status).toBe(404);
      const list = (await (await server.api('/api/v3/checks/', { key: otherKey.key })).json()) as { checks: unknown[] };
      expect(list.checks).toEqual([]);
    });
  });
});
