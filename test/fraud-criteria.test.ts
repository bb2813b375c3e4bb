/**
 * Fraud criteria, lists, audit, backtest and the alert inbox through the HTTP API (issue 10) against
 * a real server on PostgreSQL (and PGlite, the embedded default): the issue's example body as written; immutable versions and the audit
 * log (who, what, when); type errors at save (400 naming `expression` with line and column); lists
 * read by criteria (used_by, 409 on delete); roles (read-only cannot write); a backtest over
 * shipments taken in over several days; the inbox (filters, paging, ack, verdicts, precision); and
 * another organisation's ids answered 404 on every fraud route, with an API key and with a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { fraudDb } from '../src/domains/fraud/tables.js';
import { STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

const EXAMPLE = { name: 'high value to watched country', expression: "shipment.declared_value_usd > 5000.0 && shipment.destination_country in ['NG', 'KP']", enabled: true };

interface Criterion {
  id: string;
  version: number;
  name: string;
  expression: string;
  enabled: boolean;
  shadow: boolean;
  status: string;
  paused_reason: string | null;
  channels: unknown;
  aggregates: { kind: string; key: string; field: string | null; window: string | null }[];
  created_by: string | null;
  updated_by: string | null;
  stats: { matches_7d: number; fraud: number; false_positive: number; benign: number; precision: number | null };
}
interface AuditEntry {
  at: string;
  actor: string | null;
  action: string;
  criterion_id: string | null;
  list_name: string | null;
  version: number | null;
  changes: Record<string, { from: unknown; to: unknown }>;
}
interface ErrorAnswer {
  error: { code: string; message: string; details?: { field: string; message: string; line: number | null; column: number | null }[] };
}
interface Alert {
  id: string;
  criterion_id: string;
  criterion_version: number;
  external_id: string;
  shadow: boolean;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  verdict: string | null;
  verdict_by: string | null;
  verdict_note: string | null;
}

type Caller = (path: string, init?: { method?: string; json?: unknown }) => Promise<Response>;

/** A browser's cookies for the session an answer opened, and its CSRF header. */
function sessionOf(res: Response): { cookie: string; csrf: string } {
  const jar: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [name, ...value] = pair!.split('=');
    jar[name!.trim()] = value.join('=');
  }
  return { cookie: `vigil_session=${jar.vigil_session}; vigil_csrf=${jar.vigil_csrf}`, csrf: jar.vigil_csrf! };
}

const DAY = 86_400_000;

