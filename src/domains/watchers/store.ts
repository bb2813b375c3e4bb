/**
 * SQL of the watchers domain (tables.ts). Watchers are the platform's configuration, not tenant
 * data: callers are platform administrators (verbs.ts checks) or the worker (asSystem).
 *
 * Invariants:
 * - A batch's position, counters and refused rows are written by `commitBatch` inside the
 *   shipments' transaction, and only if `state_version` is still the one the batch was read at:
 *   a second process, or a configuration change that reset the position, makes the batch roll back.
 * - Refused rows kept: the latest KEEP_REJECTIONS per watcher.
 */
import { sql } from 'kysely';
import type { Db } from '../../platform/store/index.js';
import type { Position } from './position.js';
import { watchersDb } from './tables.js';

const KEEP_REJECTIONS = 10_000;

export interface WatcherConfig {
  name: string;
  connectionUrl: string;
  schema: string;
  table: string;
  orderColumn: string;
  columns: Record<string, string>;
  orgId: string | null;
  orgColumn: string | null;
  orgMap: Record<string, string> | null;
  pollIntervalMs: number;
  batchSize: number;
  enabled: boolean;
}

export interface WatcherRow extends WatcherConfig {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  position: Position;
  maxSeen: number | null;
  version: number;
  rowsRead: number;
  rowsStored: number;
  rowsRejected: number;
  lastReadAt: Date | null;
  caughtUpAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  failures: number;
}

const json = (v: unknown) => JSON.stringify(v);
const parsed = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

type Selected = Awaited<ReturnType<typeof selectAll>>[number];
const selectAll = (db: Db) => watchersDb(db).selectFrom('shipment_watchers').selectAll().orderBy('name').execute();

function rowOf(r: Selected): WatcherRow {
  return {
    id: r.id,
    name: r.name,
    connectionUrl: r.connection_url,
    schema: r.table_schema,
    table: r.table_name,
    orderColumn: r.order_column,
    columns: parsed(r.columns),
    orgId: r.org_id,
    orgColumn: r.org_column,
    orgMap: r.org_map === null ? null : parsed(r.org_map),
    pollIntervalMs: r.poll_interval_ms,
    batchSize: r.batch_size,
    enabled: r.enabled,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    position: { settled: Number(r.settled), readAbove: parsed(r.read_above), pendingSettle: num(r.pending_settle), pendingXid: r.pending_xid },
    maxSeen: num(r.max_seen),
    version: Number(r.state_version),
    rowsRead: Number(r.rows_read),
    rowsStored: Number(r.rows_stored),
    rowsRejected: Number(r.rows_rejected),
    lastReadAt: r.last_read_at,
    caughtUpAt: r.caught_up_at,
    lastError: r.last_error,
    lastErrorAt: r.last_error_at,
    failures: r.failures,
  };
}

const configColumns = (c: WatcherConfig) => ({
  name: c.name,
  connection_url: c.connectionUrl,
  table_schema: c.schema,
  table_name: c.table,
  order_column: c.orderColumn,
  columns: json(c.columns),
  org_id: c.orgId,
  org_column: c.orgColumn,
  org_map: c.orgMap === null ? null : json(c.orgMap),
  poll_interval_ms: c.pollIntervalMs,
  batch_size: c.batchSize,
  enabled: c.enabled,
});

const positionColumns = (p: Position) => ({
  settled: p.settled,
  read_above: json(p.readAbove),
  pending_settle: p.pendingSettle,
  pending_xid: p.pendingXid,
});

export async function listWatcherRows(db: Db): Promise<WatcherRow[]> {
  return (await selectAll(db)).map(rowOf);
}

export async function findWatcherRow(db: Db, id: string): Promise<WatcherRow | undefined> {
  const r = await watchersDb(db).selectFrom('shipment_watchers').selectAll().where('id', '=', id).executeTakeFirst();
  return r && rowOf(r);
}

export async function findWatcherByName(db: Db, name: string): Promise<WatcherRow | undefined> {
  const r = await watchersDb(db).selectFrom('shipment_watchers').selectAll().where('name', '=', name).executeTakeFirst();
  return r && rowOf(r);
}

