export { openStore, migrateToLatest, type Store, type Db, type StoreOptions } from './store.js';
export type * from './schema.js';
