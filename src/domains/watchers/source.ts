/**
 * The watched database: what its table looks like (checked when a watcher is saved, and at every
 * read), where a new watcher starts, and one page of new rows in one snapshot (position.ts).
 *
 * Invariants:
 * - Read only: every read runs in a READ ONLY REPEATABLE READ transaction, so the snapshot bounds
 *   (pg_current_snapshot, the first statement), the largest key and the page all belong to ONE
 *   snapshot — what position.ts reasons about. No trigger, no column, no write on the watched
 *   side; the reading role needs SELECT on the table only.
 * - Values leave PostgreSQL as JSON (`to_json`): numbers stay numbers, timestamps become ISO 8601
 *   with their offset (`timestamp without time zone` is taken as UTC), so one row's odd value is
 *   that row's validation error in the intake, never a failed statement for the whole page.
 * - The page scan is an index range scan on the ordering column (`K > settled ORDER BY K LIMIT
 *   batch`), skipping the keys already read above it (`<@` an int8multirange): it touches at most
 *   the rows read above `settled` plus the page, however large the table.
 */
import pg from 'pg';
import { invalidField } from '../../platform/errors.js';
import { multirangeOf, type Position } from './position.js';

/** PostgreSQL 14 brought multiranges (the page query); 13 pg_current_snapshot. */
const MIN_SERVER_VERSION = 140000;
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);
const TIMESTAMP_WITHOUT_ZONE = 'timestamp';

export interface WatchedTable {
  schema: string;
  table: string;
  orderColumn: string;
  /** Shipment field → column. */
  columns: Record<string, string>;
  orgColumn: string | null;
}

interface ColumnInfo {
  type: string;
}

/** Opens one connection to the watched database, runs `work`, closes it. */
export async function withWatched<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    // A read is one index range scan: a minute means something is wrong (locks, a missing index).
    statement_timeout: 60_000,
    query_timeout: 70_000,
    application_name: 'vigil shipment watcher',
  });
  // A connection that dies mid-read fails the query in flight; without a listener the 'error'
  // event would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
const tableSql = (t: Pick<WatchedTable, 'schema' | 'table'>) => `${quote(t.schema)}.${quote(t.table)}`;

/** `schema.table` or `table` (public). */
export function splitTable(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** The table's columns and types; throws an invalid_field naming what does not fit the watcher. */
export async function inspect(client: pg.Client, t: WatchedTable): Promise<Map<string, ColumnInfo>> {
  const version = Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v ?? 0);
  if (version < MIN_SERVER_VERSION) throw invalidField('connection_url', `the watched server runs PostgreSQL ${version}; the watcher needs 14 or later`);
  const rel = await client.query<{ oid: number; readable: boolean }>(
    `SELECT c.oid, has_table_privilege(c.oid, 'SELECT') AS readable FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [t.schema, t.table],
  );
  const table = rel.rows[0];
  if (!table) throw invalidField('table', `no table ${t.schema}.${t.table} in the watched database`);
  if (!table.readable) throw invalidField('connection_url', `the connection's role may not SELECT from ${t.schema}.${t.table}: GRANT SELECT to it`);
  const cols = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, t.typname AS type FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table.oid],
  );
  const columns = new Map(cols.rows.map((c) => [c.name, { type: c.type }]));
  const listed = () => `its columns: ${[...columns.keys()].join(', ')}`;
  const order = columns.get(t.orderColumn);
  if (!order) throw invalidField('order_column', `column "${t.orderColumn}" does not exist in ${t.schema}.${t.table} (${listed()})`);
  if (!INTEGER_TYPES.has(order.type)) throw invalidField('order_column', `column "${t.orderColumn}" is ${order.type}: it must be an integer (smallint, integer or bigint, e.g. a serial id)`);
  const unique = await client.query(
    `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = $1 AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = $2`,
    [table.oid, t.orderColumn],
  );
  if (unique.rowCount === 0) throw invalidField('order_column', `column "${t.orderColumn}" needs a unique index of its own (a primary key or UNIQUE): the watcher reads by it`);
  for (const [field, column] of Object.entries(t.columns)) {
    const info = columns.get(column);
    if (!info) throw invalidField(`columns.${field}`, `column "${column}" does not exist in ${t.schema}.${t.table} (${listed()})`);
    if (field === 'attributes' && info.type !== 'json' && info.type !== 'jsonb') throw invalidField(`columns.${field}`, `column "${column}" is ${info.type}: attributes needs a json or jsonb column (or map attributes.<name> to single columns)`);
  }
  if (t.orgColumn !== null && !columns.has(t.orgColumn)) throw invalidField('org_column', `column "${t.orgColumn}" does not exist in ${t.schema}.${t.table} (${listed()})`);
  return columns;
}

/** Where a new watcher starts: before every row, or after the largest key visible now. */
export async function startingPoint(client: pg.Client, t: WatchedTable, from: 'end' | 'beginning'): Promise<number | null> {
  if (from === 'beginning') return null;
  const r = await client.query<{ m: string | null }>(`SELECT max(${quote(t.orderColumn)})::text AS m FROM ${tableSql(t)}`);
  return r.rows[0]?.m == null ? null : keyOf(r.rows[0].m);
}

/** One page of rows not read yet, in one snapshot; values keyed by shipment field (and `org` for the org column). */
export interface Page {
  xmin: string;
  xmax: string;
  maxVisible: number | null;
  rows: { key: number; values: Record<string, unknown>; org: unknown }[];
  full: boolean;
}

export async function readPage(client: pg.Client, t: WatchedTable, position: Position, batch: number): Promise<Page> {
  const columns = await inspect(client, t);
  const fields = Object.entries(t.columns);
  const json = (column: string) => (columns.get(column)?.type === TIMESTAMP_WITHOUT_ZONE ? `to_json(${quote(column)} AT TIME ZONE 'UTC')` : `to_json(${quote(column)})`);
  const select = [`${quote(t.orderColumn)}::text AS k`, ...fields.map(([, column], i) => `${json(column)} AS c${i}`), ...(t.orgColumn ? [`to_json(${quote(t.orgColumn)}) AS org`] : [])];
  const k = quote(t.orderColumn);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    // The first statement takes the transaction's snapshot: these bounds are the page's.
    const snap = await client.query<{ xmin: string; xmax: string }>('SELECT pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax FROM pg_current_snapshot() AS s');
    const max = await client.query<{ m: string | null }>(`SELECT max(${k})::text AS m FROM ${tableSql(t)}`);
    const page = await client.query<Record<string, unknown> & { k: string }>(
      `SELECT ${select.join(', ')} FROM ${tableSql(t)} WHERE ${k} > $1::int8 AND NOT (${k}::int8 <@ $2::int8multirange) ORDER BY ${k} LIMIT $3`,
      [String(position.settled), multirangeOf(position.readAbove), batch],
    );
    await client.query('COMMIT');
    return {
      xmin: snap.rows[0]!.xmin,
      xmax: snap.rows[0]!.xmax,
      maxVisible: max.rows[0]?.m == null ? null : keyOf(max.rows[0].m),
      rows: page.rows.map((row) => ({ key: keyOf(row.k), values: Object.fromEntries(fields.map(([field], i) => [field, row[`c${i}`]])), org: row.org })),
      full: page.rows.length >= batch,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** A key as a JS number: exact up to 2^53, which a serial id does not reach. */
function keyOf(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`order column value ${text} is beyond 2^53: the watcher cannot track it exactly`);
  return n;
}
