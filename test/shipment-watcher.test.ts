/**
 * The shipment table watcher (issue 10, "Shipments in") against real PostgreSQL servers: a second
 * database plays the platform's own, with its orders table. Shown here:
 * - two concurrent bulk transactions (thousands of rows each) committing OUT OF ORDER — the one
 *   holding the lower ids last — while the watcher polls: every row stored exactly once, none missed;
 * - a restart of the watcher mid-backlog, and three readers at once (one without a lease): every
 *   row exactly once (the counters and the shipments agree, nothing read twice);
 * - the watched database going away (a proxy in front of it is closed) and coming back: the error is
 *   in the watcher's state, Vigil keeps answering, and the rows inserted meanwhile arrive;
 * - column mapping errors (400 naming the field and the column), rows refused by the intake
 *   recorded with their reason while the others are stored, the organisation chosen by a column;
 * - platform administrators only (403 for an organisation's admin key), password never answered;
 * - a real `vigil` process killed with -9 in the middle of a backlog, then restarted: every row
 *   exactly once (`rows_read` equals the table's rows: a page committed is never read again);
 * - `vigil watcher add|list|remove` (the built CLI), with the URL read from stdin.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { startShipmentWatchers } from '../src/domains/watchers/index.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VIGIL_BIN, freePort, killHard, spawnVigil, type VigilProcess } from './support/process.js';
import { ADMIN_TOKEN, TEST_DATABASE_URL, eventually, freshPostgresDatabase, startTestServer, type TestServer } from './support/server.js';

/** The kill -9 and CLI tests run the built `vigil` (npm run build). */
const BUILT = existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)));

interface View {
  id: string;
  connection_url: string;
  has_password: boolean;
  state: { rows_read: number; rows_stored: number; rows_rejected: number; last_error: string | null; failures: number; settled: number | null; read_ranges_above: number; lag_rows: number };
  recent_rejections: { key: number; field: string; message: string; org_id: string | null }[];
}

const run = it.skipIf(!TEST_DATABASE_URL);

/** A TCP proxy in front of the watched PostgreSQL, to take it away and bring it back on the same port. */
class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async open(): Promise<void> {
    this.server = createServer((socket) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [socket, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    const address = this.server.address();
    if (typeof address === 'object' && address) this.port = address.port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe.skipIf(!TEST_DATABASE_URL)('shipment table watcher (PostgreSQL)', () => {
  let server: TestServer;
  let watched: { url: string; drop: () => Promise<void> };
  let pool: pg.Pool;
  let acme: string;
  let globex: string;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    // Vigil without its background workers: each test runs the watcher worker itself, so it can stop and restart it.
    server = await startTestServer('postgres', {}, { workers: false });
    acme = (await createOrg(server.ctx.db, 'Acme')).id;
    globex = (await createOrg(server.ctx.db, 'Globex')).id;
    watched = await freshPostgresDatabase();
    pool = new pg.Pool({ connectionString: watched.url, max: 6 });
    await pool.query(`CREATE TABLE orders (
      id bigserial PRIMARY KEY,
      order_ref text NOT NULL,
      placed_at timestamptz NOT NULL,
      customer text,
      amount numeric(12, 2),
      amount_currency text,
      ship_to text,
      extra jsonb,
      note text
    )`);
    await pool.query('CREATE TABLE loose (n integer, ref text, at timestamptz)');
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await server?.dispose();
    await watched?.drop();
  });

  const mapping = { external_id: 'order_ref', created_at: 'placed_at', declared_value: 'amount', currency: 'amount_currency', destination_country: 'ship_to', attributes: 'extra' };
  const create = (body: Record<string, unknown>, key?: string) => server.api('/api/v1/shipment-watchers', { method: 'POST', json: body, ...(key ? { key } : {}) });
  const view = async (id: string) => (await (await server.api(`/api/v1/shipment-watchers/${id}`)).json()) as View;
  const storedCount = async (prefix: string) =>
    Number((await server.ctx.store.pool!.query<{ n: string }>(`SELECT count(*) AS n FROM shipments WHERE external_id LIKE $1`, [`${prefix}%`])).rows[0]!.n);

  /** Inserts `n` orders in the transaction of `client` (one statement, like a bulk load). */
  const bulk = (client: pg.PoolClient | pg.Pool, prefix: string, n: number, customer = 'acme') =>
    client.query(
      `INSERT INTO orders (order_ref, placed_at, customer, amount, amount_currency, ship_to, extra)
       SELECT $1 || g, now(), $3, 10 + g % 90, 'EUR', 'NG', jsonb_build_object('g', g) FROM generate_series(1, $2::int) AS g`,
      [prefix, n, customer],
    );

  run('refuses a mapping that does not fit the table, naming the field and the column; only platform administrators', async () => {
    const base = { name: 'bad', connection_url: watched.url, table: 'orders', columns: mapping, org_id: acme };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...base, columns: { ...mapping, declared_value: 'price' } }, 'columns.declared_value', /column "price" does not exist in public.orders/],
      [{ ...base, table: 'public.nope' }, 'table', /no table public.nope/],
      [{ ...base, table: 'loose', order_column: 'n', columns: { external_id: 'ref', created_at: 'at' } }, 'order_column', /unique index/],
      [{ ...base, order_column: 'order_ref' }, 'order_column', /must be an integer/],
      [{ ...base, columns: { ...mapping, attributes: 'note' } }, 'columns.attributes', /json or jsonb/],
      [{ ...base, org_id: '00000000-0000-4000-8000-000000000000' }, 'org_id', /no organisation/],
      [{ ...base, org_id: undefined, org_column: 'tenant', org_map: { a: acme } }, 'org_column', /column "tenant" does not exist/],
      [{ ...base, connection_url: 'postgres://nobody@127.0.0.1:1/x' }, 'connection_url', /could not be read/],
    ];
    for (const [body, field, message] of cases) {
      const res = await create(body);
      const answer = (await res.json()) as { error: { code: string; message: string; details?: { field: string }[] } };
      expect(res.status, field).toBe(400);
      expect(answer.error.details?.[0]?.field ?? answer.error.message, field).toBe(field);
      expect(answer.error.message).toMatch(message);
    }
    // external_id and created_at are required (zod, before the table is looked at).
    const missing = await create({ ...base, columns: { external_id: 'order_ref' } });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(await missing.json())).toMatch(/created_at/);

