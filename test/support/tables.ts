/**
 * The hand-written table types that test/table-types.test.ts checks against the migrated database.
 * One place: when the tables move into the domains, this becomes the union of their `<D>Tables`
 * interfaces (e.g. `JobsTables & LogsTables & …`).
 */
export type { Database as AllTables } from '../../src/platform/store/schema.js';
