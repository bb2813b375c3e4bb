import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect } from 'vitest';
import { bulkRows, transactionWithCopy, type BulkShape, type Db } from '../src/platform/store/index.js';
import { freshStoreForBlock } from './support/store-block.js';
import { STORE_KINDS } from './support/server.js';

/**
 * bulkRows hands a statement the same relation whichever way the rows travel: staged by COPY (a
 * transaction of transactionWithCopy on PostgreSQL) or as one jsonb array (a plain transaction,
 * the embedded store). The alert manager's writes depend on that, and on values that break one
 * format or the other: COPY's separators and escapes, JSON's lack of Infinity, U+0000.
 */
const SHAPE: BulkShape = {
  name: 'bulk_rows_test',
  columns: [
    ['n', 'integer'],
    ['t', 'text'],
    ['j', 'jsonb'],
    ['a', 'text[]'],
    ['at', 'timestamptz'],
    ['f', 'text'],
    ['b', 'boolean'],
    ['u', 'uuid'],
  ],
};

const id = randomUUID();
const at = new Date('2026-12-05T10:11:12.345Z');
const ROWS = [
  {
    n: 1,
    t: 'tab\there, newline\nthere, backslash \\N and \\t, return\r, quote " and \'',
    j: { nested: { s: 'quote " backslash \\ tab \t newline \n', list: [1, 'two', null, true] }, emoji: '🚚' },
    a: ['a"b', 'c\\d', '{}', 'e,f', ' spaced ', 'NULL', ''],
    at,
    f: 'Infinity',
    b: true,
    u: id,
  },
  { n: 2, t: null, j: null, a: null, at: null, f: null, b: null, u: null },
  { n: 3, t: 'NUL \u0000 inside', j: { nul: 'a\u0000b' }, a: ['x\u0000y'], at, f: 'NaN', b: false, u: id },
  // A lone UTF-16 surrogate (what JSON.parse makes of "\ud800"): jsonb refuses its escape, UTF-8 cannot carry it.
  { n: 5, t: 'lone \ud800 surrogate', j: { s: 'x\udc00y' }, a: null, at: null, f: null, b: null, u: null },
  // Absent keys read as null, as jsonb_to_recordset reads them.
  { n: 4 },
];

const EXPECTED = [
  {
    n: 1,
    t: ROWS[0]!.t,
    j: ROWS[0]!.j,
    a: ROWS[0]!.a,
    at: at.toISOString(),
    f: Number.POSITIVE_INFINITY,
    b: true,
    u: id,
  },
  { n: 2, t: null, j: null, a: null, at: null, f: null, b: null, u: null },
  { n: 3, t: 'NUL \ufffd inside', j: { nul: 'a\ufffdb' }, a: ['x\ufffdy'], at: at.toISOString(), f: Number.NaN, b: false, u: id },
  { n: 4, t: null, j: null, a: null, at: null, f: null, b: null, u: null },
  { n: 5, t: 'lone \ufffd surrogate', j: { s: 'x\ufffdy' }, a: null, at: null, f: null, b: null, u: null },
];

async function read(trx: Db): Promise<unknown[]> {
  const v = await bulkRows(trx, SHAPE, ROWS);
  const { rows } = await sql<Record<string, unknown>>`
    SELECT v.n, v.t, v.j, v.a, to_char(v.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, v.f::double precision AS f, v.b, v.u
    FROM ${v} ORDER BY v.n`.execute(trx);
  return rows;
}

describe.each(STORE_KINDS)('bulk rows on %s', (kind) => {
  const { run, store } = freshStoreForBlock(kind);

  run('give the same relation staged by COPY and as a jsonb array, separators, escapes, Infinity, NaN and U+0000 included', async () => {
    const copied = await transactionWithCopy(store(), (trx) => read(trx));
    const asJson = await store().db.transaction().execute((trx) => read(trx));
    expect(copied).toEqual(EXPECTED);
    expect(asJson).toEqual(EXPECTED);
  });

  run('empty the staged rows between two uses in one transaction, and leave none to the next transaction', async () => {
    const twice = await transactionWithCopy(store(), async (trx) => [(await read(trx)).length, (await read(trx)).length]);
    expect(twice).toEqual([ROWS.length, ROWS.length]);
    if (kind === 'postgres') {
      // Stage on one pooled connection, then look at its staging table from a later transaction on that same connection.
      const pid = async (trx: Db) => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)).rows[0]!.pid;
      const stagedOn = await transactionWithCopy(store(), async (trx) => {
        await read(trx);
        return pid(trx);
      });
      let left: number | undefined;
      for (let attempt = 0; attempt < 50 && left === undefined; attempt++) {
        left = await transactionWithCopy(store(), async (trx) =>
          (await pid(trx)) === stagedOn ? Number((await sql<{ n: string }>`SELECT count(*) AS n FROM bulk_bulk_rows_test`.execute(trx)).rows[0]!.n) : undefined,
        );
      }
      expect(left, 'a later transaction on the connection that staged').toBe(0);
    }
  });
});
