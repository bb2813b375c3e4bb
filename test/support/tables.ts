/**
 * The hand-written table types that test/table-types.test.ts checks against the migrated database.
 * One place: when the tables move into the domains, this becomes the intersection of their
 * `<D>Tables` interfaces, e.g.
 *   export type AllTables = AccountsTables & JobsTables & AlertingTables & NotifyTables & LogsTables & StreamTables;
 * with each imported from '../../src/domains/<domain>/tables.js'.
 */
export type { Database as AllTables } from '../../src/platform/store/schema.js';
