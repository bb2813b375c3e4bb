import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';

interface HcCheck {
  uuid: string;
  status: string;
  n_pings: number;
  last_duration?: number;
  started: boolean;
}
interface HcPing {
  type: string;
  n: number;
  rid: string | null;
  method: string;
  duration?: number;
  exitstatus?: number;
  body_url: string | null;
}

describe.each(STORE_KINDS)('Healthchecks ping protocol on %s', (kind) => {
  let server: TestServer;
  let pingKey: string;
  const rid = '6f1d8c3e-2b7a-4c1e-9f00-0123456789ab';

  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind, { VIGIL_PING_BODY_LIMIT: '1000' });
    pingKey = ((await (await server.api('/api/v1/me')).json()) as { org: { ping_key: string } }).org.ping_key;
  });
  afterAll(async () => server?.dispose());

  const newCheck = async (body: Record<string, unknown> = {}) => {
    const res = await server.api('/api/v3/checks/', { method: 'POST', json: { name: 'job', timeout: 3600, grace: 60, ...body } });
    expect(res.status).toBe(201);
    return (await res.json()) as HcCheck;
  };
  const ping = (path: string, init: RequestInit = {}) => fetch(`${server.url}/ping/${path}`, init);
  const check = async (uuid: string) => (await (await server.api(`/api/v3/checks/${uuid}`)).json()) as HcCheck;
  const pings = async (uuid: string) => ((await (await server.api(`/api/v3/checks/${uuid}/pings/`)).json()) as { pings: HcPing[] }).pings;

  it.skipIf(!storeAvailable(kind))('answers every path, method and status code as Healthchecks does', async () => {
    const c = await newCheck();
    const table: [string, string, number, string][] = [
      ['GET', `${c.uuid}`, 200, 'OK'],
      ['POST', `${c.uuid}`, 200, 'OK'],
      ['HEAD', `${c.uuid}`, 200, ''],
      ['GET', `${c.uuid}/start`, 200, 'OK'],
      ['POST', `${c.uuid}/fail`, 200, 'OK'],
      ['GET', `${c.uuid}/log`, 200, 'OK'],
      ['GET', `${c.uuid}/0`, 200, 'OK'],
      ['GET', `${c.uuid}/1`, 200, 'OK'],
      ['GET', `${c.uuid}/255`, 200, 'OK'],
      ['GET', `${c.uuid}/256`, 400, 'invalid url format'],
      ['GET', `${c.uuid}/start?rid=not-a-uuid`, 400, 'invalid uuid format'],
      ['GET', `not-a-uuid`, 400, 'invalid uuid format'],
      ['GET', `${c.uuid}/unknown`, 404, 'not found'],
      ['GET', `00000000-0000-4000-8000-000000000000`, 404, 'not found'],
      ['GET', `00000000-0000-4000-8000-000000000000/start`, 404, 'not found'],
      ['GET', `${pingKey}/no-such-slug`, 404, 'not found'],
      ['GET', `wrong-ping-key-000000/job`, 404, 'not found'],
      ['GET', `${pingKey}/job`, 200, 'OK'],
      ['POST', `${pingKey}/job/start`, 200, 'OK'],
      ['POST', `${pingKey}/job/0`, 200, 'OK'],
      ['HEAD', `${pingKey}/job/fail`, 200, ''],
      ['GET', `${pingKey}/job/log`, 200, 'OK'],
      ['GET', `${pingKey}/job?create=2`, 400, 'invalid value for create'],
      // Slugs are lower case: an upper-case one is a malformed URL to Healthchecks, not a missing check.
      ['GET', `${pingKey}/JOB`, 400, 'invalid url format'],
      ['GET', `${pingKey}/Job/start`, 400, 'invalid url format'],
    ];
    for (const [method, path, status, text] of table) {
      const res = await ping(path, { method });
      expect({ method, path, status: res.status, text: await res.text() }).toEqual({ method, path, status, text });
      expect(res.headers.get('ping-body-limit')).toBe('1000');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    }
  });

  it.skipIf(!storeAvailable(kind))('creates a check on first ping to a new slug with ?create=1 (201 Created), then 200', async () => {
    expect([(await ping(`${pingKey}/auto-created?create=1`)).status, (await ping(`${pingKey}/auto-created?create=1`)).status]).toEqual([201, 200]);
    const list = (await (await server.api('/api/v3/checks/?slug=auto-created')).json()) as { checks: HcCheck[] };
    expect(list.checks).toHaveLength(1);
    expect(list.checks[0]!.status).toBe('up');
  });

  it.skipIf(!storeAvailable(kind))('answers 409 to an ambiguous slug', async () => {
    await newCheck({ name: 'dup', slug: 'dup' });
    await newCheck({ name: 'dup 2', slug: 'dup' });
    const res = await ping(`${pingKey}/dup`);
    expect([res.status, await res.text()]).toEqual([409, 'ambiguous slug']);
  });

  it.skipIf(!storeAvailable(kind))('pairs a runitor-style start and finish by rid: duration, exit status and body', async () => {
    const c = await newCheck();
    expect((await ping(`${c.uuid}/start?rid=${rid}`, { method: 'POST' })).status).toBe(200);
    // As Healthchecks: API v3 keeps the status and says `started`; only API v1 shows "started" as a status.
    expect(await check(c.uuid)).toMatchObject({ status: 'new', started: true });
    expect(((await (await server.api(`/hc/api/v1/checks/${c.uuid}`)).json()) as HcCheck).status).toBe('started');
    await new Promise((r) => setTimeout(r, 1100));
    const res = await ping(`${c.uuid}/7?rid=${rid}`, { method: 'POST', body: 'backup failed: disk full\n', headers: { 'user-agent': 'runitor/v1.3.0' } });
    expect(res.status).toBe(200);
    const after = await check(c.uuid);
    expect(after.status).toBe('down');
    expect(after.last_duration).toBeGreaterThanOrEqual(1);
    const [finish, start] = await pings(c.uuid);
    expect(start).toMatchObject({ type: 'start', rid, n: 1 });
    expect(finish).toMatchObject({ type: 'fail', rid, n: 2, exitstatus: 7 });
    expect(finish!.duration).toBeGreaterThanOrEqual(1.1);
    // Absolute, as Healthchecks gives it.
    const body = await server.api(finish!.body_url!.slice(server.url.length));
    expect(await body.text()).toBe('backup failed: disk full\n');
    const runs = (await (await server.api(`/api/v1/checks/${c.uuid}/runs`)).json()) as { runs: { outcome: string; exit_status: number; output_tail: string; rid: string }[] };
    expect(runs.runs).toEqual([expect.objectContaining({ rid, outcome: 'fail', exit_status: 7, output_tail: 'backup failed: disk full\n' })]);
  });

  it.skipIf(!storeAvailable(kind))('keeps the tail of an oversized body instead of rejecting it', async () => {
    const c = await newCheck();
    const body = `${'x'.repeat(5000)}THE END`;
    const res = await ping(c.uuid, { method: 'POST', body });
    expect(res.status).toBe(200);
    const latest = (await (await server.api(`/api/v1/checks/${c.uuid}/pings`)).json()) as { pings: { body: string; body_size: number }[] };
    expect(latest.pings[0]!.body).toHaveLength(1000);
    expect(latest.pings[0]!.body.endsWith('THE END')).toBe(true);
    expect(latest.pings[0]!.body_size).toBe(body.length);
  });

  it.skipIf(!storeAvailable(kind))('records non-POST pings as ignored when the check accepts only POST', async () => {
    const c = await newCheck({ methods: 'POST' });
    await ping(c.uuid);
    expect((await pings(c.uuid))[0]!.type).toBe('ign');
    expect((await check(c.uuid)).status).toBe('new');
    await ping(c.uuid, { method: 'POST' });
    expect((await check(c.uuid)).status).toBe('up');
  });

  it.skipIf(!storeAvailable(kind))('numbers and pairs concurrent pings correctly when they are committed together', async () => {
    const a = await newCheck();
    const b = await newCheck();
    const rids = Array.from({ length: 20 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    // Starts first (all acknowledged), then finishes and plain pings all at once, so many share a batch.
    await Promise.all(rids.map((r) => ping(`${a.uuid}/start?rid=${r}`)));
    const answers = await Promise.all([
      ...rids.map((r, i) => ping(`${a.uuid}/${i % 2}?rid=${r}`, { method: 'POST', body: `run ${i}` })),
      ...Array.from({ length: 40 }, () => ping(b.uuid)),
    ]);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect((await check(a.uuid)).n_pings).toBe(40);
    expect((await check(b.uuid)).n_pings).toBe(40);
    const numbers = (await pings(b.uuid)).map((p) => p.n).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const runs = (await (await server.api(`/api/v1/checks/${a.uuid}/runs`)).json()) as { runs: { rid: string; outcome: string; output_tail: string; started_at: string | null }[] };
    expect(runs.runs).toHaveLength(20);
    for (const run of runs.runs) {
      const i = rids.indexOf(run.rid);
      expect(run).toMatchObject({ outcome: i % 2 ? 'fail' : 'success', output_tail: `run ${i}` });
      expect(run.started_at).not.toBeNull();
    }
  });
});
