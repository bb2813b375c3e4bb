import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleView } from '../src/contracts/alerting.js';
import { reportConditions } from '../src/domains/alerting/index.js';
import type { RuleReport } from '../src/domains/rules/index.js';
import { ADMIN_TOKEN, STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

// Log-traffic rules with real ingest: the stream processor counts, the evaluator follows its
// watermark, and what it hands the alert manager is recorded through the `report` port.

const SAMPLE = fileURLToPath(new URL('./data/sample_csv.txt', import.meta.url));

/** Transitions (changes of `active`) per instance, in the order reported. */
function transitions(reports: readonly RuleReport[], ruleId: string): string[] {
  const last = new Map<string, boolean>();
  const out: string[] = [];
  for (const r of reports) {
    if (r.ruleId !== ruleId) continue;
    const key = JSON.stringify(r.labels);
    if ((last.get(key) ?? false) === r.active) continue;
    last.set(key, r.active);
    out.push(`${r.active ? 'alert' : 'recover'} ${r.at.getTime() / 1000}${Object.keys(r.labels).length ? ` ${key}` : ''}`);
  }
  return out;
}

const request = (t: number, over: Record<string, unknown> = {}) => ({
  timestamp: new Date(t).toISOString(),
  message: 'request',
  source: 'agent-a',
  service: 'shop',
  method: 'GET',
  path: '/api/orders',
  status: 200,
  bytes: 100,
  duration_ms: 20,
  ...over,
});

describe.each(STORE_KINDS)('log-traffic alert rules (%s)', (kind) => {
  let server: TestServer;
  const reports: RuleReport[] = [];
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(
      kind,
      { VIGIL_STATS_IDLE_MS: '1000', VIGIL_RULES_IDLE_GRACE_MS: '3000', VIGIL_RULES_MAX_INSTANCES: '3', VIGIL_RULES_INTERVAL_MS: '200' },
      {
        // Recorded on their way to the alert manager.
        ruleReports: async (trx, batch, now) => {
          reports.push(...batch);
          await reportConditions(trx, batch, now);
        },
      },
    );
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  const createRule = async (body: unknown): Promise<RuleView> => {
    const res = await server.api('/api/v1/rules', { method: 'POST', json: body });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as RuleView;
  };

  run('answers 400 naming the field for bad rules, and takes the two bodies of the issue as written', async () => {
    const base = { name: 'x', metric: 'requests', window: '1m', op: '>', threshold: 1 };
    const bad: [unknown, string][] = [
      [{ ...base, metric: 'requests_per_minute' }, 'metric'],
      [{ ...base, window: '2x' }, 'window'],
      [{ ...base, window: '25h' }, 'window'],
      [{ ...base, window: '500ms' }, 'window'],
      [{ ...base, for: 'soon' }, 'for'],
      [{ ...base, threshold: 'NaN' }, 'threshold'],
      [{ ...base, threshold: null }, 'threshold'],
      [{ ...base, metric: 'duration_percentile' }, 'percentile'],
      [{ ...base, metric: 'status_class_count' }, 'status_class'],
      [{ ...base, message: 'value {{valeu}}' }, 'message'],
      [{ ...base, message: '{{labels.section}}' }, 'message'],
      [{ ...base, group_by: ['country'] }, 'group_by'],
      [{ ...base, filters: { colour: 'red' } }, 'filters'],
    ];
    for (const [body, field] of bad) {
      const res = await server.api('/api/v1/rules', { method: 'POST', json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const text = await res.text();
      expect(text, JSON.stringify(body)).toContain(field);
    }
    const high = await createRule({ name: 'high traffic', metric: 'requests_per_second', window: '2m', op: '>', threshold: 10, channels: '*' });
    expect(high).toMatchObject({ name: 'high traffic', is_default: false, error: null, for: '0s', group_by: [], firing: 0, pending: 0 });
    const errors = await createRule({ name: '5xx by section', metric: 'error_rate', group_by: ['section'], window: '5m', op: '>', threshold: 0.02, for: '1m' });
    expect(errors).toMatchObject({ metric: 'error_rate', group_by: ['section'], for: '1m' });

    const list = (await (await server.api('/api/v1/rules')).json()) as { rules: RuleView[] };
    expect(list.rules.filter((r) => r.is_default).map((r) => [r.name, r.metric, r.window, r.op, r.threshold])).toEqual([['High traffic', 'requests_per_second', '2m', '>', 10]]);

    const put = await server.api(`/api/v1/rules/${errors.id}`, { method: 'PUT', json: { ...errors, threshold: 0.05, id: undefined } });
    expect(put.status).toBe(200);
    expect(((await put.json()) as RuleView).threshold).toBe(0.05);
    expect((await server.api(`/api/v1/rules/${errors.id}`)).status).toBe(200);
    // Both are deleted so that the scenarios below see only their own rules and the default one.
    for (const id of [high.id, errors.id]) expect((await server.api(`/api/v1/rules/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await server.api(`/api/v1/rules/${errors.id}`)).status).toBe(404);
    expect((await server.api('/api/v1/rules', { key: null })).status).toBe(401);
  });

  run('the default rule alerts and recovers on the sample replayed through ingest at the seconds `vigil monitor` prints', async () => {
    const list = (await (await server.api('/api/v1/rules')).json()) as { rules: RuleView[] };
    const classic = list.rules.find((r) => r.is_default)!;
    // The sample, shifted to end two hours ago (ingest refuses events older than the hot retention),
    // by whole seconds so every event keeps its place in its second.
    const shift = Math.floor(Date.now() / 1000) - 7200 - 1549574340;
    const csv = (await readFile(SAMPLE, 'utf8')).replace(/^("[^"]*","[^"]*","[^"]*",)(\d+)/gm, (_, head: string, t: string) => `${head}${Number(t) + shift}`);
    const res = await fetch(`${server.url}/api/v1/logs?format=csv`, { method: 'POST', headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'text/plain' }, body: csv });
    expect(res.status, (await res.clone().text()).slice(0, 500)).toBe(200);
    const got = await eventually(async () => {
      const t = transitions(reports, classic.id);
      return t.length >= 4 ? t : undefined;
    }, 30_000);
    // `vigil monitor test/data/sample_csv.txt` (test/monitor-cli.test.ts, stream/sample.test.ts).
    expect(got).toEqual([1549573956, 1549574043, 1549574163, 1549574302].map((t, i) => `${i % 2 ? 'recover' : 'alert'} ${t + shift}`));
    const first = reports.find((r) => r.ruleId === classic.id && r.active)!;
    expect(first).toMatchObject({ source: 'log', ruleName: 'High traffic', labels: {}, threshold: 10, severity: 'warning', timing: { forMs: 0, keepFiringForMs: 0 } });
    expect(first.value).toBeCloseTo(1206 / 120);
    expect(first.routing).toEqual({ channels: '*', groupBy: [], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 });
    expect(first.summary).toBe('requests_per_second 10.05 > 10 over 2m');

    // Preview: the same engine over the sample's range gives the same firings.
    const preview = await server.api('/api/v1/rules/preview', { method: 'POST', json: { rule: { name: 'p', metric: 'requests_per_second', window: '2m', op: '>', threshold: 10 }, from: String(1549573850 + shift), to: String(1549574340 + shift) } });
    expect(preview.status).toBe(200);
    const body = (await preview.json()) as { step_seconds: number; series: { labels: object; points: unknown[]; firings: unknown[] }[] };
    expect(body.step_seconds).toBe(1);
    expect(body.series).toHaveLength(1);
    expect(body.series[0]!.points).toHaveLength(490);
    const iso = (t: number) => new Date((t + shift) * 1000).toISOString();
    expect(body.series[0]!.firings).toEqual([
      { fired_at: iso(1549573956), resolved_at: iso(1549574043) },
      { fired_at: iso(1549574163), resolved_at: iso(1549574302) },
    ]);
    const badPreview = await server.api('/api/v1/rules/preview', { method: 'POST', json: { rule: { name: 'p', metric: 'requests', window: '2m', op: '>', threshold: 1 }, from: 'yesterday' } });
    expect(badPreview.status).toBe(400);
    expect(await badPreview.text()).toContain('from');
  });

  run('a group-by rule reports per section, a p95 rule per host from raw events, an absence rule per service, a rule over its instance cap is marked in error and the others go on', async () => {
    const bySection = await createRule({ name: '5xx by section', metric: 'error_rate', filters: { service: 'shop' }, group_by: ['section'], window: '5s', op: '>', threshold: 0.2 });
    const absence = await createRule({ name: 'silent service', metric: 'requests', filters: { service: ['shop', 'billing'] }, group_by: ['service'], window: '5s', op: '<', threshold: 1 });
    const slow = await createRule({ name: 'slow checkout', metric: 'duration_percentile', percentile: 95, filters: { section: '/checkout' }, group_by: ['host'], window: '10s', op: '>', threshold: 500 });
    const tooMany = await createRule({ name: 'per path', metric: 'requests', group_by: ['section'], window: '5s', op: '>', threshold: 1000 });
    // The sample's senders (its remote hosts) stop holding the watermark back once idle (VIGIL_STATS_IDLE_MS).
    await new Promise((r) => setTimeout(r, 1200));
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 30_000;
    const events: unknown[] = [];
    for (let i = 0; i <= 30; i++) {
      events.push(request(t0 + i * 1000, { path: '/api/orders', status: i % 2 ? 503 : 200 }));
      events.push(request(t0 + i * 1000, { path: '/report/daily' }));
      events.push(request(t0 + i * 1000, { path: '/checkout/pay', host: 'web-1', duration_ms: i % 3 === 0 ? 900 : 100 }));
      events.push(request(t0 + i * 1000, { path: '/checkout/pay', host: 'web-2', duration_ms: 100 }));
      if (i < 8) events.push(request(t0 + i * 1000, { service: 'billing', path: '/invoices/1' }));
      if (i === 10) for (const p of ['/a', '/b', '/c', '/d']) events.push(request(t0 + i * 1000, { service: 'other', path: p }));
    }
    const res = await server.api('/api/v1/logs', { method: 'POST', json: events });
    expect(res.status).toBe(200);

    // 50 % of /api is 5xx; /report has none.
    await eventually(async () => transitions(reports, bySection.id).length >= 1, 20_000);
    expect(transitions(reports, bySection.id)[0]).toBe(`alert ${t0 / 1000 + 1} {"section":"/api"}`);
    const api = reports.find((r) => r.ruleId === bySection.id)!;
    expect(api.summary).toBe('error_rate 50 % > 20 % over 5s for section=/api');
    expect(api.link).toContain('section=%2Fapi');

    // p95 of durations per host, from the raw events: web-1 has one slow request in three.
    await eventually(async () => transitions(reports, slow.id).length >= 1, 20_000);
    expect(transitions(reports, slow.id)[0]).toBe(`alert ${t0 / 1000} {"host":"web-1"}`);
    expect(reports.find((r) => r.ruleId === slow.id)!.summary).toBe('duration p95 900 ms > 500 ms over 10s for host=web-1');

    // billing stopped after t0+7 s: its 5 s window is empty from t0+12 s.
    await eventually(async () => transitions(reports, absence.id).length >= 1, 20_000);
    expect(transitions(reports, absence.id)[0]).toBe(`alert ${t0 / 1000 + 12} {"service":"billing"}`);

    // Then everything stops: once the idle grace has passed, event time follows the wall clock and shop is silent too.
    await eventually(async () => transitions(reports, absence.id).some((t) => t.includes('"shop"')), 30_000);

    // Four sections of service "other" exceed the cap of 3 instances (VIGIL_RULES_MAX_INSTANCES).
    const errored = await eventually(async () => {
      const view = (await (await server.api(`/api/v1/rules/${tooMany.id}`)).json()) as RuleView;
      return view.error !== null ? view : undefined;
    });
    expect(errored.error).toMatch(/more than 3 instances/);
    const views = (await (await server.api('/api/v1/rules')).json()) as { rules: RuleView[] };
    expect(views.rules.find((r) => r.id === bySection.id)!.error).toBeNull();
    expect(views.rules.find((r) => r.id === absence.id)!.firing).toBeGreaterThanOrEqual(1);
    // The alert manager holds the instances: the silent billing service is firing there.
    const alerts = (await (await server.api(`/api/v1/alerts?source=log&rule_id=${absence.id}`)).json()) as { alerts: { labels: Record<string, string>; state: string; summary: string }[] };
    expect(alerts.alerts.find((a) => a.labels.service === 'billing')).toMatchObject({ state: 'firing', summary: 'requests 0 < 1 over 5s for service=billing' });
    // Deleting the rule resolves its instances at once.
    expect((await server.api(`/api/v1/rules/${absence.id}`, { method: 'DELETE' })).status).toBe(204);
    const after = (await (await server.api(`/api/v1/alerts?source=log&rule_id=${absence.id}`)).json()) as { alerts: { state: string }[] };
    expect(after.alerts.every((a) => a.state !== 'firing')).toBe(true);
  });
});
