import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { isUnavailableError } from '../src/platform/outage.js';
import { asOrg, asOwner, copyValue, migrateToLatest, openStore, transactionWithCopy, type Db, type Store } from '../src/platform/store/index.js';
import { TEST_DATABASE_URL, freshPostgresDatabase } from './support/server.js';

describe('store', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  /** A store on a fresh PostgreSQL database of its own, closed and dropped after the tests. */
  async function freshPostgresStore(options: Pick<Parameters<typeof openStore>[0], 'onConnectionError'> = {}): Promise<Store> {
    const db = await freshPostgresDatabase();
    const store = await openStore({ untenanted: 'system', dataDir: '', databaseUrl: db.url, ...options });
    cleanups.push(async () => {
      await store.close();
      await db.drop();
    });
    return store;
  }

  it('applies migrations once: a second run changes nothing (PGlite)', async () => {
    const store = await openStore({ untenanted: 'system', dataDir: 'memory://' });
    cleanups.push(() => store.close());
    const first = await migrateToLatest(store.db);
    expect(first.results?.length).toBeGreaterThan(0);
    const second = await migrateToLatest(store.db);
    expect(second.results).toEqual([]);
  });

  it.skipIf(!TEST_DATABASE_URL)('survives PostgreSQL dropping its idle connections (no crash, next query reconnects)', async () => {
    const errors: Error[] = [];
    const store = await freshPostgresStore({ onConnectionError: (e) => errors.push(e) });
    await migrateToLatest(store.db);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [new URL(store.location).pathname.slice(1)]);
    await admin.end();
    await new Promise((r) => setTimeout(r, 200));
    expect(errors.length).toBeGreaterThan(0);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it.skipIf(!TEST_DATABASE_URL)('survives a connection dying while checked out (transaction, COPY transaction): the work fails as unavailable, the next query reconnects', async () => {
    const store = await freshPostgresStore();
    const terminate = async (pid: number) => {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();
      // pg emits 'error' on the client now, between two statements: no query is there to take it.
      await new Promise((r) => setTimeout(r, 300));
    };
    const pidOf = async (db: Db) => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;
    const viaKysely = store.db.transaction().execute(async (trx) => {
      await terminate(await pidOf(trx));
      await sql`SELECT 1`.execute(trx);
    });
    await expect(viaKysely).rejects.toSatisfy(isUnavailableError);
    const viaCopy = transactionWithCopy(store, async (trx) => {
      await terminate(await pidOf(trx));
      await sql`SELECT 1`.execute(trx);
    });
    await expect(viaCopy).rejects.toSatisfy(isUnavailableError);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  const NOTES = ['tab\there', 'line\nbreak\r', 'back\\slash', '\\N', 'N', '', null];
  const notes = async (store: Store) =>
    (await sql<{ id: number; note: string | null }>`SELECT id, note FROM copied ORDER BY id`.execute(store.db)).rows;

  // These two make a table of their own in an unmigrated database: as its owner (the application's
  // role, vigil_app, changes no schema and may not exist yet there).
  it.skipIf(!TEST_DATABASE_URL)('COPY in a transaction with statements: separators and backslashes round-trip, a failure undoes both', () => asOwner(async () => {
    const store = await freshPostgresStore();
    await sql`CREATE TABLE copied (id integer, note text)`.execute(store.db);
    await transactionWithCopy(store, async (trx, copy) => {
      await sql`INSERT INTO copied VALUES (0, 'by statement')`.execute(trx);
      await copy!('copied', ['id', 'note'], NOTES.map((note, i) => `${copyValue(i + 1)}\t${copyValue(note)}\n`).join(''));
    });
    const stored = [{ id: 0, note: 'by statement' }, ...NOTES.map((note, i) => ({ id: i + 1, note }))];
    expect(await notes(store)).toEqual(stored);

    await expect(
      transactionWithCopy(store, async (trx, copy) => {
        await sql`INSERT INTO copied VALUES (100, 'lost')`.execute(trx);
        await copy!('copied', ['id', 'note'], '101\tlost too\n');
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(await notes(store)).toEqual(stored);
    // The held client went back to the pool, usable.
    expect(store.pool!.idleCount).toBe(store.pool!.totalCount);
  }));

  it.skipIf(!TEST_DATABASE_URL)('COPY into a table under row-level security goes through a staging table: the policy applies, twice in one transaction', async () => {
    const store = await freshPostgresStore();
    const [a, b] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    await asOwner(async () => {
      await migrateToLatest(store.db);
      await sql`CREATE TABLE tenant_notes (org_id uuid NOT NULL, note text)`.execute(store.db);
      await sql`SELECT vigil_enforce_tenancy('tenant_notes')`.execute(store.db);
    });
    const line = (org: string, note: string) => `${org}\t${copyValue(note)}\n`;
    await asOrg(a, () =>
      transactionWithCopy(store, async (_trx, copy) => {
        await copy!('tenant_notes', ['org_id', 'note'], [line(a, 'one'), line(a, 'tab\there')]);
        await copy!('tenant_notes', ['org_id', 'note'], line(a, 'three'));
      }),
    );
    // Another organisation's row is refused by the policy, and the transaction with it.
    await expect(asOrg(a, () => transactionWithCopy(store, async (_trx, copy) => copy!('tenant_notes', ['org_id', 'note'], line(b, 'not mine'))))).rejects.toThrow(/row-level security/);
    const stored = await asOwner(async () => (await sql<{ note: string }>`SELECT note FROM tenant_notes ORDER BY note`.execute(store.db)).rows.map((r) => r.note));
    expect(stored).toEqual(['one', 'tab\there', 'three']);
  });

  it('has no COPY on PGlite: callers insert, and a failure still rolls back', () => asOwner(async () => {
    const store = await openStore({ untenanted: 'system', dataDir: 'memory://' });
    cleanups.push(() => store.close());
    await sql`CREATE TABLE copied (id integer, note text)`.execute(store.db);
    await expect(
      transactionWithCopy(store, async (trx, copy) => {
        expect(copy).toBeUndefined();
        await sql`INSERT INTO copied VALUES (1, 'lost')`.execute(trx);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(await notes(store)).toEqual([]);
  }));

  it.skipIf(!TEST_DATABASE_URL)('says which server it could not reach', async () => {
    await expect(openStore({ untenanted: 'system', dataDir: '', databaseUrl: 'postgres://nobody:secret@127.0.0.1:1/x' })).rejects.toThrow(/Cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/x/);
  });
});
