/**
 * Bulk writes with PostgreSQL's COPY inside a Kysely transaction. Kysely does not expose the
 * connection under a transaction, so on PostgreSQL the transaction is opened on a pooled client we
 * hold ourselves, with a Kysely instance bound to just that client; statements and COPY then share
 * the transaction. COPY moves rows ~3× faster than INSERT … SELECT unnest(…) on the ingest path.
 * The embedded store has no COPY from a stream: there `copy` is undefined and callers INSERT.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db, Store } from './store.js';

/**
 * Writes rows in COPY's text format into `table (columns)`. Chunks are pulled one at a time as the
 * connection takes them, so a lazily encoded iterable overlaps encoding here with parsing and
 * inserting in PostgreSQL.
 */
export type CopyIn = (table: string, columns: readonly string[], data: string | Iterable<string>) => Promise<void>;

export async function transactionWithCopy<T>(store: Store, work: (trx: Db, copy: CopyIn | undefined) => Promise<T>): Promise<T> {
  if (!store.connect) return store.db.transaction().execute((trx) => work(trx, undefined));
  // Set to the caller's tenant context like every connection of the store.
  const client = await store.connect();
  const db = new Kysely<object>({ dialect: new PostgresDialect({ pool: new OneClientPool(client) }) });
  const copy: CopyIn = async (table, columns, data) => {
    const list = columns.join(', ');
    // PostgreSQL refuses COPY FROM into a table under row-level security (every tenant table, see
    // migration 018) for a role it applies to: organisation work, or system work where the system
    // role (migration 019) could not be made. Such rows are copied into a session-private staging
    // table and moved with one INSERT … SELECT, where the policies apply.
    const staged = (await rowSecurityApplies(client, table)) ? `copy_in_${table}` : undefined;
    if (staged) await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${staged} AS SELECT * FROM ${table} WITH NO DATA`);
    const stream = client.query(copyFrom(`COPY ${staged ?? table} (${list}) FROM STDIN`));
    await pipeline(Readable.from(typeof data === 'string' ? [data] : data, { objectMode: false }), stream);
    if (staged) await client.query(`INSERT INTO ${table} (${list}) SELECT ${list} FROM ${staged}; TRUNCATE ${staged}`);
  };
  let broken = false;
  try {
    await sql`BEGIN`.execute(db);
    const result = await work(db, copy);
    await sql`COMMIT`.execute(db);
    return result;
  } catch (error) {
    await sql`ROLLBACK`
      .execute(db)
      .catch(() => (broken = true));
    throw error;
  } finally {
    // A client whose transaction state is unknown (failed ROLLBACK) must not go back to the pool.
    client.release(broken || undefined);
  }
}

/** Whether row-level security applies to this connection's role for `table` (asked per COPY: it depends on the role the context set). */
async function rowSecurityApplies(client: pg.PoolClient, table: string): Promise<boolean> {
  const { rows } = await client.query<{ active: boolean }>('SELECT row_security_active($1::text::regclass) AS active', [table]);
  return rows[0]?.active === true;
}

/** A "pool" that always lends the one client the caller holds (released by the caller, not by Kysely). */
class OneClientPool implements PostgresPool {
  constructor(private readonly client: pg.PoolClient) {}
  async connect(): Promise<PostgresPoolClient> {
    const client = this.client;
    return { query: client.query.bind(client), release: () => undefined } as unknown as PostgresPoolClient;
  }
  async end(): Promise<void> {}
}

/** One value in COPY's text format: `\N` for null, backslash escapes for the separators. */
export function copyValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value !== 'string') return String(value);
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}
