import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore } from '../src/platform/store/index.js';
import { TEST_DATABASE_URL, freshPostgresDatabase } from './support/server.js';

describe('store', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('applies migrations once: a second run changes nothing (PGlite)', async () => {
    const store = await openStore({ dataDir: 'memory://' });
    cleanups.push(() => store.close());
    const first = await migrateToLatest(store.db);
    expect(first.results?.length).toBeGreaterThan(0);
    const second = await migrateToLatest(store.db);
    expect(second.results).toEqual([]);
  });

  it.skipIf(!TEST_DATABASE_URL)('survives PostgreSQL dropping its idle connections (no crash, next query reconnects)', async () => {
    const db = await freshPostgresDatabase();
    const errors: Error[] = [];
    const store = await openStore({ dataDir: '', databaseUrl: db.url, onIdleError: (e) => errors.push(e) });
    cleanups.push(async () => {
      await store.close();
      await db.drop();
    });
    await migrateToLatest(store.db);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [new URL(db.url).pathname.slice(1)]);
    await admin.end();
    await new Promise((r) => setTimeout(r, 200));
    expect(errors.length).toBeGreaterThan(0);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it.skipIf(!TEST_DATABASE_URL)('says which server it could not reach', async () => {
    await expect(openStore({ dataDir: '', databaseUrl: 'postgres://nobody:secret@127.0.0.1:1/x' })).rejects.toThrow(/Cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/x/);
  });
});
