/**
 * What is left of removed organisations in the log store. Removing an organisation deletes it and,
 * by cascade, every table that references it; the ingest tables carry no foreign key to `orgs` (a
 * key check per event would be write cost on the hot path) and the archive is files. The retention
 * pass calls this: it finds organisation ids that have events, rejections or archive files but no
 * organisation any more, and deletes those rows (in batches) and that archive folder.
 *
 * Found, not listed at removal time: events still on the bus when their organisation is removed are
 * stored after it, and the next pass finds them the same way. An id is purged only if it is absent
 * from `orgs` as listed after the search (organisation ids are random and never reused, so an
 * absent one is gone for good, and one created while the pass runs is never taken for a removed one).
 * Anything not a uuid (an archive folder made by hand) is not ours to delete.
 */
import type { Logger } from 'pino';
import { archivedOrgIds, removeOrgArchive } from '../../platform/archive/index.js';
import { deleteOrgRows, orgIdsWithRows, type Db } from '../../platform/store/index.js';
import { isUuid } from '../../platform/ids.js';
import { listOrgIds } from '../accounts/index.js';

/** What one removed organisation still had, now deleted. */
export interface PurgedOrg {
  orgId: string;
  events: number;
  rejections: number;
  /** Whether it had an archive folder (now removed). */
  archive: boolean;
  /** Statistics rows of the stream domain (through the `purgeStatistics` port). */
  statistics: number;
}

export interface PurgeDeps {
  db: Db;
  logger: Logger;
  /** The archive directory. */
  dir: string;
  /**
   * The day partitions of log_events. An organisation's events are deleted partition by
   * partition, in batches by ctid (a TID scan): batches by id through the parent would walk the
   * organisation's whole (org_id, ts, id) index range in every partition for each batch.
   */
  eventTables: readonly string[];
  /** The stream domain's statistics (absent: only the log store is purged). */
  statistics?: OrgStatistics | undefined;
}

/** The port to the stream domain's statistics (logs never imports stream: stream consumes logs). */
export interface OrgStatistics {
  /** Organisation ids with statistics or processor progress. */
  orgIds(): Promise<string[]>;
  /** Deletes one organisation's; returns the rows deleted. */
  purge(orgId: string): Promise<number>;
}

export async function purgeRemovedOrgs(deps: PurgeDeps): Promise<PurgedOrg[]> {
  const { db, dir } = deps;
  const archived = new Set(await archivedOrgIds(dir));
  const found = [
    ...new Set([...(await orgIdsWithRows(db, 'log_events')), ...(await orgIdsWithRows(db, 'log_rejections')), ...archived, ...((await deps.statistics?.orgIds()) ?? [])]),
  ].filter(isUuid);
  // Listed after what was found: an organisation created meanwhile is in the list (ids are random
  // and never reused, so one absent from it is gone for good).
  const live = new Set(await listOrgIds(db));
  const purged: PurgedOrg[] = [];
  for (const orgId of found) {
    if (live.has(orgId)) continue;
    const done: PurgedOrg = {
      orgId,
      events: await deleteFromEach(db, deps.eventTables, orgId),
      rejections: await deleteOrgRows(db, 'log_rejections', orgId),
      statistics: (await deps.statistics?.purge(orgId)) ?? 0,
      archive: archived.has(orgId),
    };
    if (done.archive) await removeOrgArchive(dir, orgId);
    purged.push(done);
    deps.logger.info(done, 'retention: deleted what was left of a removed organisation (events, rejections, statistics, archive)');
  }
  return purged;
}

async function deleteFromEach(db: Db, tables: readonly string[], orgId: string): Promise<number> {
  let total = 0;
  for (const table of tables) total += await deleteOrgRows(db, table, orgId);
  return total;
}
