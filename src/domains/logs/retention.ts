/**
 * The retention job: day partitions of `log_events` that have left the hot window are exported to
 * the Parquet archive (one file per organisation and day), checked, and only then dropped; old
 * fine-grained traffic statistics are pruned through the `pruneStatistics` port (the stream domain's);
 * what removed organisations left in the hot store, the statistics and the archive is deleted (purge.ts).
 *
 * Order per partition, each step safe to crash after:
 *   1. export every organisation's rows (keyset pages, so memory stays flat) to a temp file that is
 *      renamed into place, and read the file back to check its row count;
 *   2. DETACH the partition: from here nothing can be written into it;
 *   3. recount the detached table; an organisation with rows written after its export is exported
 *      again, in place (see `choosePart`);
 *   4. DROP the table.
 * A crash before 4 leaves the table (attached or detached); the next run exports it again over the
 * same file names, so the archive never holds an event twice.
 *
 * Several instances may share one PostgreSQL: a session advisory lock lets one of them run at a time.
 */
import { hotRowToStored, type HotRow, type StoredLogEvent } from './event.js';
import { purgeRemovedOrgs, type OrgStatistics, type PurgedOrg } from './purge.js';
import { pruneRejections } from './rejections.js';
import { sql, type RawBuilder } from 'kysely';
import type { Logger } from 'pino';
import { listArchive, readArchiveFile, sweepArchiveTemp, writeArchiveFile } from '../../platform/archive/index.js';
import { asSystem, type Db, type Store } from '../../platform/store/index.js';
import { every, type Worker } from '../../platform/worker.js';
import type { Config } from '../../config.js';
import {
  FIRST_ID_KEY,
  archiveDirOf,
  choosePart,
  expiredPartitions,
  staleExports,
  type ExpiredPartition,
  type OrgRows,
  type PartitionTable,
} from './retention-plan.js';

/** Statistics rows deleted by the `pruneStatistics` port, per table and resolution. */
export interface PrunedRows {
  table: string;
  resolution: number;
  rows: number;
}

/** What the retention job needs; the runtime builds it (an `AppContext` plus the statistics port fits). */
export interface RetentionContext {
  config: Pick<Config, 'VIGIL_HOT_DAYS' | 'VIGIL_RETENTION_INTERVAL_MS' | 'VIGIL_ARCHIVE_DIR' | 'VIGIL_DATA_DIR'>;
  store: Store;
  db: Db;
  logger: Logger;
  /**
   * Prunes old traffic statistics (the stream domain's `statisticsPruner`), run under the same lock
   * after the archive pass. Absent: nothing but log partitions and rejections is pruned.
   */
  pruneStatistics?: (now: number) => Promise<PrunedRows[]>;
  /** Removed organisations' statistics (the stream domain's `statisticsPurger`), deleted with their events. */
  statistics?: OrgStatistics;
}

export interface RetentionOptions {
  /** The clock (epoch ms); tests move it. */
  now?: number;
  /** Rows read per query while exporting. */
  pageSize?: number;
  /**
   * Called after a partition was exported and before it is detached. Tests use it to write into the
   * partition at that moment, or to stop the run there as a crash would.
   */
  beforeDetach?: (table: string) => Promise<void>;
}

export interface ArchivedPartition {
  table: string;
  day: string;
  rows: number;
  bytes: number;
  files: { orgId: string; path: string; rows: number }[];
}

export interface RetentionResult {
  /** Another instance (or run) held the retention lock: nothing was done. */
  skipped: boolean;
  archived: ArchivedPartition[];
  /** Partitions left in place because something failed; retried next run. */
  failed: { table: string; error: string }[];
  /** Statistics rows deleted, per table and resolution. */
  pruned: PrunedRows[];
  /** Organisations removed by an administrator whose leftover events, statistics and archive were deleted. */
  purged: PurgedOrg[];
}

/** `pg_advisory_lock` key of the retention job: "vigilret" in ASCII, as a 64-bit integer. */
export const RETENTION_LOCK_KEY = '8532464671518778740';
const PAGE_SIZE = 5_000;
/** Temp files of a crashed export older than this are removed at the start of a run. */
const TEMP_MAX_AGE_MS = 3_600_000;
/** The first run waits this long after start (or one interval, if shorter), out of the way of start-up. */
const FIRST_RUN_DELAY_MS = 10_000;

/** Runs within this process, per store: a PGlite session lock would not keep out a second run of the same process. */
const running = new WeakSet<Store>();

/**
 * Runs `fn` holding the retention lock, or returns null at once if it is held elsewhere. PostgreSQL
 * ties a session lock to one connection, so the lock is taken and released on a connection pinned
 * for the purpose while the work uses the pool. PGlite has a single session (pinning it would block
 * every other query of the process for the whole run), so there the lock is taken through the pool.
 */
