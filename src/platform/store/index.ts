export { openStore, migrateToLatest, migratedTemplate, type Store, type Db } from './store.js';
export type { BigSerial, NullableTimestamp, Timestamp } from './columns.js';
export { ownTables } from './own-tables.js';
export { bulkRows, copyValue, transactionWithCopy, type BulkShape, type CopyIn } from './copy.js';
export { deleteInBatches, deleteOrgRows, orgIdsWithRows } from './org-ids.js';
export { cleanText, isoOf, needsCleaning, pgArray, pgJson, pgText } from './values.js';
export { asOwner } from './session.js';
export { asOrg, asSystem, enterOrg, inRequestScope, reenterScope, type ScopeHandle } from './tenancy.js';
