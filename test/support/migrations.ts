import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { expect } from 'vitest';
import { loadMigrations } from '../../src/platform/store/migrations/index.js';
import { PGlitePool } from '../../src/platform/store/pglite-pool.js';
import type { Db } from '../../src/platform/store/index.js';

/**
 * For a test of one migration on data written before it: an in-memory PGlite database migrated up
 * to `before` (the migration ahead of the one tested), its migrator to go on (or back down), and
 * `close`. The database is gone once closed.
 */
export async function databaseAt(before: string): Promise<{ db: Db; migrator: Migrator; close: () => Promise<void> }> {
  const pglite = await PGlite.create();
  const db: Db = new Kysely<object>({ dialect: new PostgresDialect({ pool: new PGlitePool(pglite) }) });
  const migrator = new Migrator({ db, provider: { getMigrations: async () => loadMigrations() } });
  expect((await migrator.migrateTo(before)).error).toBeUndefined();
  return { db, migrator, close: () => db.destroy() };
}
