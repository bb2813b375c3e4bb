import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createOrg } from '../src/domains/accounts/index.js';
import { asOrg, asSystem, inRequestScope, openStore, type Db } from '../src/platform/store/index.js';
import { STORE_KINDS, TEST_DATABASE_URL, eventually, storeAvailable, startTestServer, type TestServer } from './support/server.js';

/**
 * Tenant isolation by PostgreSQL row-level security (migration 018, src/platform/store/tenancy.ts):
 * two organisations with rows in the main tenant tables (made through the API), then
 * - through the store: each context sees what it should (an organisation its own rows, no context
 *   nothing, the bypass everything), on both stores;
 * - by direct SQL as the application's role: set to organisation A, no row of B in any tenant
 *   table can be read, updated, deleted or inserted; with nothing set nothing is visible; the
 *   bypass sees all;
 * - the catalogue: every table with org_id has row-level security enabled and forced, so a
 *   migration that forgets it fails here.
 */

/** Tables the seeding below puts rows of both organisations in (so "none visible" is not trivial). */
const SEEDED = ['orgs', 'api_keys', 'checks', 'pings', 'runs', 'flips', 'log_events', 'shipments'];

interface Seeded {
  a: string;
  b: string;
}

async function seed(server: TestServer): Promise<Seeded> {
  const a = server.org.id;
  const b = (await asSystem('test: a second organisation', () => createOrg(server.ctx.db, 'other'))).id;
  const keyB = (await asSystem('test: its key', () => createApiKey(server.ctx.db, b, 'b', 'admin'))).key;
  const now = new Date().toISOString();
  for (const key of [undefined, keyB]) {
    const check = (await (await server.api('/api/v1/checks', { method: 'POST', json: { name: 'nightly' }, ...(key ? { key } : {}) })).json()) as { id: string };
    expect((await fetch(`${server.url}/ping/${check.id}/start`)).status).toBe(200);
    expect((await fetch(`${server.url}/ping/${check.id}/fail`)).status).toBe(200);
    const logs = await server.api('/api/v1/logs', { method: 'POST', json: [{ timestamp: now, message: 'hello', service: 'web' }], ...(key ? { key } : {}) });
    expect(logs.status, await logs.clone().text()).toBe(200);
    const shipments = await server.api('/api/v1/shipments', {
      method: 'POST',
      json: [{ external_id: 'x-1', created_at: '2026-05-01T12:00:00Z', declared_value: 100, currency: 'USD', origin_country: 'DE', destination_country: 'NG' }],
      ...(key ? { key } : {}),
    });
    expect(shipments.status).toBe(200);
  }
  // The processor stores log events asynchronously, and the rules evaluator gives each organisation
  // its default rule once it has traffic: both are waited for, so that no row appears during a test
  // (a count of every tenant table taken before the default rules came in failed once in CI).
  await eventually(async () => {
    const { rows } = await asSystem('test', () => sql<{ n: string }>`SELECT count(DISTINCT org_id) AS n FROM log_events`.execute(server.ctx.db));
    return Number(rows[0]?.n) === 2;
  });
  await eventually(async () => {
    const { rows } = await asSystem('test', () => sql<{ n: string }>`SELECT count(DISTINCT org_id) AS n FROM alert_rules WHERE is_default`.execute(server.ctx.db));
    return Number(rows[0]?.n) === 2;
  }, 20_000);
  return { a, b };
}

const countBy = async (db: Db, table: string) =>
  (await sql<{ org_id: string; n: string }>`SELECT ${sql.ref(table === 'orgs' ? 'id' : 'org_id')}::text AS org_id, count(*) AS n FROM ${sql.table(table)} GROUP BY 1`.execute(db)).rows.reduce<
    Record<string, number>
  >((out, r) => ({ ...out, [r.org_id]: Number(r.n) }), {});

/** Runs `fn` in a scope that has no tenant, as an unauthenticated request does. */
const inScopeWithoutTenant = <T>(fn: () => Promise<T>) =>
  new Promise<T>((resolve, reject) => {
    inRequestScope(() => void fn().then(resolve, reject));
  });