    // An organisation's admin key is not a platform administrator.
    const orgAdmin = (await createApiKey(server.ctx.db, acme, 'acme admin', 'admin')).key;
    expect((await create({ ...base, name: 'x' }, orgAdmin)).status).toBe(403);
    expect((await server.api('/api/v1/shipment-watchers', { key: orgAdmin })).status).toBe(403);
    expect((await server.api('/api/v1/shipment-watchers/00000000-0000-4000-8000-000000000000', { key: orgAdmin })).status).toBe(403);
    expect((await server.api('/api/v1/shipment-watchers', { key: null })).status).toBe(401);
  });

  run('reads two concurrent bulk transactions that commit out of order: every row once, none missed; refused rows recorded', async () => {
    const res = await create({ name: 'orders', connection_url: watched.url, table: 'public.orders', columns: mapping, org_id: acme, poll_interval_ms: 100, batch_size: 700 });
    expect(res.status).toBe(201);
    const w = (await res.json()) as View;
    // The password of the connection URL is never answered.
    expect(w.has_password).toBe(new URL(watched.url).password !== '');
    expect(w.connection_url).not.toContain(`:${new URL(watched.url).password || 'no-password'}@`);
    const worker = startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 50 });
    try {
      const low = await pool.connect();
      const high = await pool.connect();
      try {
        await low.query('BEGIN');
        await bulk(low, 'low-', 4000); // ids 1..4000, committed LAST
        await high.query('BEGIN');
        await bulk(high, 'high-', 4000); // ids 4001..8000, committed first
        // A few rows the intake refuses (unknown country), committed with the high ones.
        await high.query(`INSERT INTO orders (order_ref, placed_at, customer, amount, amount_currency, ship_to) VALUES ('high-bad-1', now(), 'acme', 5, 'EUR', 'XX'), ('high-bad-2', now(), 'acme', 5, 'ZZZ', 'NG')`);
        await high.query('COMMIT');
        // The watcher reads the high ids and moves on while the low ones are still in progress.
        await eventually(async () => (await storedCount('high-')) === 4000, 30_000);
        await new Promise((r) => setTimeout(r, 500));
        expect(await storedCount('low-')).toBe(0);
        const midway = await view(w.id);
        expect(midway.state.read_ranges_above).toBeGreaterThan(0); // the gap of the open transaction is kept open
        await low.query('COMMIT');
      } finally {
        low.release();
        high.release();
      }
      // More single-row inserts on the side, while it catches up.
      for (let i = 0; i < 20; i++) await pool.query(`INSERT INTO orders (order_ref, placed_at, customer, amount, amount_currency, ship_to) VALUES ($1, now(), 'acme', 1, 'USD', 'DE')`, [`side-${i}`]);
      await eventually(async () => (await storedCount('low-')) === 4000 && (await storedCount('side-')) === 20, 30_000);
      const after = await eventually(async () => {
        const v = await view(w.id);
        return v.state.rows_read === 8022 && v.state.read_ranges_above === 0 ? v : undefined;
      }, 20_000);
      // Exactly once: 8,022 rows read (not one more), 8,020 stored, 2 refused with their reason.
      expect(after.state).toMatchObject({ rows_read: 8022, rows_stored: 8020, rows_rejected: 2, last_error: null, lag_rows: 0 });
      expect(after.recent_rejections.map((r) => [r.field, r.org_id])).toEqual(
        expect.arrayContaining([
          ['destination_country', acme],
          ['currency', acme],
        ]),
      );
      expect(after.recent_rejections.find((r) => r.field === 'currency')!.message).toMatch(/unknown currency/);
      // Stored as the intake stores them: converted, under the organisation.
      const one = await server.ctx.store.pool!.query(`SELECT org_id, declared_value_usd, attributes FROM shipments WHERE external_id = 'low-7'`);
      expect(one.rows[0]).toMatchObject({ org_id: acme, declared_value_usd: Math.round(17 * 1.08 * 100) / 100, attributes: { g: 7 } });
      expect(Number((await server.ctx.store.pool!.query(`SELECT count(*) AS n FROM shipments WHERE org_id = $1`, [acme])).rows[0].n)).toBe(8020);
    } finally {
      await worker.stop();
    }
    expect((await server.api(`/api/v1/shipment-watchers/${w.id}`, { method: 'DELETE' })).status).toBe(204);
  }, 120_000);

  run('after a restart mid-backlog, and with three readers at once, reads every row exactly once; the organisation comes from a column', async () => {
    await pool.query('CREATE TABLE backlog (id bigserial PRIMARY KEY, ref text NOT NULL, at timestamptz NOT NULL, tenant text)');
    const res = await create({
      name: 'backlog',
      connection_url: watched.url,
      table: 'backlog',
      columns: { external_id: 'ref', created_at: 'at' },
      org_column: 'tenant',
      org_map: { acme: acme, globex: globex },
      poll_interval_ms: 100,
      batch_size: 500,
      start: 'beginning',
    });
    expect(res.status).toBe(201);
    const w = (await res.json()) as View;
    await pool.query(
      `INSERT INTO backlog (ref, at, tenant) SELECT 'bk-' || g, now(), CASE WHEN g % 1000 = 0 THEN 'initech' WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END FROM generate_series(1, 20000) AS g`,
    );
    // One page per turn: it is stopped after a few pages, well before the end of the backlog.
    const first = startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 20, turnBudgetMs: 0 });
    await eventually(async () => (await view(w.id)).state.rows_read >= 3000, 30_000, 20);
    await first.stop();
    const stoppedAt = (await view(w.id)).state.rows_read;
    expect(stoppedAt).toBeLessThan(20000);
    // Restarted, three at once: two with leases, one without (exactly-once rests on the version check).
    const readers = [
      startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 20 }),
      startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 20 }),
      startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 20, leaseMs: 0 }),
    ];
    try {
      const done = await eventually(async () => {
        const v = await view(w.id);
        return v.state.rows_read >= 20000 ? v : undefined;
      }, 60_000);
      expect(done.state).toMatchObject({ rows_read: 20000, rows_stored: 19980, rows_rejected: 20 });
      expect(done.recent_rejections[0]).toMatchObject({ field: 'tenant', message: 'value "initech" is not in org_map' });
    } finally {
      await Promise.all(readers.map((r) => r.stop()));
    }
    const counts = await server.ctx.store.pool!.query<{ org_id: string; n: string }>(`SELECT org_id, count(*) AS n FROM shipments WHERE external_id LIKE 'bk-%' GROUP BY org_id`);
    expect(Object.fromEntries(counts.rows.map((r) => [r.org_id, Number(r.n)]))).toEqual({ [acme]: 9980, [globex]: 10000 });
  }, 120_000);

  run('a watched database that goes away is an error in the state, retried with back-off; the rows inserted meanwhile arrive once it is back', async () => {
    const target = new URL(watched.url);
    const proxy = new Proxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.open();
    const viaProxy = new URL(watched.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    await pool.query('CREATE TABLE outage (id bigserial PRIMARY KEY, ref text NOT NULL, at timestamptz NOT NULL)');
    const res = await create({ name: 'outage', connection_url: viaProxy.toString(), table: 'outage', columns: { external_id: 'ref', created_at: 'at' }, org_id: globex, poll_interval_ms: 100 });
    expect(res.status).toBe(201);
    const w = (await res.json()) as View;
    const worker = startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 50 });
    try {
      await pool.query(`INSERT INTO outage (ref, at) SELECT 'out-a-' || g, now() FROM generate_series(1, 100) AS g`);
      await eventually(async () => (await storedCount('out-a-')) === 100, 20_000);
      await proxy.close();
      await pool.query(`INSERT INTO outage (ref, at) SELECT 'out-b-' || g, now() FROM generate_series(1, 100) AS g`);
      const down = await eventually(async () => {
        const v = await view(w.id);
        return v.state.last_error && v.state.failures >= 2 ? v : undefined;
      }, 20_000);
      expect(down.state.last_error).toMatch(/ECONNREFUSED|connect|terminated/i);
      // Vigil itself is fine.
      expect((await server.api('/api/v1/shipment-watchers')).status).toBe(200);
      expect(await storedCount('out-b-')).toBe(0);
      await proxy.open(); // same port
      await eventually(async () => (await storedCount('out-b-')) === 100, 30_000);
      const back = await eventually(async () => {
        const v = await view(w.id);
        return v.state.last_error === null ? v : undefined;
      }, 10_000);
      expect(back.state).toMatchObject({ rows_read: 200, rows_stored: 200, failures: 0 });
    } finally {
      await worker.stop();
      await proxy.close();
    }
  }, 90_000);

  run('reads ids interleaved row by row by two open transactions, the lower one committing last; a PUT keeps or resets the position', async () => {
    await pool.query('CREATE TABLE mixed (id bigserial PRIMARY KEY, ref text NOT NULL, at timestamptz NOT NULL)');
    const body = { name: 'mixed', connection_url: watched.url, table: 'mixed', columns: { external_id: 'ref', created_at: 'at' }, org_id: globex, poll_interval_ms: 100, batch_size: 50 };
    const res = await create(body);
    expect(res.status).toBe(201);
    const w = (await res.json()) as View;
    const worker = startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 20 });
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      // Ids alternate between the two transactions: a gets 1, 3, 5…, b gets 2, 4, 6… (one row per statement).
      for (let i = 0; i < 150; i++) {
        await a.query(`INSERT INTO mixed (ref, at) VALUES ($1, now())`, [`mix-a-${i}`]);
        await b.query(`INSERT INTO mixed (ref, at) VALUES ($1, now())`, [`mix-b-${i}`]);
      }
      await b.query('COMMIT');
      await eventually(async () => (await storedCount('mix-b-')) === 150, 20_000);
      expect((await view(w.id)).state.read_ranges_above).toBe(150); // every other id: 150 single-id ranges
      await a.query('COMMIT');
    } finally {
      a.release();
      b.release();
    }
    const done = await eventually(async () => {
      const v = await view(w.id);
      return v.state.rows_read === 300 && v.state.read_ranges_above === 0 ? v : undefined;
    }, 20_000);
    expect(done.state).toMatchObject({ rows_stored: 300, settled: 300 });
    await worker.stop();

    // PUT without connection_url keeps it (and its password) and the position…
    const kept = (await (await server.api(`/api/v1/shipment-watchers/${w.id}`, { method: 'PUT', json: { ...body, connection_url: undefined, poll_interval_ms: 500 } })).json()) as View & { poll_interval_ms: number };
    expect(kept).toMatchObject({ poll_interval_ms: 500, has_password: w.has_password, state: { settled: 300, rows_read: 300 } });
    // …with `start`, it starts over (here: from the beginning, so every row is read again and found a duplicate).
    const reset = (await (await server.api(`/api/v1/shipment-watchers/${w.id}`, { method: 'PUT', json: { ...body, connection_url: undefined, start: 'beginning' } })).json()) as View;
    expect(reset.state).toMatchObject({ settled: null, rows_read: 300 });
    const again = startShipmentWatchers({ store: server.ctx.store, logger, tickMs: 20 });
    try {
      const reread = await eventually(async () => {
        const v = await view(w.id);
        return v.state.rows_read === 600 ? v : undefined;
      }, 20_000);
      expect(reread.state.rows_stored).toBe(300);
      expect(await storedCount('mix-')).toBe(300);
    } finally {
      await again.stop();
    }
    // A PUT that does not fit the table is refused like a POST.
    const bad = await server.api(`/api/v1/shipment-watchers/${w.id}`, { method: 'PUT', json: { ...body, columns: { external_id: 'nope', created_at: 'at' } } });
    expect(bad.status).toBe(400);
    expect((await server.api(`/api/v1/shipment-watchers/00000000-0000-4000-8000-000000000000`, { method: 'PUT', json: body })).status).toBe(404);
    expect((await server.api(`/api/v1/shipment-watchers/${w.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await server.api(`/api/v1/shipment-watchers/${w.id}`, { method: 'DELETE' })).status).toBe(404);
  }, 90_000);

  it.skipIf(!TEST_DATABASE_URL || !BUILT)(
    'a vigil process killed with -9 mid-backlog and restarted reads every row exactly once',
    async () => {
      await pool.query('CREATE TABLE crash (id bigserial PRIMARY KEY, ref text NOT NULL, at timestamptz NOT NULL)');
      await pool.query(`INSERT INTO crash (ref, at) SELECT 'crash-' || g, now() FROM generate_series(1, 30000) AS g`);
      const db = await freshPostgresDatabase();
      const port = await freePort();
      const env = { DATABASE_URL: db.url, VIGIL_DATA_DIR: '', VIGIL_ADMIN_TOKEN: ADMIN_TOKEN };
      let proc: VigilProcess | undefined;
      const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { 'x-api-key': ADMIN_TOKEN, 'content-type': 'application/json' } });
      try {
        proc = await spawnVigil(env, port);
        const org = (await (await api('/api/v1/me')).json()) as { org: { id: string } };
        const res = await api('/api/v1/shipment-watchers', {
          method: 'POST',
          body: JSON.stringify({ name: 'crash', connection_url: watched.url, table: 'crash', columns: { external_id: 'ref', created_at: 'at' }, org_id: org.org.id, batch_size: 300, poll_interval_ms: 100, start: 'beginning' }),
        });
        expect(res.status).toBe(201);
        const { id } = (await res.json()) as View;
        const state = async () => ((await (await api(`/api/v1/shipment-watchers/${id}`)).json()) as View).state;
        const before = await eventually(async () => {
          const s = await state();
          return s.rows_read >= 3000 ? s : undefined;
        }, 60_000, 20);
        await killHard(proc);
        expect(before.rows_read).toBeLessThan(30000); // killed mid-backlog
        proc = await spawnVigil(env, port);
        const done = await eventually(async () => {
          const s = await state();
          return s.rows_read >= 30000 && s.read_ranges_above === 0 ? s : undefined;
        }, 120_000);
        expect(done).toMatchObject({ rows_read: 30000, rows_stored: 30000, rows_rejected: 0 });
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const n = await client.query<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT external_id) AS d FROM shipments WHERE external_id LIKE 'crash-%'`);
        await client.end();
        expect(n.rows[0]).toEqual({ n: '30000', d: '30000' });
      } finally {
        if (proc) await killHard(proc);
        await db.drop();
      }
    },
    240_000,
  );

  it.skipIf(!TEST_DATABASE_URL || !BUILT)('vigil watcher add, list and remove (the built CLI), the URL read from stdin', async () => {
    const db = await freshPostgresDatabase();
    const vigil = (args: string[], stdin = '') =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [VIGIL_BIN, ...args], { env: { ...process.env, NATS_URL: '', DATABASE_URL: db.url, VIGIL_DATA_DIR: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        child.stdin.end(stdin);
        child.once('error', reject);
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
    try {
      const org = await vigil(['org', 'create', 'Cli Org']);
      expect(org.code, org.stderr).toBe(0);
      const add = ['watcher', 'add', 'cli-orders', '--connection', '-', '--table', 'orders', '--map', 'external_id=order_ref', '--map', 'created_at=placed_at', '--org', 'Cli Org', '--json'];
      const added = await vigil(add, `${watched.url}\n`);
      expect(added.code, added.stderr).toBe(0);
      const view = JSON.parse(added.stdout) as View;
      expect(view).toMatchObject({ name: 'cli-orders', table: 'public.orders' });
      const bad = await vigil(['watcher', 'add', 'cli-bad', '--connection', watched.url, '--table', 'orders', '--map', 'external_id=nope', '--map', 'created_at=placed_at', '--org', 'Cli Org']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/columns.external_id: column "nope" does not exist/);
      const usage = await vigil(['watcher', 'add', 'cli-bad', '--connection', watched.url, '--table', 'orders', '--map', 'external_id', '--org', 'Cli Org']);
      expect(usage.code).toBe(2);
      const list = await vigil(['watcher', 'list']);
      expect(list.stdout).toContain(`${view.id}\tcli-orders\tpublic.orders\t0\t-`);
      const password = new URL(watched.url).password;
      if (password) expect((await vigil(['watcher', 'list', '--json'])).stdout).not.toContain(password);
      expect((await vigil(['watcher', 'remove', 'cli-orders'])).code).toBe(0);
      expect((await vigil(['watcher', 'list'])).stdout).toBe('');
    } finally {
      await db.drop();
    }
  }, 120_000);
});
