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
import { APP_ROLE } from './session.js';
import { currentTenant } from './tenancy.js';

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
    // migration 018). System work (the bypass, under which the policy admits every row anyway) may
    // COPY as the role `vigil_bulk` (migration 019: BYPASSRLS, INSERT only) for that one statement;
    // any other work, or a database without that role, copies into a session-private staging table
    // and moves the rows with one INSERT … SELECT, where the policies apply.
    const secured = await hasRowSecurity(client, table);
    const asBulk = secured && currentTenant()?.kind === 'system' && (await bulkRoleMayInsert(client, table));
    const staged = secured && !asBulk ? `copy_in_${table}` : undefined;
    if (staged) await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${staged} AS SELECT * FROM ${table} WITH NO DATA`);
    // LOCAL: a failed COPY aborts the transaction, and its end puts the session's role back.
    if (asBulk) await client.query(`SET LOCAL ROLE ${BULK_ROLE}`);
    const stream = client.query(copyFrom(`COPY ${staged ?? table} (${list}) FROM STDIN`));
    await pipeline(Readable.from(typeof data === 'string' ? [data] : data, { objectMode: false }), stream);
    if (asBulk) await client.query(`SET LOCAL ROLE ${APP_ROLE}`);
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

/** Whether a table has row-level security: asked once per table and process (the schema changes only by migrations). */
const rowSecurity = new Map<string, boolean>();
async function hasRowSecurity(client: pg.PoolClient, table: string): Promise<boolean> {
  let known = rowSecurity.get(table);
  if (known === undefined) {
    const { rows } = await client.query<{ rls: boolean | null }>('SELECT (SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass($1)) AS rls', [table]);
    known = rows[0]?.rls === true;
    // A table not found (yet) is asked again next time.
    if (rows[0]?.rls !== null) rowSecurity.set(table, known);
  }
  return known;
}

const BULK_ROLE = 'vigil_bulk';

/** Whether this session may COPY into `table` as `vigil_bulk` (made by migration 019 only for a superuser owner): asked once per table and process. */
const bulkRole = new Map<string, boolean>();
async function bulkRoleMayInsert(client: pg.PoolClient, table: string): Promise<boolean> {
  let known = bulkRole.get(table);
  if (known === undefined) {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${BULK_ROLE}' AND rolbypassrls)
         THEN pg_has_role(session_user, '${BULK_ROLE}', 'USAGE') AND has_table_privilege('${BULK_ROLE}', $1::text, 'INSERT') ELSE false END AS ok`,
      [table],
    );
    known = rows[0]?.ok === true;
    bulkRole.set(table, known);
  }
  return known;
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