describe.each(STORE_KINDS)('row-level security through the store on %s', (kind) => {
  const run = storeAvailable(kind) ? it : it.skip;
  let server: TestServer;
  let ids: Seeded;
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind);
    ids = await seed(server);
  }, 60_000);
  afterAll(async () => server?.dispose());

  run('an organisation sees only its own rows, no context sees none, the bypass sees all', async () => {
    const db = server.ctx.db;
    for (const table of SEEDED) {
      const all = await asSystem('test', () => countBy(db, table));
      expect(all[ids.a], table).toBeGreaterThan(0);
      expect(all[ids.b], table).toBeGreaterThan(0);
      expect(await asOrg(ids.a, () => countBy(db, table)), table).toEqual({ [ids.a]: all[ids.a] });
      expect(await asOrg(ids.b, () => countBy(db, table)), table).toEqual({ [ids.b]: all[ids.b] });
      expect(await inScopeWithoutTenant(() => countBy(db, table)), table).toEqual({});
    }
    const who = await asOrg(ids.a, () => sql<{ role: string; org: string }>`SELECT current_user AS role, current_setting('vigil.org_id') AS org`.execute(db));
    expect(who.rows[0]).toEqual({ role: 'vigil_app', org: ids.a });
  });

  run('an organisation can neither change nor add rows of another', async () => {
    const db = server.ctx.db;
    await asOrg(ids.a, async () => {
      const updated = await sql`UPDATE checks SET name = 'taken' WHERE org_id = ${ids.b}`.execute(db);
      expect(Number(updated.numAffectedRows ?? 0)).toBe(0);
      const deleted = await sql`DELETE FROM checks WHERE org_id = ${ids.b}`.execute(db);
      expect(Number(deleted.numAffectedRows ?? 0)).toBe(0);
      await expect(sql`INSERT INTO checks (id, org_id) VALUES (gen_random_uuid(), ${ids.b})`.execute(db)).rejects.toThrow(/row-level security/);
      // Moving one's own row to another organisation is refused too.
      await expect(sql`UPDATE checks SET org_id = ${ids.b} WHERE org_id = ${ids.a}`.execute(db)).rejects.toThrow(/row-level security/);
    });
    const names = await asSystem('test', () => sql<{ name: string }>`SELECT name FROM checks WHERE org_id = ${ids.b}`.execute(db));
    expect(names.rows.map((r) => r.name)).toEqual(['nightly']);
  });
});

