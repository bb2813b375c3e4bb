import type { ColumnType, Kysely } from 'kysely';

/**
 * The platform knows no table: each domain declares its own in `src/domains/<d>/tables.ts` (the
 * SQL in migrations/ is the source of truth; test/table-types.test.ts checks the declarations
 * against a migrated database) and queries them through `ownTables`. What is shared is how the
 * drivers hand column values back, below, and the untyped handle the platform passes around.
 */

/**
 * The store as the platform holds it: one connection pool (or one transaction), typed by nobody.
 * Domains narrow it with `ownTables<TheirTables>(db)` before any query.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately untyped here; every domain narrows it to its own tables
export type Db = Kysely<any>;

/** A `timestamptz`: read as a Date; written as a Date or an ISO string; defaulted where the DDL says so. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A `bigserial` key: pg returns it as a string, PGlite as a number (callers use Number()); left out on insert (the sequence fills it). */
export type BigSerial = ColumnType<string | number, number | bigint | undefined, number | bigint>;
