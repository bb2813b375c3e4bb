/**
 * Bulk writes with PostgreSQL's COPY inside a Kysely transaction. Kysely does not expose the
 * connection under a transaction, so on PostgreSQL the transaction is opened on a pooled client we
 * hold ourselves, with a Kysely instance bound to just that client; statements and COPY then share
 * the transaction. COPY moves rows ~3× faster than INSERT … SELECT unnest(…) on the ingest path.
 * The embedded store has no COPY from a stream: there `copy` is undefined and callers INSERT.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient, type RawBuilder } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db, Store } from './store.js';
import { pgArray, pgJson, pgText } from './values.js';

/**
 * Writes rows in COPY's text format into `table (columns)`. Chunks are pulled one at a time as the
 * connection takes them, so a lazily encoded iterable overlaps encoding here with parsing and
 * inserting in PostgreSQL.
 */
export type CopyIn = (table: string, columns: readonly string[], data: string | Iterable<string | Uint8Array>) => Promise<void>;

/** The client under each transaction opened by transactionWithCopy, so that `bulkRows` below it can COPY. */
const clientOf = new WeakMap<Db, pg.PoolClient>();

export async function transactionWithCopy<T>(store: Store, work: (trx: Db, copy: CopyIn | undefined) => Promise<T>): Promise<T> {
  if (!store.connect) return store.db.transaction().execute((trx) => work(trx, undefined));
  // Set to the caller's tenant context like every connection of the store.
  const client = await store.connect();
  const db = new Kysely<object>({ dialect: new PostgresDialect({ pool: new OneClientPool(client) }) });
  clientOf.set(db, client);
  const copy: CopyIn = async (table, columns, data) => {
    // PostgreSQL refuses COPY FROM into a table under row-level security (every tenant table, see
    // migration 018) for a role it applies to: organisation work, or system work where the system
    // role (migration 019) could not be made. Such rows are copied into a staging table and moved
    // with one INSERT … SELECT, where the policies apply.
    if (!(await rowSecurityApplies(client, table))) return copyInto(client, table, columns, typeof data === 'string' ? [data] : data);
    const staged = await stagingTable(client, `copy_in_${table}`, { like: table });
    await copyInto(client, staged, columns, typeof data === 'string' ? [data] : data);
    const list = columns.join(', ');
    await client.query(`INSERT INTO ${table} (${list}) SELECT ${list} FROM ${staged}`);
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

/**
 * The columns of a row set that one statement reads as `v` (`… FROM ${await bulkRows(…)} …`), with
 * their SQL types. `name` names the session-private table the rows are staged in.
 */
export interface BulkShape {
  name: string;
  columns: readonly (readonly [column: string, type: string])[];
}

/** A value of a bulk row: text, a number, a boolean, an instant, null, or an object or array stored as JSON. */
export type BulkValue = string | number | boolean | Date | null | undefined | object;

/**
 * Many rows for one statement, as the relation `v` with `shape`'s columns. Inside a transaction
 * opened by transactionWithCopy they are COPYed into a session-private table (`stagingTable`) and
 * `v` is that table; elsewhere (the embedded store, a plain transaction) they
 * travel as one jsonb array read by jsonb_to_recordset. Both give the same relation, so the
 * statement around it (ON CONFLICT, RETURNING, ORDER BY) is written once. COPY is what pays for
 * thousands of rows: 11,090 alert instances took 600 ms as a jsonb array (its parsing alone half
 * of that) and 150 ms staged by COPY, 11,090 outbox rows 760 against 180 ms.
 *
 * Values are given as the jsonb path reads them: a number that may be Infinity or NaN (which JSON
 * lacks) must come as text for a column typed text, and be cast in the statement.
 */
export async function bulkRows(trx: Db, shape: BulkShape, rows: readonly Readonly<Record<string, BulkValue>>[]): Promise<RawBuilder<unknown>> {
  const client = clientOf.get(trx);
  const record = shape.columns.map(([column, type]) => `${column} ${type}`).join(', ');
  if (!client) return sql`jsonb_to_recordset(${pgJson(rows)}::jsonb) AS v(${sql.raw(record)})`;
  const table = await stagingTable(client, `bulk_${shape.name}`, { columns: record });
  const names = shape.columns.map(([column]) => column);
  const arrays = shape.columns.map(([, type]) => type.endsWith('[]'));
  await copyInto(client, table, names, copyChunks(rows, names, arrays));
  return sql`${sql.table(table)} AS v`;
}

/**
 * A bulk value as COPY's text format reads it (before escaping), as the jsonb path would store it:
 * objects as JSON, arrays of an array column as array text, U+0000 replaced (values.ts).
 */
function bulkText(value: BulkValue, array: boolean): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (array && Array.isArray(value)) return pgArray(value as (string | number | boolean)[]);
  if (typeof value === 'object') return pgJson(value);
  return typeof value === 'string' ? pgText(value) : String(value);
}

/**
 * The rows in COPY's text format, ~256 rows per chunk so that encoding overlaps PostgreSQL's
 * parsing. Built by concatenation, not by an array per row joined: this runs for every value of
 * tens of thousands of rows, and the arrays were most of what it allocated.
 */
function* copyChunks(rows: readonly Readonly<Record<string, BulkValue>>[], names: readonly string[], arrays: readonly boolean[]): Generator<string> {
  let chunk = '';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < names.length; c++) {
      if (c > 0) chunk += '\t';
      chunk += copyValue(bulkText(row[names[c]!], arrays[c]!));
    }
    chunk += '\n';
    if (r % 256 === 255) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/**
 * A session-private table `name` (with these columns, or those of the table `like`), empty. Emptied at every
 * commit, in place, and by a DELETE now for a transaction that stages into it again: TRUNCATE
 * gives the table new files each time, which cost the ingest path 48,000 → 30,000 events/s when
 * its counters were staged once per ~4-request batch.
 */
async function stagingTable(client: pg.PoolClient, name: string, shape: { columns: string } | { like: string }): Promise<string> {
  const create =
    'like' in shape
      ? `CREATE TEMP TABLE IF NOT EXISTS ${name} ON COMMIT DELETE ROWS AS SELECT * FROM ${shape.like} WITH NO DATA`
      : `CREATE TEMP TABLE IF NOT EXISTS ${name} (${shape.columns}) ON COMMIT DELETE ROWS`;
  await client.query(`${create}; DELETE FROM ${name}`);
  return name;
}

/** COPY of text-format chunks (strings, or UTF-8 bytes already encoded) into `table (columns)`, each chunk pulled as the connection takes it. */
async function copyInto(client: pg.PoolClient, table: string, columns: readonly string[], chunks: Iterable<string | Uint8Array>): Promise<void> {
  await pipeline(Readable.from(chunks, { objectMode: false }), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
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
