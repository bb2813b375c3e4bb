/**
 * Cold archive of raw log events: Parquet files per organisation and UTC day, written atomically,
 * listed and searched in place, readable by DuckDB, pandas/pyarrow and Spark.
 *
 *   const file = await writeArchiveFile(dir, { orgId, day: '2024-05-01', rows });   // rows: (Async)Iterable<ArchiveRow>
 *   const files = await listArchive(dir, orgId, { from, to });
 *   const page = await searchArchive(dir, orgId, { from, to, q: 'timeout', status: '5xx', limit: 100, cursor });
 */
export type { ArchiveRow } from './schema.js';
export { DEFAULT_ROW_GROUP_SIZE, sweepArchiveTemp, writeArchiveFile } from './write.js';
export { listArchive, readArchiveFile } from './read.js';
export { searchArchive, type ArchiveQuery } from './search.js';
export { archivedOrgIds, removeOrgArchive } from './orgs.js';