async function withRetentionLock<T>(store: Store, fn: () => Promise<T>): Promise<T | null> {
  if (running.has(store)) return null;
  running.add(store);
  try {
    const lock = sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${RETENTION_LOCK_KEY}::bigint) AS locked`;
    const unlock = sql`SELECT pg_advisory_unlock(${RETENTION_LOCK_KEY}::bigint)`;
    if (store.kind === 'pglite') {
      const { rows } = await lock.execute(store.db);
      if (rows[0]?.locked !== true) return null;
      try {
        return await fn();
      } finally {
        await unlock.execute(store.db);
      }
    }
    return await store.db.connection().execute(async (conn) => {
      const { rows } = await lock.execute(conn);
      if (rows[0]?.locked !== true) return null;
      try {
        return await fn();
      } finally {
        await unlock.execute(conn);
      }
    });
  } finally {
    running.delete(store);
  }
}

/** Day partitions of log_events, attached or left detached by a crashed run. */
async function partitionTables(db: Db): Promise<PartitionTable[]> {
  const { rows } = await sql<{ table: string; attached: boolean }>`
    SELECT c.relname AS table, (i.inhrelid IS NOT NULL) AS attached
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'log_events'::regclass
    WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname LIKE 'log\\_events\\_p%'`.execute(db);
  return rows;
}

/** Rows and smallest id per organisation, in one pass over the table. */
async function orgRows(db: Db, table: string): Promise<OrgRows[]> {
  const { rows } = await sql<{ org_id: string; rows: string | number | bigint; first_id: string | number | bigint }>`
    SELECT org_id, count(*) AS rows, min(id) AS first_id FROM ${sql.table(table)} GROUP BY org_id ORDER BY org_id`.execute(db);
  return rows.map((r) => ({ orgId: r.org_id, rows: Number(r.rows), firstId: String(r.first_id) }));
}

type PageRow = HotRow & { ts_key: string };

/**
 * An organisation's rows of one partition in (ts, id) order, a page at a time. The keyset follows
 * the (org_id, ts, id) index; `ts` is carried as text because a JS Date would drop microseconds and
 * repeat or skip rows at a page boundary. The next page is fetched while this one is being encoded,
 * so the database and the Parquet writer work at the same time; memory holds two pages at most.
 */
async function* hotRows(db: Db, table: string, orgId: string, pageSize: number): AsyncGenerator<StoredLogEvent> {
  const page = async (after: PageRow | undefined): Promise<PageRow[]> => {
    const keyset: RawBuilder<unknown> = after === undefined ? sql`` : sql`AND (ts, id) > (${after.ts_key}::timestamptz, ${String(after.id)}::bigint)`;
    const { rows } = await sql<PageRow>`
      SELECT id, ts, ts::text AS ts_key, received_at, service, host, source, level, message, method, path, section,
             status, bytes, duration_ms, remote_addr, user_agent, attributes, too_late
      FROM ${sql.table(table)}
      WHERE org_id = ${orgId}::uuid ${keyset}
      ORDER BY ts, id
      LIMIT ${pageSize}`.execute(db);
    return rows;
  };
  let next: Promise<PageRow[]> | undefined = page(undefined);
  try {
    while (next !== undefined) {
      const rows: PageRow[] = await next;
      const last: PageRow | undefined = rows[rows.length - 1];
      next = last !== undefined && rows.length === pageSize ? page(last) : undefined;
      for (const row of rows) yield hotRowToStored(row);
    }
  } finally {
    // The writer stopped early (a bad row, a full disk): a page still in flight must not fail unheard.
    next?.catch(() => undefined);
  }
}

async function countRows(path: string): Promise<number> {
  let n = 0;
  for await (const _ of readArchiveFile(path)) n++;
  return n;
}

/** Writes one organisation's rows of a partition to the archive and checks the file reads back whole. */
async function exportOrg(db: Db, logger: Logger, dir: string, part: ExpiredPartition, org: OrgRows, pageSize: number): Promise<{ orgId: string; path: string; rows: number; bytes: number }> {
  const existing = await listArchive(dir, org.orgId, { from: part.day, to: part.day });
  const target = choosePart(
    existing.map((f) => ({ part: f.part, firstId: f.metadata[FIRST_ID_KEY] })),
    org.firstId,
  );
  const started = Date.now();
  const written = await writeArchiveFile(dir, {
    orgId: org.orgId,
    day: part.day,
    part: target.part,
    replace: target.replace,
    rows: hotRows(db, part.table, org.orgId, pageSize),
    metadata: { [FIRST_ID_KEY]: org.firstId, source: part.table },
  });
  const wroteMs = Date.now() - started;
  const readBack = await countRows(written.path);
  if (readBack !== written.rows) {
    throw new Error(`archive file ${written.path} reads back ${readBack} rows, ${written.rows} were written; the partition is kept`);
  }
  logger.debug({ table: part.table, orgId: org.orgId, rows: written.rows, bytes: written.bytes, path: written.path, writeMs: wroteMs, checkMs: Date.now() - started - wroteMs }, 'retention: exported and checked');
  return { orgId: org.orgId, path: written.path, rows: written.rows, bytes: written.bytes };
}

async function archivePartition(ctx: RetentionContext, dir: string, part: ExpiredPartition, options: RetentionOptions): Promise<ArchivedPartition> {
  const { db } = ctx;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const files = new Map<string, { orgId: string; path: string; rows: number; bytes: number }>();
  const exported = new Map<string, OrgRows>();
  const exportAll = async (orgs: OrgRows[]) => {
    for (const org of orgs) {
      const file = await exportOrg(db, ctx.logger, dir, part, org, pageSize);
      // What the file holds is what counts: rows may have arrived since the count was taken.
      exported.set(org.orgId, { ...org, rows: file.rows });
      files.set(org.orgId, file);
    }
  };

  await exportAll(await orgRows(db, part.table));
  await options.beforeDetach?.(part.table);
  // DDL as the owner: the application's role may only detach and drop daily log partitions (migration 018).
  if (part.attached) await sql`SELECT vigil_detach_log_partition(${part.day}::date)`.execute(db);
  // Detached, the table is frozen: its counts are final. Export again whatever changed meanwhile.
  const frozen = await orgRows(db, part.table);
  const stale = staleExports(exported, frozen);
  if (stale.length > 0) {
    ctx.logger.info({ table: part.table, orgs: stale.length }, 'retention: rows arrived during the export; exporting those organisations again');
    await exportAll(stale);
    const still = staleExports(exported, frozen);
    if (still.length > 0) throw new Error(`retention: ${part.table} changed while detached (${still.length} organisations differ from their archive files); kept for the next run`);
  }
  await sql`SELECT vigil_drop_log_partition(${part.day}::date)`.execute(db);
  const list = [...files.values()];
  return {
    table: part.table,
    day: part.day,
    rows: list.reduce((n, f) => n + f.rows, 0),
    bytes: list.reduce((n, f) => n + f.bytes, 0),
    files: list.map(({ orgId, path, rows }) => ({ orgId, path, rows })),
  };
}

/**
 * One retention pass: archives and drops every expired partition, then prunes statistics (the port)
 * and rejections, then deletes what removed organisations left (purge.ts). A
 * partition that fails is logged, kept, and retried next run; the others go on.
 */
export async function runRetention(ctx: RetentionContext, options: RetentionOptions = {}): Promise<RetentionResult> {
  const now = options.now ?? Date.now();
  const dir = archiveDirOf(ctx.config);
  const result = await withRetentionLock(ctx.store, async (): Promise<RetentionResult> => {
    const out: RetentionResult = { skipped: false, archived: [], failed: [], pruned: [], purged: [] };
    await sweepArchiveTemp(dir, TEMP_MAX_AGE_MS);
    const expired = expiredPartitions(await partitionTables(ctx.db), now, ctx.config.VIGIL_HOT_DAYS);
    for (const part of expired) {
      const started = Date.now();
      try {
        const done = await archivePartition(ctx, dir, part, options);
        out.archived.push(done);
        ctx.logger.info(
          { table: done.table, day: done.day, rows: done.rows, bytes: done.bytes, files: done.files.length, ms: Date.now() - started, dir },
          'retention: archived and dropped a log partition',
        );
      } catch (error) {
        out.failed.push({ table: part.table, error: (error as Error).message });
        ctx.logger.error({ err: error, table: part.table, dir }, 'retention: could not archive a log partition; it stays in the hot store and is retried next run');
      }
    }
    out.pruned = (await ctx.pruneStatistics?.(now)) ?? [];
    // Rejected events are kept as long as the events themselves.
    const rejections = await pruneRejections(ctx.db, new Date(now - ctx.config.VIGIL_HOT_DAYS * 86_400_000));
    if (rejections > 0) ctx.logger.info({ rows: rejections }, 'retention: pruned old rejected-event records');
    // Listed again: the archive pass above dropped the expired ones.
    const eventTables = (await partitionTables(ctx.db)).filter((p) => p.attached).map((p) => p.table);
    out.purged = await purgeRemovedOrgs({ db: ctx.db, logger: ctx.logger, dir, eventTables, statistics: ctx.statistics });
    return out;
  });
  if (result === null) {
    ctx.logger.debug('retention: another instance holds the retention lock; skipping this run');
    return { skipped: true, archived: [], failed: [], pruned: [], purged: [] };
  }
  return result;
}

/** The retention worker: a first run shortly after start, then every VIGIL_RETENTION_INTERVAL_MS. */
export function startRetention(ctx: RetentionContext): Worker {
  const interval = ctx.config.VIGIL_RETENTION_INTERVAL_MS;
  const onError = (error: unknown) => ctx.logger.error({ err: error }, 'retention run failed; retrying at the next interval');
  let worker: Worker | undefined;
  let stopped = false;
  const timer = setTimeout(() => {
    if (!stopped) worker = every(interval, () => asSystem('retention archives and drops whole daily partitions of every organisation', () => runRetention(ctx)), onError);
  }, Math.min(FIRST_RUN_DELAY_MS, interval));
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await worker?.stop();
    },
  };
}
