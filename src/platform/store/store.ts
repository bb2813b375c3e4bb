import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type MigrationResultSet, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { OutageLog, type OutageLogger } from '../outage.js';
import { loadMigrations } from './migrations/index.js';
import { PGlitePool } from './pglite-pool.js';
import { asOwner, TenantPool, type Untenanted } from './session.js';
import type { Db } from './columns.js';

export type { Db };

export interface Store {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives: the database URL without password, or the PGlite directory. */
  readonly location: string;
  /** PostgreSQL only: the pool under `db`, for what Kysely cannot do (COPY, see copy.ts). */
  readonly pool?: pg.Pool;
  /**
   * PostgreSQL only: a client of `pool` set to the current tenant context (tenancy.ts), for work
   * that holds its own client (COPY). Take clients from here, never from `pool` directly.
   */
  readonly connect?: () => Promise<pg.PoolClient>;
  /** PostgreSQL outages (restart, network), logged once each; every lost connection is reported to it. */
  readonly outage: OutageLog;
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
  /**
   * Where database outages are logged (once when connections start failing, once when one works
   * again). Without it they are tracked but not logged.
   */
  logger?: OutageLogger;
  /** Every error of a pooled connection, idle or in use (e.g. the server restarted). */
  onConnectionError?: (error: Error) => void;
  /** How long a query waits for a connection (a new one, or a free one of a full pool) before failing as unavailable. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * What queries outside any tenant context see (tenancy.ts): `deny` (default, the application:
   * no tenant row, the first such query logged) or `system` (tests that seed and read rows directly).
   */
  untenanted?: Untenanted;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

// Timestamps as Date, bigint columns left as strings (exact) — callers convert where they need numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    const outage = new OutageLog(options.logger, 'database');
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      // Without it a query waits forever for a server that does not answer (e.g. a dropped network).
      connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    const lost = (error: Error) => {
      outage.failed(error);
      options.onConnectionError?.(error);
    };
    // pg emits 'error' on a client whose connection dies (server restart, "terminating connection
    // due to administrator command"); an EventEmitter without a listener for it throws and ends the
    // process. The pool listens only while a client is idle, so every client gets a listener of
    // its own for its whole life, checked out or not: a query in flight then fails with the error
    // and the pool discards the dead client when it is released.
    pool.on('connect', (client) => {
      client.on('error', lost);
      outage.reachable();
    });
    pool.on('error', () => undefined); // idle clients: already reported by their own listener
    // Fail fast with a readable message if the server is unreachable.
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`Cannot connect to PostgreSQL at ${redact(options.databaseUrl)}: ${(error as Error).message}`, { cause: error });
    }
    const tenantPool = new TenantPool(new ObservedPool(pool, outage), sessionOptions(options), true);
    const db = new Kysely<object>({
      dialect: new PostgresDialect({ pool: tenantPool }),
      // Failed statements tell the outage log the database is away (a restart may show up here
      // first). Its return is told by a new connection only: during a shutdown, statements on
      // sessions not yet terminated still succeed, and would make one outage look like several.
      log: (event) => {
        if (event.level === 'error') outage.failed(event.error);
      },
    });
    const connect = async () => {
      const client = await pool.connect().catch((error: unknown) => {
        outage.failed(error);
        throw error;
      });
      try {
        await tenantPool.prepare(client);
      } catch (error) {
        client.release(true);
        throw error;
      }
      return client;
    };
    return { db, kind: 'postgres', location: redact(options.databaseUrl), pool, connect, outage, close: () => db.destroy() };
  }
  const inMemory = options.dataDir.startsWith('memory://');
  const dir = inMemory ? options.dataDir : resolve(options.dataDir, 'pgdata');
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const pglite = inMemory && options.template ? await PGlite.create({ loadDataDir: options.template }) : await PGlite.create(inMemory ? undefined : dir);
  // PGlite runs the same roles and policies (checked: SET ROLE and FORCE ROW LEVEL SECURITY hold there).
  const db = new Kysely<object>({ dialect: new PostgresDialect({ pool: new TenantPool(new PGlitePool(pglite), sessionOptions(options), false) }) });
  return { db, kind: 'pglite', location: inMemory ? 'memory' : dir, outage: new OutageLog(undefined, 'database'), close: () => db.destroy() };
}

function sessionOptions(options: StoreOptions) {
  const { logger } = options;
  return {
    untenanted: options.untenanted ?? 'deny',
    onUntenanted: logger ? (stack: string) => logger.warn({ stack }, 'A query ran outside any tenant context: it sees no organisation\'s rows. Wrap the work in asOrg or asSystem (src/platform/store/tenancy.ts).') : undefined,
  };
}

/** The pool Kysely draws from, reporting connections that cannot be had (refused, timed out) as outages. */
class ObservedPool implements PostgresPool {
  constructor(
    private readonly pool: pg.Pool,
    private readonly outage: OutageLog,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      this.outage.failed(error);
      throw error;
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** A snapshot of an in-memory PGlite store with every migration applied (see StoreOptions.template). */
export async function migratedTemplate(): Promise<Blob> {
  const pglite = await PGlite.create();
  const db = new Kysely<object>({ dialect: new PostgresDialect({ pool: new PGlitePool(pglite) }) });
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  await db.destroy();
  return dump;
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => loadMigrations() },
  });
  // As the owner: migrations change the schema and move rows of every organisation.
  const result = await asOwner(() => migrator.migrateToLatest());
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
