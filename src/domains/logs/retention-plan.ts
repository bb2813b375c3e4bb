/**
 * The decisions of the retention job, without SQL or files: which day partitions have left the hot
 * window, where the archive lives, which archive part an export goes to, when an export is stale.
 * (The statistics are pruned by the stream domain; a hot-store row becomes a `StoredLogEvent` in event.ts.)
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../../config.js';

const DAY_MS = 86_400_000;

const PARTITION_RE = /^log_events_p(\d{4})(\d{2})(\d{2})$/;

/** The UTC day (`2024-05-01`) a `log_events_pYYYYMMDD` table holds, or null for any other name. */
export function partitionDay(table: string): string | null {
  const m = PARTITION_RE.exec(table);
  if (!m) return null;
  const day = `${m[1]}-${m[2]}-${m[3]}`;
  const ms = Date.parse(`${day}T00:00:00Z`);
  // Date.parse rolls 2024-02-31 over to March: a name that does not print back is no partition of ours.
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day ? null : day;
}

/**
 * Whether all of `day` is older than the hot window: the day ended at or before now − hotDays. Ingest
 * refuses events older than now − hotDays (`partitionable` in store.ts), so no new event can still
 * belong to a day this returns true for.
 */
export function isExpired(day: string, now: number, hotDays: number): boolean {
  return Date.parse(`${day}T00:00:00Z`) + DAY_MS <= now - hotDays * DAY_MS;
}

export interface PartitionTable {
  table: string;
  /** Still a partition of log_events; false for a table a crashed run detached but did not drop. */
  attached: boolean;
}

export interface ExpiredPartition extends PartitionTable {
  day: string;
}

/** The partition tables to archive now, oldest day first; names that are not day partitions are left alone. */
export function expiredPartitions(tables: readonly PartitionTable[], now: number, hotDays: number): ExpiredPartition[] {
  const out: ExpiredPartition[] = [];
  for (const t of tables) {
    const day = partitionDay(t.table);
    if (day !== null && isExpired(day, now, hotDays)) out.push({ ...t, day });
  }
  return out.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/**
 * The archive directory: VIGIL_ARCHIVE_DIR, else `<VIGIL_DATA_DIR>/archive`. An in-memory store
 * (`memory://`, tests) has no directory; its archive goes to a per-process temporary folder.
 */
export function archiveDirOf(config: Pick<Config, 'VIGIL_ARCHIVE_DIR' | 'VIGIL_DATA_DIR'>): string {
  if (config.VIGIL_ARCHIVE_DIR) return resolve(config.VIGIL_ARCHIVE_DIR);
  if (config.VIGIL_DATA_DIR.startsWith('memory://')) return join(tmpdir(), `vigil-archive-${process.pid}`);
  return resolve(config.VIGIL_DATA_DIR, 'archive');
}

/** Footer key naming the smallest hot-store id an export held: its identity (see `choosePart`). */
export const FIRST_ID_KEY = 'first_id';

export interface ExistingPart {
  part: number;
  /** `first_id` of the file's footer; undefined for a file not written by the retention job. */
  firstId: string | undefined;
}

/**
 * The archive part an organisation's rows of one partition are written to. Ids only grow, and rows
 * leave a partition only when it is dropped, so the smallest id identifies the partition's
 * incarnation: a file with the same first id is an earlier export of these same rows (a run that
 * crashed before the drop) and is replaced in place — re-running never duplicates. Any other file is
 * an earlier, dropped incarnation of the day (a late writer with a slow clock recreated it), so the
 * export takes the next free part and both stay searchable.
 */
export function choosePart(existing: readonly ExistingPart[], firstId: string): { part: number; replace: boolean } {
  const same = existing.find((p) => p.firstId === firstId);
  if (same !== undefined) return { part: same.part, replace: true };
  const next = existing.reduce((max, p) => Math.max(max, p.part + 1), 0);
  return { part: next, replace: false };
}

export interface OrgRows {
  orgId: string;
  rows: number;
  /** Smallest hot-store id of the organisation's rows in the partition. */
  firstId: string;
}

/**
 * The organisations whose export does not hold exactly what the (now detached, so frozen) partition
 * holds: rows written between their export and the detach. They are exported again before the drop.
 */
export function staleExports(exported: ReadonlyMap<string, OrgRows>, frozen: readonly OrgRows[]): OrgRows[] {
  return frozen.filter((org) => {
    const done = exported.get(org.orgId);
    return done === undefined || done.rows !== org.rows || done.firstId !== org.firstId;
  });
}
