/**
 * Retention of the traffic statistics: rows older than their resolution's retention
 * (`statsCutoffs`) are deleted. The logs domain's retention job runs this under its lock, through
 * the `pruneStatistics` port the runtime gives it (logs never imports stream: the stream processor
 * consumes log events, so the dependency points from stream to logs).
 */
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { deleteInBatches, deleteOrgRows, orgIdsWithRows, type Db } from '../../platform/store/index.js';
import { listOrgIds } from '../accounts/index.js';
import { statsCutoffs } from './stats-shape.js';

const PRUNE_BATCH = 10_000;

/** Statistics rows deleted from one table at one resolution. */
export interface PrunedStatistics {
  table: 'traffic_counts' | 'traffic_sketches';
  resolution: number;
  rows: number;
}

/**
 * Deletes statistics rows older than their resolution's retention, per organisation (the primary
 * key starts with org_id, resolution, bucket) and in batches, so no statement holds locks or an
 * embedded store's only connection for long.
 */
export async function pruneStatistics(deps: { db: Db; logger: Logger }, now: number): Promise<PrunedStatistics[]> {
  const { db, logger } = deps;
  const pruned: PrunedStatistics[] = [];
  const orgIds = await listOrgIds(db);
  for (const table of ['traffic_counts', 'traffic_sketches'] as const) {
    for (const { resolution, before } of statsCutoffs(now)) {
      let total = 0;
      for (const orgId of orgIds) {
        total += await deleteInBatches(db, table, sql`org_id = ${orgId}::uuid AND resolution = ${resolution} AND bucket < ${before}`, PRUNE_BATCH);
      }
      if (total > 0) {
        pruned.push({ table, resolution, rows: total });
        logger.info({ table, resolution, rows: total, before: before.toISOString() }, 'retention: pruned old statistics');
      }
    }
  }
  return pruned;
}

/** The port the logs domain's retention job takes: prunes the statistics as of `now`. */
export const statisticsPruner =
  (deps: { db: Db; logger: Logger }) =>
  (now: number): Promise<PrunedStatistics[]> =>
    pruneStatistics(deps, now);

/**
 * Organisation ids with statistics or processor progress: the logs domain's retention pass asks,
 * to find what removed organisations left (these tables have no foreign key to orgs).
 */
export async function statisticsOrgIds(db: Db): Promise<string[]> {
  const progress = await sql<{ org_id: string }>`SELECT DISTINCT org_id FROM stream_progress UNION SELECT DISTINCT org_id FROM stream_sources`.execute(db);
  return [...new Set([...(await orgIdsWithRows(db, 'traffic_counts')), ...(await orgIdsWithRows(db, 'traffic_sketches')), ...progress.rows.map((r) => r.org_id)])];
}

/** Deletes a removed organisation's statistics, watermark progress and sources; returns the rows deleted. */
export async function purgeOrgStatistics(db: Db, orgId: string): Promise<number> {
  let total = 0;
  for (const table of ['traffic_counts', 'traffic_sketches', 'stream_sources', 'stream_progress']) total += await deleteOrgRows(db, table, orgId, PRUNE_BATCH);
  return total;
}

/** The port the logs domain's retention job takes to find and delete removed organisations' statistics. */
export const statisticsPurger = (deps: { db: Db }) => ({
  orgIds: () => statisticsOrgIds(deps.db),
  purge: (orgId: string) => purgeOrgStatistics(deps.db, orgId),
});