describe.each(STORE_KINDS)('fraud criteria, lists, audit, backtest and inbox on %s', (kind) => {
  const run = it.skipIf(!storeAvailable(kind));
  let server: TestServer;
  /** An analyst's API key named "ci", an analyst's session (ana@…), a read-only key, and the other organisation's admin by key and by session. */
  let ci: Caller;
  let ana: Caller;
  let reader: Caller;
  let otherKey: Caller;
  let otherSession: Caller;
  const now = Date.now();

  const byKey =
    (key: string): Caller =>
    (path, init = {}) =>
      server.api(path, { ...(init.method ? { method: init.method } : {}), ...(init.json !== undefined ? { json: init.json } : {}), key });

  async function login(email: string, password: string): Promise<Caller> {
    const res = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    expect(res.status).toBe(201);
    const s = sessionOf(res);
    return (path, init = {}) =>
      fetch(`${server.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      });
  }

  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind, { LOG_LEVEL: process.env.FRAUD_TEST_LOG ?? 'silent' });
    const db = server.ctx.db;
    ci = byKey((await createApiKey(db, server.org.id, 'ci', 'member')).key);
    reader = byKey((await createApiKey(db, server.org.id, 'viewer', 'read-only')).key);
    const member = await server.api(`/api/v1/orgs/${server.org.id}/members`, { method: 'POST', json: { email: 'ana@example.com', role: 'analyst', password: 'ana password 123' } });
    expect(member.status).toBe(201);
    ana = await login('ana@example.com', 'ana password 123');
    const other = await createOrg(db, 'Other Logistics');
    otherKey = byKey((await createApiKey(db, other.id, 'other', 'admin')).key);
    const boss = await server.api(`/api/v1/orgs/${other.id}/members`, { method: 'POST', json: { email: 'boss@other.example', role: 'admin', password: 'boss password 123' } });
    expect(boss.status).toBe(201);
    otherSession = await login('boss@other.example', 'boss password 123');
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  const json = async <T>(res: Response | Promise<Response>, status = 200): Promise<T> => {
    const r = await res;
    const body = (await r.json()) as T;
    expect(r.status, JSON.stringify(body)).toBe(status);
    return body;
  };
  const audit = async (criterionId: string) => (await json<{ entries: AuditEntry[] }>(ci(`/api/v1/fraud/audit?criterion_id=${criterionId}`))).entries;

  run("takes the issue's example body as written and lists it", async () => {
    const created = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: EXAMPLE }), 201);
    expect(created).toMatchObject({ ...EXAMPLE, version: 1, status: 'active', shadow: false, channels: '*', aggregates: [], created_by: 'API key "ci"', paused_reason: null });
    expect(created.stats).toEqual({ matches_7d: 0, fraud: 0, false_positive: 0, benign: 0, precision: null });
    const { criteria } = await json<{ criteria: Criterion[] }>(reader('/api/v1/fraud/criteria'));
    expect(criteria.map((c) => c.id)).toContain(created.id);
    expect(await json<Criterion>(reader(`/api/v1/fraud/criteria/${created.id}`))).toMatchObject({ id: created.id, version: 1 });
  });

  run('makes an immutable version of every change (none for no change) and audits who changed what and when', async () => {
    const before = Date.now();
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'bursts', expression: "velocity.count('sender_id', '1h') > 20" } }), 201);
    expect(c.aggregates).toEqual([{ kind: 'count', key: 'sender_id', field: null, window: '1h' }]);

    const renamed = await json<Criterion>(ana(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { name: 'sender bursts' } }));
    expect(renamed).toMatchObject({ version: 2, name: 'sender bursts', expression: c.expression, enabled: true, updated_by: 'ana@example.com', created_by: 'API key "ci"' });
    // The same value again is no change: no version.
    expect(await json<Criterion>(ana(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { name: 'sender bursts', enabled: true } }))).toMatchObject({ version: 2 });
    const edited = await json<Criterion>(ana(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { expression: "velocity.count('sender_id', '1h') > 50", shadow: true } }));
    expect(edited).toMatchObject({ version: 3, status: 'shadow', name: 'sender bursts' });
    // Fields not sent keep their value (a patch does not fall back to defaults).
    const disabled = await json<Criterion>(ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { enabled: false } }));
    expect(disabled).toMatchObject({ version: 4, status: 'disabled', shadow: true, name: 'sender bursts' });

    const { versions } = await json<{ versions: { version: number; name: string; expression: string; enabled: boolean; created_by: string }[] }>(reader(`/api/v1/fraud/criteria/${c.id}/versions`));
    expect(versions.map((v) => [v.version, v.name, v.expression.endsWith('50'), v.enabled, v.created_by])).toEqual([
      [4, 'sender bursts', true, false, 'API key "ci"'],
      [3, 'sender bursts', true, true, 'ana@example.com'],
      [2, 'sender bursts', false, true, 'ana@example.com'],
      [1, 'bursts', false, true, 'API key "ci"'],
    ]);

    const entries = await audit(c.id);
    expect(entries.map((e) => [e.action, e.version, e.actor])).toEqual([
      ['criterion.updated', 4, 'API key "ci"'],
      ['criterion.updated', 3, 'ana@example.com'],
      ['criterion.updated', 2, 'ana@example.com'],
      ['criterion.created', 1, 'API key "ci"'],
    ]);
    expect(entries[0]!.changes).toEqual({ enabled: { from: true, to: false } });
    expect(entries[1]!.changes).toEqual({ expression: { from: "velocity.count('sender_id', '1h') > 20", to: "velocity.count('sender_id', '1h') > 50" }, shadow: { from: false, to: true } });
    expect(entries[2]!.changes).toEqual({ name: { from: 'bursts', to: 'sender bursts' } });
    expect(entries[3]!.changes.expression).toEqual({ from: null, to: "velocity.count('sender_id', '1h') > 20" });
    for (const e of entries) {
      expect(Date.parse(e.at)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(e.at)).toBeLessThanOrEqual(Date.now() + 1000);
    }

    // Deleting keeps the versions and the audit; the criterion itself is gone.
    expect((await ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await ci(`/api/v1/fraud/criteria/${c.id}`)).status).toBe(404);
    expect((await ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { name: 'x' } })).status).toBe(404);
    expect((await json<{ versions: unknown[] }>(ci(`/api/v1/fraud/criteria/${c.id}/versions`))).versions).toHaveLength(4);
    expect((await audit(c.id))[0]).toMatchObject({ action: 'criterion.deleted', actor: 'API key "ci"', version: 4 });
    const { criteria } = await json<{ criteria: Criterion[] }>(ci('/api/v1/fraud/criteria'));
    expect(criteria.map((x) => x.id)).not.toContain(c.id);
  });

  run('a paused criterion shows its reason and resumes with enabled: true (no version) or with a new version', async () => {
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'fragile', expression: 'shipment.pieces > 0' } }), 201);
    const pause = () => fraudDb(server.ctx.db).updateTable('fraud_criteria').set({ paused_reason: 'division by zero', paused_at: new Date() }).where('id', '=', c.id).execute();
    await pause();
    expect(await json<Criterion>(reader(`/api/v1/fraud/criteria/${c.id}`))).toMatchObject({ status: 'paused', paused_reason: 'division by zero' });
    const resumed = await json<Criterion>(ana(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { enabled: true } }));
    expect(resumed).toMatchObject({ status: 'active', paused_reason: null, version: 1 });
    expect((await audit(c.id))[0]).toMatchObject({ action: 'criterion.resumed', actor: 'ana@example.com', changes: { paused_reason: { from: 'division by zero', to: null } } });
    await pause();
    const fixed = await json<Criterion>(ana(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { expression: 'shipment.pieces > 1' } }));
    expect(fixed).toMatchObject({ status: 'active', paused_reason: null, version: 2 });
    expect((await audit(c.id))[0]).toMatchObject({ action: 'criterion.updated', version: 2, changes: { paused_reason: { from: 'division by zero', to: null } } });
  });

  run('refuses at save an expression that does not type-check, naming expression with line and column', async () => {
    const bad = await json<ErrorAnswer>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'typo', expression: "shipment.declared_value_usd > 5000.0 &&\n  shipment.destination_contry == 'NG'" } }), 400);
    expect(bad.error.code).toBe('invalid_field');
    expect(bad.error.message).toMatch(/^expression: line 2, column \d+: .*destination_contry/);
    expect(bad.error.details![0]).toMatchObject({ field: 'expression', line: 2 });
    expect(bad.error.details![0]!.column).toBeGreaterThan(0);

    const notBool = await json<ErrorAnswer>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'sum', expression: 'shipment.declared_value_usd * 2.0' } }), 400);
    expect(notBool.error.message).toMatch(/^expression: .*bool/);
    const unknownList = await json<ErrorAnswer>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'list', expression: 'shipment.sender_id in lists.nope' } }), 400);
    expect(unknownList.error.message).toMatch(/nope/);
    const regex = await json<ErrorAnswer>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'regex', expression: "shipment.description.matches('(a+)+$')" } }), 400);
    expect(regex.error.details![0]!.field).toBe('expression');

    // Channels must be the organisation's own.
    const channel = await json<{ id: string }>(server.api('/api/v1/channels', { method: 'POST', json: { kind: 'webhook', name: 'fraud hook', url: 'http://127.0.0.1:9/hook' } }), 201);
    const foreign = await json<ErrorAnswer>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { ...EXAMPLE, channels: [channel.id, crypto.randomUUID()] } }), 400);
    expect(foreign.error.details![0]!.field).toBe('channels[1]');
    expect(await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { ...EXAMPLE, channels: [channel.id] } }), 201)).toMatchObject({ channels: [channel.id] });

    // An edit is refused the same way and leaves the criterion as it was.
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'fine', expression: 'shipment.pieces > 10' } }), 201);
    const refused = await json<ErrorAnswer>(ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { expression: 'shipment.pieces >' } }), 400);
    expect(refused.error.details![0]).toMatchObject({ field: 'expression', line: 1 });
    expect(await json<Criterion>(ci(`/api/v1/fraud/criteria/${c.id}`))).toMatchObject({ version: 1, expression: 'shipment.pieces > 10' });

    // The editor's check answers the same problems without saving anything, to any role.
    const check = await json<{ ok: boolean; errors: { line: number; column: number }[] }>(reader('/api/v1/fraud/criteria/check', { method: 'POST', json: { expression: 'shipment.pieces >' } }));
    expect(check.ok).toBe(false);
    expect(check.errors[0]).toMatchObject({ line: 1 });
    expect(await json(reader('/api/v1/fraud/criteria/check', { method: 'POST', json: { expression: EXAMPLE.expression } }))).toMatchObject({ ok: true, type: 'bool', errors: [] });
  });

  run('lists: deduplicated items, add/remove/replace, used_by, audited, and not deletable while a criterion reads them', async () => {
    const created = await json<{ items: string[]; item_count: number; used_by: unknown[] }>(
      ana('/api/v1/fraud/lists', { method: 'POST', json: { name: 'watched_countries', description: 'Countries we watch', items: ['NG', 'KP', 'NG'] } }),
      201,
    );
    expect(created).toMatchObject({ items: ['KP', 'NG'], item_count: 2, used_by: [] });
    expect((await ana('/api/v1/fraud/lists', { method: 'POST', json: { name: 'watched_countries' } })).status).toBe(409);
    expect((await ana('/api/v1/fraud/lists', { method: 'POST', json: { name: 'Bad Name' } })).status).toBe(400);
    const tooMany = Array.from({ length: 100_001 }, (_, i) => `v${i}`);
    expect((await ana('/api/v1/fraud/lists', { method: 'POST', json: { name: 'too_big', items: tooMany } })).status).toBe(400);

    const schema = await json<{ lists: { name: string; items: number }[]; fields: { name: string }[] }>(reader('/api/v1/fraud/schema'));
    expect(schema.lists).toContainEqual({ name: 'lists.watched_countries', items: 2 });
    expect(schema.fields.map((f) => f.name)).toContain('shipment.declared_value_usd');

    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'watched', expression: 'shipment.destination_country in lists.watched_countries' } }), 201);
    const used = await json<{ used_by: { id: string; name: string }[] }>(reader('/api/v1/fraud/lists/watched_countries'));
    expect(used.used_by).toEqual([{ id: c.id, name: 'watched' }]);
    const summary = await json<{ lists: { name: string; item_count: number; used_by: unknown[] }[] }>(reader('/api/v1/fraud/lists'));
    expect(summary.lists.find((l) => l.name === 'watched_countries')).toMatchObject({ item_count: 2, used_by: [{ id: c.id, name: 'watched' }] });

    const blocked = await json<ErrorAnswer>(ci('/api/v1/fraud/lists/watched_countries', { method: 'DELETE' }), 409);
    expect(blocked.error.message).toContain('"watched"');

    const changed = await json<{ items: string[] }>(ana('/api/v1/fraud/lists/watched_countries', { method: 'PUT', json: { add: ['IR', 'NG'], remove: ['KP'] } }));
    expect(changed.items).toEqual(['IR', 'NG']);
    const replaced = await json<{ items: string[] }>(ana('/api/v1/fraud/lists/watched_countries', { method: 'PUT', json: { items: ['SY', 'SY', 'NG'], description: 'Replaced' } }));
    expect(replaced.items).toEqual(['NG', 'SY']);
    const entries = (await json<{ entries: AuditEntry[] }>(reader('/api/v1/fraud/audit'))).entries.filter((e) => e.list_name === 'watched_countries');
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['list.updated', 'ana@example.com'],
      ['list.updated', 'ana@example.com'],
      ['list.created', 'ana@example.com'],
    ]);
    expect(entries[1]!.changes).toEqual({ item_count: { from: 2, to: 2 }, items_added: { from: null, to: ['IR'] }, items_removed: { from: ['KP'], to: null } });
    expect(entries[0]!.changes).toMatchObject({ items_added: { to: ['SY'] }, items_removed: { from: ['IR'] }, description: { from: 'Countries we watch', to: 'Replaced' } });

    // Once no current criterion reads it, the list can go.
    await json(ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { expression: "shipment.destination_country == 'NG'" } }));
    expect((await ci('/api/v1/fraud/lists/watched_countries', { method: 'DELETE' })).status).toBe(204);
    expect((await ci('/api/v1/fraud/lists/watched_countries')).status).toBe(404);
    const gone = (await json<{ entries: AuditEntry[] }>(reader('/api/v1/fraud/audit'))).entries[0];
    expect(gone).toMatchObject({ action: 'list.deleted', list_name: 'watched_countries', actor: 'API key "ci"' });
  });

  run('numbers concurrent edits one after another: every change its own version and audit entry', async () => {
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'race', expression: 'shipment.pieces > 1' } }), 201);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { name: `race ${i}` } })));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    const { versions } = await json<{ versions: { version: number }[] }>(ci(`/api/v1/fraud/criteria/${c.id}/versions`));
    expect(versions.map((v) => v.version)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect((await audit(c.id)).map((e) => e.version)).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  run('a list of 100,000 items: stored once each, read by a criterion, changed by add/remove', async () => {
    const items = Array.from({ length: 99_990 }, (_, i) => `sender-${String(i).padStart(6, '0')}`);
    const created = await json<{ item_count: number }>(ci('/api/v1/fraud/lists', { method: 'POST', json: { name: 'blocked_senders', items: [...items, ...items.slice(0, 10)] } }), 201);
    expect(created.item_count).toBe(99_990);
    const more = Array.from({ length: 10 }, (_, i) => `sender-${String(99_990 + i).padStart(6, '0')}`);
    expect((await json<{ item_count: number }>(ci('/api/v1/fraud/lists/blocked_senders', { method: 'PUT', json: { add: [...more, 'sender-000001'] } }))).item_count).toBe(100_000);
    // Full: one more is refused, naming the field; a swap fits.
    const over = await json<ErrorAnswer>(ci('/api/v1/fraud/lists/blocked_senders', { method: 'PUT', json: { add: ['one-too-many'] } }), 400);
    expect(over.error.details![0]!.field).toBe('add');
    const swapped = await json<{ item_count: number; items: string[] }>(ci('/api/v1/fraud/lists/blocked_senders', { method: 'PUT', json: { add: ['zz-new'], remove: ['sender-000000'] } }));
    expect(swapped.item_count).toBe(100_000);
    expect(swapped.items[0]).toBe('sender-000001');
    expect(swapped.items.at(-1)).toBe('zz-new');
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'blocked', expression: 'shipment.sender_id in lists.blocked_senders' } }), 201);
    expect((await json<{ used_by: { id: string }[] }>(ci('/api/v1/fraud/lists/blocked_senders'))).used_by).toEqual([{ id: c.id, name: 'blocked' }]);
    const entry = (await json<{ entries: AuditEntry[] }>(ci('/api/v1/fraud/audit'))).entries.find((e) => e.action === 'list.created' && e.list_name === 'blocked_senders');
    expect(entry!.changes.item_count).toEqual({ from: 0, to: 99_990 });
    expect((entry!.changes.items_added!.to as string[]).length).toBe(100);
    expect((await ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'DELETE' })).status).toBe(204);
  }, 60_000);

  run('a read-only user reads but cannot write criteria, lists, backtests, acknowledgements or verdicts', async () => {
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'ro target', expression: 'shipment.pieces > 100', enabled: false } }), 201);
    await json(ci('/api/v1/fraud/lists', { method: 'POST', json: { name: 'ro_list', items: ['a'] } }), 201);
    const alertId = await seedAlert(c.id, 1, 'ro-1');
    for (const [method, path, body] of [
      ['POST', '/api/v1/fraud/criteria', EXAMPLE],
      ['PUT', `/api/v1/fraud/criteria/${c.id}`, { name: 'mine' }],
      ['DELETE', `/api/v1/fraud/criteria/${c.id}`, undefined],
      ['POST', '/api/v1/fraud/lists', { name: 'nope' }],
      ['PUT', '/api/v1/fraud/lists/ro_list', { add: ['b'] }],
      ['DELETE', '/api/v1/fraud/lists/ro_list', undefined],
      ['POST', '/api/v1/fraud/backtest', { expression: EXAMPLE.expression }],
      ['POST', `/api/v1/fraud/alerts/${alertId}/ack`, undefined],
      ['PUT', `/api/v1/fraud/alerts/${alertId}/verdict`, { verdict: 'fraud' }],
    ] as const) {
      const res = await reader(path, { method, ...(body !== undefined ? { json: body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    for (const path of ['/api/v1/fraud/criteria', `/api/v1/fraud/criteria/${c.id}`, `/api/v1/fraud/criteria/${c.id}/versions`, '/api/v1/fraud/lists', '/api/v1/fraud/lists/ro_list', '/api/v1/fraud/audit', '/api/v1/fraud/schema', '/api/v1/fraud/alerts', `/api/v1/fraud/alerts/${alertId}`]) {
      expect((await reader(path)).status, path).toBe(200);
    }
    expect(await json<Criterion>(ci(`/api/v1/fraud/criteria/${c.id}`))).toMatchObject({ version: 1, name: 'ro target' });
  });

  /** Shipments created over the last days (at noon UTC minus `daysAgo` days), taken in through the API. */
  async function seedShipments(rows: { id: string; daysAgo: number; usd: number; to: string; sender?: string }[]) {
    const body = rows.map((r) => ({
      external_id: r.id,
      created_at: new Date(now - r.daysAgo * DAY).toISOString(),
      declared_value: r.usd,
      currency: 'USD',
      destination_country: r.to,
      origin_country: 'DE',
      sender_id: r.sender ?? 's-1',
      recipient_address: '1 Main St',
    }));
    const answer = await json<{ stored: number; rejected: number }>(ci('/api/v1/shipments', { method: 'POST', json: body }));
    expect(answer.rejected).toBe(0);
  }

  /** An alert of a criterion version on a stored shipment, as the detector writes it (fraud_alerts). */
  async function seedAlert(criterionId: string, version: number, externalId: string, options: { shadow?: boolean; matchedAt?: Date } = {}): Promise<string> {
    const db = fraudDb(server.ctx.db);
    const id = crypto.randomUUID();
    const shipments = await server.ctx.db.selectFrom('shipments').select(['id', 'created_at']).where('org_id', '=', server.org.id).where('external_id', '=', externalId).execute();
    let shipment = shipments[0] as { id: string; created_at: Date } | undefined;
    if (!shipment) {
      // Matched by no enabled criterion of this file: the live detector leaves it alone.
      await seedShipments([{ id: externalId, daysAgo: 0, usd: 50, to: 'FR', sender: 'seeded' }]);
      shipment = (await server.ctx.db.selectFrom('shipments').select(['id', 'created_at']).where('org_id', '=', server.org.id).where('external_id', '=', externalId).executeTakeFirstOrThrow()) as { id: string; created_at: Date };
    }
    await db
      .insertInto('fraud_alerts')
      .values({
        id,
        org_id: server.org.id,
        criterion_id: criterionId,
        criterion_version: version,
        shipment_id: shipment.id,
        external_id: externalId,
        shipment_created_at: shipment.created_at,
        ...(options.matchedAt ? { matched_at: options.matchedAt } : {}),
        shadow: options.shadow ?? false,
        severity: 'warning',
        values: JSON.stringify({ 'shipment.declared_value_usd': 9000 }),
      })
      .execute();
    return id;
  }

  run('backtests a draft over the shipments of the last N days: matches per day and samples', async () => {
    await seedShipments([
      { id: 'bt-1', daysAgo: 1, usd: 9000, to: 'NG' },
      { id: 'bt-2', daysAgo: 1, usd: 100, to: 'NG' },
      { id: 'bt-3', daysAgo: 2, usd: 7000, to: 'KP' },
      { id: 'bt-4', daysAgo: 3, usd: 7000, to: 'FR' },
      { id: 'bt-5', daysAgo: 3, usd: 12000, to: 'NG' },
      { id: 'bt-old', daysAgo: 20, usd: 12000, to: 'NG' },
    ]);
    const result = await json<{ evaluated: number; matched: number; errors: number; per_day: { day: string; evaluated: number; matched: number }[]; samples: { external_id: string }[] }>(
      ana('/api/v1/fraud/backtest', { method: 'POST', json: { expression: EXAMPLE.expression, days: 5 } }),
    );
    expect(result.errors).toBe(0);
    const day = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString().slice(0, 10);
    const matchedPerDay = Object.fromEntries(result.per_day.filter((d) => d.matched > 0).map((d) => [d.day, d.matched]));
    expect(matchedPerDay[day(1)]).toBe(1);
    expect(matchedPerDay[day(2)]).toBe(1);
    expect(matchedPerDay[day(3)]).toBe(1);
    expect(result.samples.map((s) => s.external_id)).toEqual(expect.arrayContaining(['bt-1', 'bt-3', 'bt-5']));
    expect(result.samples.map((s) => s.external_id)).not.toContain('bt-old');
    expect(result.samples.map((s) => s.external_id)).not.toContain('bt-4');
    // A draft that does not check is refused like a save.
    const bad = await json<ErrorAnswer>(ana('/api/v1/fraud/backtest', { method: 'POST', json: { expression: 'shipment.nope > 1' } }), 400);
    expect(bad.error.details![0]).toMatchObject({ field: 'expression', line: 1 });
  });

  run('the inbox: filters, keyset paging, the shipment, acknowledgement, verdicts and the precision statistics', async () => {
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'inbox', expression: 'shipment.declared_value_usd > 5000.0', enabled: false } }), 201);
    await json(ci(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { description: 'v2' } }));
    const other = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'inbox other', expression: 'shipment.pieces > 1', enabled: false } }), 201);
    const t0 = now - 60_000;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await seedAlert(c.id, i < 2 ? 1 : 2, `in-${i}`, { matchedAt: new Date(t0 + i * 1000) }));
    const shadowId = await seedAlert(c.id, 2, 'in-shadow', { shadow: true, matchedAt: new Date(t0 + 10_000) });
    const otherId = await seedAlert(other.id, 1, 'in-0', { matchedAt: new Date(t0 + 20_000) });
    const oldId = await seedAlert(c.id, 1, 'in-old', { matchedAt: new Date(now - 10 * DAY) });

    const list = async (query: string) => (await json<{ alerts: Alert[]; next_before: string | null }>(reader(`/api/v1/fraud/alerts?${query}`))).alerts;
    const mine = await list(`criterion_id=${c.id}`);
    // Newest first; shadow matches are left out unless asked for.
    expect(mine.map((a) => a.id)).toEqual([...ids].reverse().concat(oldId));
    expect(mine[0]).toMatchObject({ external_id: 'in-4', criterion_version: 2, shadow: false, verdict: null });
    expect((await list(`criterion_id=${c.id}&shadow=true`)).map((a) => a.id)).toEqual([shadowId]);
    expect(await list(`criterion_id=${c.id}&shadow=all`)).toHaveLength(7);
    expect((await list('external_id=in-0')).map((a) => a.id).sort()).toEqual([ids[0], otherId].sort());
    expect((await list(`criterion_id=${c.id}&since=${new Date(t0 + 2500).toISOString()}`)).map((a) => a.id)).toEqual([ids[4], ids[3]]);
    expect((await reader('/api/v1/fraud/alerts?since=yesterday')).status).toBe(400);
    expect((await reader('/api/v1/fraud/alerts?before=garbage')).status).toBe(400);

    // Keyset paging: every alert once, in order, with pages of 2.
    const paged: string[] = [];
    let before: string | null = null;
    do {
      const page: { alerts: Alert[]; next_before: string | null } = await json(reader(`/api/v1/fraud/alerts?criterion_id=${c.id}&shadow=all&limit=2${before ? `&before=${encodeURIComponent(before)}` : ''}`));
      paged.push(...page.alerts.map((a) => a.id));
      before = page.next_before;
    } while (before);
    expect(paged).toEqual((await list(`criterion_id=${c.id}&shadow=all`)).map((a) => a.id));

    // One alert with its shipment and the values that matched.
    const detail = await json<{ alert: Alert & { values: Record<string, unknown> }; shipment: { external_id: string; declared_value_usd: number } }>(reader(`/api/v1/fraud/alerts/${ids[2]}`));
    expect(detail.alert).toMatchObject({ id: ids[2], external_id: 'in-2', values: { 'shipment.declared_value_usd': 9000 } });
    expect(detail.shipment).toMatchObject({ external_id: 'in-2', declared_value_usd: 50, destination_country: 'FR' });

    // Acknowledge: the first acknowledgement is kept.
    const acked = await json<Alert>(ana(`/api/v1/fraud/alerts/${ids[0]}/ack`, { method: 'POST' }));
    expect(acked.acknowledged_by).toBe('ana@example.com');
    const again = await json<Alert>(ci(`/api/v1/fraud/alerts/${ids[0]}/ack`, { method: 'POST' }));
    expect(again).toMatchObject({ acknowledged_by: 'ana@example.com', acknowledged_at: acked.acknowledged_at });

    // Verdicts: one per alert, changeable, with who and when.
    expect(await json<Alert>(ana(`/api/v1/fraud/alerts/${ids[1]}/verdict`, { method: 'PUT', json: { verdict: 'fraud', note: 'stolen card' } }))).toMatchObject({
      verdict: 'fraud',
      verdict_note: 'stolen card',
      verdict_by: 'ana@example.com',
    });
    await json(ci(`/api/v1/fraud/alerts/${ids[2]}/verdict`, { method: 'PUT', json: { verdict: 'fraud' } }));
    await json(ci(`/api/v1/fraud/alerts/${ids[3]}/verdict`, { method: 'PUT', json: { verdict: 'false_positive' } }));
    const changed = await json<Alert>(ci(`/api/v1/fraud/alerts/${ids[2]}/verdict`, { method: 'PUT', json: { verdict: 'benign' } }));
    expect(changed).toMatchObject({ verdict: 'benign', verdict_by: 'API key "ci"', verdict_note: '' });
    expect((await ci(`/api/v1/fraud/alerts/${ids[2]}/verdict`, { method: 'PUT', json: { verdict: 'maybe' } })).status).toBe(400);

    expect((await list(`criterion_id=${c.id}&status=open`)).map((a) => a.id)).toEqual([ids[4], oldId]);
    expect((await list(`criterion_id=${c.id}&status=acknowledged`)).map((a) => a.id)).toEqual([ids[0]]);
    expect((await list(`criterion_id=${c.id}&status=reviewed`)).map((a) => a.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect((await list(`criterion_id=${c.id}&verdict=fraud`)).map((a) => a.id)).toEqual([ids[1]]);

    // The criterion's own statistics: 6 matches in 7 days (shadow included, the 10-day-old one not), 1 of 3 reviews fraud.
    const stats = (await json<Criterion>(reader(`/api/v1/fraud/criteria/${c.id}`))).stats;
    expect(stats).toEqual({ matches_7d: 6, fraud: 1, false_positive: 1, benign: 1, precision: 1 / 3 });
    expect((await json<Criterion>(reader(`/api/v1/fraud/criteria/${other.id}`))).stats).toMatchObject({ matches_7d: 1, precision: null });
  });

  run('through the detector: new shipments that match reach the inbox with the criterion version; shadow matches apart; a failing criterion is paused, shown and resumed', async () => {
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'det value', expression: "shipment.sender_id == 'det-s' && shipment.declared_value_usd > 5000.0" } }), 201);
    const shadow = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'det shadow', expression: "shipment.sender_id == 'det-s'", shadow: true } }), 201);
    const fragile = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'det fragile', expression: "shipment.sender_id == 'det-s' && 10 / (shipment.pieces - shipment.pieces) > 1" } }), 201);
    const send = (rows: { id: string; usd: number }[]) =>
      json(ci('/api/v1/shipments', { method: 'POST', json: rows.map((r) => ({ external_id: r.id, created_at: new Date().toISOString(), declared_value: r.usd, currency: 'USD', sender_id: 'det-s', pieces: 2, destination_country: 'DE' })) }));
    await send([
      { id: 'det-1', usd: 9000 },
      { id: 'det-2', usd: 100 },
    ]);
    const alertsOf = async (criterionId: string, shadowed = 'false') => (await json<{ alerts: Alert[] }>(reader(`/api/v1/fraud/alerts?criterion_id=${criterionId}&shadow=${shadowed}`))).alerts;
    const [first] = await eventually(async () => {
      const found = await alertsOf(c.id);
      return found.length > 0 && found;
    });
    expect(first).toMatchObject({ external_id: 'det-1', criterion_version: 1, shadow: false });
    // Shadow mode: recorded, apart from the inbox's default view.
    const shadowed = await eventually(async () => {
      const found = await alertsOf(shadow.id, 'true');
      return found.length === 2 && found;
    });
    expect(shadowed.map((a) => a.external_id).sort()).toEqual(['det-1', 'det-2']);
    expect(await alertsOf(shadow.id)).toEqual([]);
    // The failing criterion is paused with its reason (and the audit says Vigil did it); the others went on.
    const paused = await eventually(async () => {
      const view = await json<Criterion>(reader(`/api/v1/fraud/criteria/${fragile.id}`));
      return view.status === 'paused' && view;
    });
    expect(paused.paused_reason).toBeTruthy();
    expect((await audit(fragile.id))[0]).toMatchObject({ action: 'criterion.paused', actor: null, version: 1 });
    expect((await json<Criterion>(ana(`/api/v1/fraud/criteria/${fragile.id}`, { method: 'PUT', json: { enabled: true } }))).status).toBe('active');

    // A new version: later shipments are matched by it, and their alerts say so.
    await json(ana(`/api/v1/fraud/criteria/${c.id}`, { method: 'PUT', json: { expression: "shipment.sender_id == 'det-s' && shipment.declared_value_usd > 50.0" } }));
    await send([{ id: 'det-3', usd: 100 }]);
    const latest = await eventually(async () => {
      const found = await alertsOf(c.id);
      return found.length === 2 && found;
    });
    expect(latest.map((a) => [a.external_id, a.criterion_version])).toEqual([
      ['det-3', 2],
      ['det-1', 1],
    ]);
    await json(ana(`/api/v1/fraud/alerts/${first!.id}/verdict`, { method: 'PUT', json: { verdict: 'fraud' } }));
    expect((await json<Criterion>(reader(`/api/v1/fraud/criteria/${c.id}`))).stats).toEqual({ matches_7d: 2, fraud: 1, false_positive: 0, benign: 0, precision: 1 });
    // Done: stop them matching this file's later shipments.
    for (const id of [c.id, shadow.id, fragile.id]) expect((await ci(`/api/v1/fraud/criteria/${id}`, { method: 'DELETE' })).status).toBe(204);
  });

  run("answers 404 to another organisation's ids on every fraud route, by API key and by session", async () => {
    const c = await json<Criterion>(ci('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'secret', expression: 'shipment.pieces > 3', enabled: false } }), 201);
    await json(ci('/api/v1/fraud/lists', { method: 'POST', json: { name: 'secret_list', items: ['x'] } }), 201);
    const alertId = await seedAlert(c.id, 1, 'secret-1');
    const theirs: [string, string, unknown][] = [
      ['GET', `/api/v1/fraud/criteria/${c.id}`, undefined],
      ['PUT', `/api/v1/fraud/criteria/${c.id}`, { name: 'stolen' }],
      ['PUT', `/api/v1/fraud/criteria/${c.id}`, { enabled: true }],
      ['DELETE', `/api/v1/fraud/criteria/${c.id}`, undefined],
      ['GET', `/api/v1/fraud/criteria/${c.id}/versions`, undefined],
      ['GET', '/api/v1/fraud/lists/secret_list', undefined],
      ['PUT', '/api/v1/fraud/lists/secret_list', { add: ['y'] }],
      ['DELETE', '/api/v1/fraud/lists/secret_list', undefined],
      ['GET', `/api/v1/fraud/alerts/${alertId}`, undefined],
      ['POST', `/api/v1/fraud/alerts/${alertId}/ack`, undefined],
      ['PUT', `/api/v1/fraud/alerts/${alertId}/verdict`, { verdict: 'fraud' }],
    ];
    for (const [who, caller] of [
      ['API key', otherKey],
      ['session', otherSession],
    ] as const) {
      for (const [method, path, body] of theirs) {
        const res = await caller(path, { method, ...(body !== undefined ? { json: body } : {}) });
        expect(res.status, `${who}: ${method} ${path}`).toBe(404);
      }
      // Listings and filters show none of it.
      expect((await json<{ criteria: unknown[] }>(caller('/api/v1/fraud/criteria'))).criteria).toEqual([]);
      expect((await json<{ lists: unknown[] }>(caller('/api/v1/fraud/lists'))).lists).toEqual([]);
      expect((await json<{ entries: unknown[] }>(caller(`/api/v1/fraud/audit?criterion_id=${c.id}`))).entries).toEqual([]);
      expect((await json<{ alerts: unknown[] }>(caller(`/api/v1/fraud/alerts?criterion_id=${c.id}&shadow=all`))).alerts).toEqual([]);
      expect((await json<{ alerts: unknown[] }>(caller('/api/v1/fraud/alerts?external_id=secret-1&shadow=all'))).alerts).toEqual([]);
      expect((await json<{ lists: unknown[] }>(caller('/api/v1/fraud/schema'))).lists).toEqual([]);
      // Their list is not ours to read in a criterion either.
      const refused = await json<ErrorAnswer>(caller('/api/v1/fraud/criteria', { method: 'POST', json: { name: 'peek', expression: 'shipment.sender_id in lists.secret_list' } }), 400);
      expect(refused.error.details![0]!.field).toBe('expression');
      // Backtests read only the caller's shipments.
      const bt = await json<{ evaluated: number }>(caller('/api/v1/fraud/backtest', { method: 'POST', json: { expression: 'true', days: 90 } }));
      expect(bt.evaluated).toBe(0);
    }
    // Nothing of ours changed.
    expect(await json<Criterion>(ci(`/api/v1/fraud/criteria/${c.id}`))).toMatchObject({ version: 1, name: 'secret', enabled: false });
    expect((await json<{ items: string[] }>(ci('/api/v1/fraud/lists/secret_list'))).items).toEqual(['x']);
    expect((await json<{ alert: Alert }>(ci(`/api/v1/fraud/alerts/${alertId}`))).alert).toMatchObject({ acknowledged_at: null, verdict: null });
    expect((await audit(c.id)).map((e) => e.action)).toEqual(['criterion.created']);
  });
});