describe('row-level security by direct SQL on PostgreSQL', () => {
  const run = TEST_DATABASE_URL ? it : it.skip;
  let server: TestServer;
  let ids: Seeded;
  let owner: pg.Client;
  let tables: { name: string; partitionKey: string[] }[];
  beforeAll(async () => {
    if (!TEST_DATABASE_URL) return;
    server = await startTestServer('postgres');
    ids = await seed(server);
    owner = new pg.Client({ connectionString: server.config.DATABASE_URL });
    await owner.connect();
    const { rows } = await owner.query<{ name: string; key: string[] | null }>(`
      SELECT c.relname AS name,
             (SELECT array_agg(a2.attname::text) FROM pg_partitioned_table p JOIN pg_attribute a2 ON a2.attrelid = p.partrelid AND a2.attnum = ANY (p.partattrs::int2[]) WHERE p.partrelid = c.oid) AS key
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      ORDER BY 1`);
    tables = rows.map((r) => ({ name: r.name, partitionKey: r.key ?? [] }));
  }, 60_000);
  afterAll(async () => {
    await owner?.end();
    await server?.dispose();
  });

  /** A fresh session as the application's role, set by `setup` (nothing, an organisation, the bypass). */
  async function asApp<T>(setup: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: server.config.DATABASE_URL });
    await c.connect();
    try {
      await c.query('SET ROLE vigil_app');
      if (setup) await c.query(setup);
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  run('covers every tenant table: each has an org_id the seeding filled in or not, and the list is not empty', () => {
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(SEEDED.filter((t) => t !== 'orgs')));
  });

  run('every table with org_id has row-level security enabled and forced, with the tenant policy', async () => {
    const { rows } = await owner.query<{ name: string; enabled: boolean; forced: boolean; policies: string }>(`
      SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
             (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation') AS policies
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`);
    const missing = rows.filter((r) => !r.enabled || !r.forced || Number(r.policies) !== 1).map((r) => r.name);
    expect(missing, 'tables with org_id but without row-level security: call vigil_enforce_tenancy in their migration').toEqual([]);
    // The application's role can neither skip policies nor own tables.
    const role = await owner.query<{ rolsuper: boolean; rolbypassrls: boolean }>(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'vigil_app'`);
    expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    const owned = await owner.query(`SELECT relname FROM pg_class WHERE relowner = 'vigil_app'::regrole AND relkind IN ('r', 'p') AND relpersistence <> 't'`);
    expect(owned.rows).toEqual([]);
  });

  run('system work runs as vigil_system (migration 019): every organisation\'s rows, the application\'s rights and no more', async () => {
    const role = await owner.query<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(`SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'vigil_system'`);
    expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: true, rolcanlogin: false });
    // What the store sets a system-context connection to.
    const seen = await asSystem('test: which role', () => sql<{ role: string; rls: boolean }>`SELECT current_user AS role, row_security_active('checks') AS rls`.execute(server.ctx.db));
    expect(seen.rows[0]).toEqual({ role: 'vigil_system', rls: false });
    const c = new pg.Client({ connectionString: server.config.DATABASE_URL });
    await c.connect();
    try {
      await c.query('SET ROLE vigil_system');
      const orgs = await c.query<{ n: string }>(`SELECT count(DISTINCT org_id) AS n FROM checks`);
      expect(Number(orgs.rows[0]!.n)).toBeGreaterThanOrEqual(2);
      const refused: string[] = [];
      for (const statement of ['CREATE TABLE vigil_system_probe (id int)', 'ALTER TABLE checks ADD COLUMN probe int', 'DROP TABLE checks', 'ALTER TABLE checks DISABLE ROW LEVEL SECURITY', 'DELETE FROM kysely_migration']) {
        await c.query(statement).then(
          () => refused.push(`${statement}: allowed`),
          (e: Error) => void (/permission denied|must be owner/.test(e.message) || refused.push(`${statement}: ${e.message}`)),
        );
      }
      expect(refused).toEqual([]);
      const owned = await owner.query(`SELECT relname FROM pg_class WHERE relowner = 'vigil_system'::regrole`);
      expect(owned.rows).toEqual([]);
    } finally {
      await c.end();
    }
  });

  run('set to organisation A: no row of B can be read, changed, removed or added, in any tenant table', async () => {
    await asApp(`SELECT set_config('vigil.org_id', '${ids.a}', false)`, async (c) => {
      const problems: string[] = [];
      for (const { name, partitionKey } of tables) {
        const seen = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${name} WHERE org_id IS DISTINCT FROM $1`, [ids.a]);
        if (Number(seen.rows[0]?.n) !== 0) problems.push(`${name}: reads ${seen.rows[0]?.n} rows of others`);
        await c.query('BEGIN');
        try {
          const updated = await c.query(`UPDATE ${name} SET org_id = org_id WHERE org_id = $1`, [ids.b]);
          if (updated.rowCount !== 0) problems.push(`${name}: updates ${updated.rowCount} rows of B`);
          const deleted = await c.query(`DELETE FROM ${name} WHERE org_id = $1`, [ids.b]);
          if (deleted.rowCount !== 0) problems.push(`${name}: deletes ${deleted.rowCount} rows of B`);
          await c.query('SAVEPOINT ins');
          const columns = ['org_id', ...partitionKey];
          const values = ['$1', ...partitionKey.map(() => 'now()')];
          const inserted = await c.query(`INSERT INTO ${name} (${columns.join(', ')}) VALUES (${values.join(', ')})`, [ids.b]).then(
            () => 'inserted',
            (error: Error) => error.message,
          );
          if (!/row-level security/.test(inserted)) problems.push(`${name}: insert of a row of B: ${inserted}`);
          await c.query('ROLLBACK TO SAVEPOINT ins');
        } finally {
          await c.query('ROLLBACK');
        }
      }
      expect(problems).toEqual([]);
      const orgs = await c.query<{ id: string }>('SELECT id FROM orgs');
      expect(orgs.rows.map((r) => r.id)).toEqual([ids.a]);
    });
    // B's rows are all still there.
    for (const table of SEEDED.filter((t) => t !== 'orgs')) {
      const { rows } = await owner.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE org_id = $1`, [ids.b]);
      expect(Number(rows[0]?.n), table).toBeGreaterThan(0);
    }
  });

  run('with nothing set no tenant row is visible; with the bypass every row is', async () => {
    const everything = new Map<string, number>();
    for (const { name } of tables) everything.set(name, Number((await owner.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]?.n));
    await asApp('', async (c) => {
      for (const { name } of tables) expect(Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]?.n), name).toBe(0);
      expect((await c.query('SELECT id FROM orgs')).rows).toEqual([]);
      // An empty setting (as RESET leaves it) is nothing too, not an error.
      await c.query(`SELECT set_config('vigil.org_id', '', false)`);
      expect((await c.query('SELECT id FROM checks')).rows).toEqual([]);
    });
    await asApp(`SELECT set_config('vigil.bypass', 'on', false)`, async (c) => {
      for (const { name } of tables) expect(Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]?.n), name).toBe(everything.get(name));
    });
  });

  run('the application role cannot change the schema, only create its log partitions through the owner', async () => {
    await asApp(`SELECT set_config('vigil.bypass', 'on', false)`, async (c) => {
      await expect(c.query('ALTER TABLE checks DISABLE ROW LEVEL SECURITY')).rejects.toThrow(/owner/);
      await expect(c.query('DROP POLICY tenant_isolation ON checks')).rejects.toThrow(/owner/);
      await expect(c.query('CREATE TABLE sneaky (org_id uuid)')).rejects.toThrow(/permission denied/);
      await c.query(`SELECT vigil_create_log_partition('2031-01-02')`);
    });
    const { rows } = await owner.query<{ forced: boolean }>(`SELECT relforcerowsecurity AS forced FROM pg_class WHERE relname = 'log_events_p20310102'`);
    expect(rows).toEqual([{ forced: true }]);
  });

  run('a store with nothing declared denies: outside any context the application sees no tenant row', async () => {
    const store = await openStore({ databaseUrl: server.config.DATABASE_URL, dataDir: 'memory://' });
    try {
      expect(await countBy(store.db, 'checks')).toEqual({});
      expect(Object.keys(await asSystem('test', () => countBy(store.db, 'checks'))).sort()).toEqual([ids.a, ids.b].sort());
    } finally {
      await store.close();
    }
  });
});