export async function insertWatcher(db: Db, id: string, config: WatcherConfig, position: Position): Promise<void> {
  await watchersDb(db)
    .insertInto('shipment_watchers')
    .values({ id, ...configColumns(config), ...positionColumns(position) })
    .execute();
}

/** Replaces the configuration; with `position`, also resets the position and the counters (bumping the version). */
export async function updateWatcher(db: Db, id: string, config: WatcherConfig, position: Position | undefined): Promise<boolean> {
  const result = await watchersDb(db)
    .updateTable('shipment_watchers')
    .set({
      ...configColumns(config),
      updated_at: sql<Date>`now()`,
      ...(position ? { ...positionColumns(position), max_seen: null, state_version: sql<number>`state_version + 1`, caught_up_at: null, failures: 0, last_error: null, last_error_at: null } : { failures: 0 }),
    })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteWatcher(db: Db, id: string): Promise<boolean> {
  const result = await watchersDb(db).deleteFrom('shipment_watchers').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function recentRejections(db: Db, id: string, limit: number) {
  return watchersDb(db).selectFrom('shipment_watcher_rejections').selectAll().where('watcher_id', '=', id).orderBy('id', 'desc').limit(limit).execute();
}

/** Takes or renews the watcher's lease (database time); false when another process holds it. */
export async function holdLease(db: Db, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const taken = await watchersDb(db)
    .updateTable('shipment_watchers')
    .set({ owner, lease_until: sql<Date>`now() + ${`${leaseMs} milliseconds`}::interval` })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('lease_until', '<', sql<Date>`now()`)]))
    .executeTakeFirst();
  return Number(taken.numUpdatedRows) === 1;
}

export async function releaseLeases(db: Db, owner: string): Promise<void> {
  await watchersDb(db).updateTable('shipment_watchers').set({ owner: null, lease_until: null }).where('owner', '=', owner).execute();
}

export interface BatchOutcome {
  position: Position;
  maxSeen: number | null;
  read: number;
  stored: number;
  caughtUp: boolean;
  rejections: { key: number; orgId: string | null; field: string; message: string }[];
}

/** The batch's writes (see the invariant); false when the version moved: the caller rolls back. */
export async function commitBatch(trx: Db, id: string, version: number, b: BatchOutcome): Promise<boolean> {
  const updated = await watchersDb(trx)
    .updateTable('shipment_watchers')
    .set({
      ...positionColumns(b.position),
      max_seen: b.maxSeen,
      state_version: version + 1,
      rows_read: sql<number>`rows_read + ${b.read}`,
      rows_stored: sql<number>`rows_stored + ${b.stored}`,
      rows_rejected: sql<number>`rows_rejected + ${b.rejections.length}`,
      last_read_at: sql<Date>`now()`,
      ...(b.caughtUp ? { caught_up_at: sql<Date>`now()` } : {}),
      last_error: null,
      last_error_at: null,
      failures: 0,
    })
    .where('id', '=', id)
    .where('state_version', '=', version)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return false;
  if (b.rejections.length > 0) {
    for (let i = 0; i < b.rejections.length; i += 5000) {
      await watchersDb(trx)
        .insertInto('shipment_watcher_rejections')
        .values(b.rejections.slice(i, i + 5000).map((r) => ({ watcher_id: id, source_key: r.key, org_id: r.orgId, field: r.field, message: r.message })))
        .execute();
    }
    await sql`DELETE FROM shipment_watcher_rejections WHERE watcher_id = ${id} AND id <= (
      SELECT id FROM shipment_watcher_rejections WHERE watcher_id = ${id} ORDER BY id DESC OFFSET ${KEEP_REJECTIONS} LIMIT 1)`.execute(trx);
  }
  return true;
}

/** A failed read: its reason, and one more failure in a row (the worker backs off by it). */
export async function recordFailure(db: Db, id: string, message: string): Promise<number> {
  const row = await watchersDb(db)
    .updateTable('shipment_watchers')
    .set({ last_error: message.slice(0, 2000), last_error_at: sql<Date>`now()`, failures: sql<number>`failures + 1` })
    .where('id', '=', id)
    .returning('failures')
    .executeTakeFirst();
  return row?.failures ?? 1;
}
