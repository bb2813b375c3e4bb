import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import { PGlitePool } from './pglite-pool.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface Store {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives: the database URL without password, or the PGlite directory. */
  readonly location: string;
  /** PostgreSQL only: the pool under `db`, for what Kysely cannot do (COPY, see copy.ts). */
  readonly pool?: pg.Pool;
  close(): Promise<void>;
}

export interface StoreOptions {
  databaseUrl?: string | undefined;
  /** Directory for the embedded store; `memory://` keeps it in memory (tests). */
  dataDir: string;
  poolSize?: number;
  /**
   * An in-memory PGlite store starts as a copy of this data directory (a `dumpDataDir` tarball)
   * instead of running initdb: tests start many stores and initdb costs seconds each time.
   */
  template?: Blob;
  /** Errors of idle pooled connections (e.g. the server restarted); pg would crash the process without a listener. */
  onIdleError?: (error: Error) => void;
}

// Timestamps as Date, bigint columns left as strings (exact) — callers convert where they need numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    pool.on('error', (error) => options.onIdleError?.(error));
    // Fail fast with a readable message if the server is unreachable.
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`Cannot connect to PostgreSQL at ${redact(options.databaseUrl)}: ${(error as Error).message}`, { cause: error });
    }
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', location: redact(options.databaseUrl), pool, close: () => db.destroy() };
  }
  const inMemory = options.dataDir.startsWith('memory://');
  const dir = inMemory ? options.dataDir : resolve(options.dataDir, 'pgdata');
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const pglite = inMemory && options.template ? await PGlite.create({ loadDataDir: options.template }) : await PGlite.create(inMemory ? undefined : dir);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PGlitePool(pglite) }) });
  return { db, kind: 'pglite', location: inMemory ? 'memory' : dir, close: () => db.destroy() };
}

/** A snapshot of an in-memory PGlite store with every migration applied (see StoreOptions.template). */
export async function migratedTemplate(): Promise<Blob> {
  const pglite = await PGlite.create();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PGlitePool(pglite) }) });
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  await db.destroy();
  return dump;
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const where = failed ? ` (migration ${failed.migrationName})` : '';
    throw new Error(`Database migration failed${where}: ${(result.error as Error).message ?? String(result.error)}`);
  }
  return result;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid DATABASE_URL>';
  }
}
