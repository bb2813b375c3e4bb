import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/**
 * Presents an embedded PGlite database as the `pg.Pool`-shaped object Kysely's PostgresDialect
 * expects, so the same queries and migrations run on both stores.
 *
 * PGlite is a single connection: a transaction's BEGIN…COMMIT must not interleave with other
 * queries, so the "pool" hands out its one connection to one borrower at a time (a FIFO mutex).
 */
export class PGlitePool implements PostgresPool {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly pg: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const pg = this.pg;
    return {
      async query(sql: string, parameters: readonly unknown[]) {
        // Parameterless text may hold several statements (migrations): run it with the simple protocol.
        if (parameters.length === 0) {
          const results = await pg.exec(sql);
          const last = results[results.length - 1];
          return { command: commandOf(sql), rowCount: last?.affectedRows ?? 0, rows: last?.rows ?? [] };
        }
        const result = await pg.query(sql, parameters as unknown[]);
        return { command: commandOf(sql), rowCount: result.affectedRows ?? 0, rows: result.rows };
      },
      release() {
        release();
      },
    } as unknown as PostgresPoolClient;
  }

  async end(): Promise<void> {
    await this.tail;
    await this.pg.close();
  }
}

/**
 * Kysely reads `command` to report affected rows for writes. A statement led by WITH may write,
 * so it is reported as a write too (PGlite reports 0 affected rows for reads anyway).
 */
function commandOf(sql: string): 'INSERT' | 'UPDATE' | 'DELETE' | 'MERGE' | 'SELECT' {
  const head = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
  if (head === 'INSERT' || head === 'UPDATE' || head === 'DELETE' || head === 'MERGE') return head;
  return head === 'WITH' ? 'UPDATE' : 'SELECT';
}
