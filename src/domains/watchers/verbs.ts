/**
 * The watcher verbs: create, replace, remove, read — for platform administrators (API) and the CLI.
 *
 * Invariants:
 * - Only platform administrators (or the CLI, which has the database anyway) see or change
 *   watchers: they hold connection URLs of the platform's database and feed any organisation.
 * - The password of a connection URL is never answered (views carry the URL without it).
 * - A watcher is saved only if its table fits: the table, the ordering column (integer, unique
 *   index), every mapped column and the org column exist in the watched database, and the
 *   organisations it names exist. What does not fit is a 400 naming the field and the column.
 */
import { resolveOrg } from '../accounts/index.js';
import type { WatcherInput, WatcherUpdate, WatcherView } from '../../contracts/watchers.js';
import { DomainError, conflict, forbidden, invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { Db } from '../../platform/store/index.js';
import { BEFORE_EVERYTHING, highestRead, type Position } from './position.js';
import { inspect, splitTable, startingPoint, withWatched, type WatchedTable } from './source.js';
import * as store from './store.js';

/** Who acts: an authenticated principal, or the CLI (someone with direct access to the database). */
export type Actor = { platformAdmin?: boolean | undefined } | { cli: string };

const RECENT_REJECTIONS = 20;

function requirePlatformAdmin(a: Actor): void {
  if (!('cli' in a) && !a.platformAdmin) throw forbidden('Only platform administrators manage shipment watchers.');
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** The URL without its password (and whether it had one). */
export function withoutPassword(url: string): { url: string; hasPassword: boolean } {
  try {
    const u = new URL(url);
    const hasPassword = u.password !== '';
    u.password = '';
    return { url: u.toString(), hasPassword };
  } catch {
    return { url: '(unreadable URL)', hasPassword: false };
  }
}

export const watchedTableOf = (w: Pick<store.WatcherConfig, 'schema' | 'table' | 'orderColumn' | 'columns' | 'orgColumn'>): WatchedTable => ({
  schema: w.schema,
  table: w.table,
  orderColumn: w.orderColumn,
  columns: w.columns,
  orgColumn: w.orgColumn,
});

async function viewOf(db: Db, w: store.WatcherRow, now = Date.now()): Promise<WatcherView> {
  const rejections = await store.recentRejections(db, w.id, RECENT_REJECTIONS);
  const { url, hasPassword } = withoutPassword(w.connectionUrl);
  const settled = w.position.settled === BEFORE_EVERYTHING ? null : w.position.settled;
  const highest = highestRead(w.position);
  const behind = w.lastReadAt !== null && (w.caughtUpAt === null || w.caughtUpAt < w.lastReadAt);
  return {
    id: w.id,
    name: w.name,
    connection_url: url,
    has_password: hasPassword,
    table: `${w.schema}.${w.table}`,
    order_column: w.orderColumn,
    columns: w.columns,
    org_id: w.orgId,
    org_column: w.orgColumn,
    org_map: w.orgMap,
    poll_interval_ms: w.pollIntervalMs,
    batch_size: w.batchSize,
    enabled: w.enabled,
    created_at: iso(w.createdAt)!,
    updated_at: iso(w.updatedAt)!,
    state: {
      settled,
      highest_read: highest === BEFORE_EVERYTHING ? null : highest,
      read_ranges_above: w.position.readAbove.length,
      max_seen: w.maxSeen,
      rows_read: w.rowsRead,
      rows_stored: w.rowsStored,
      rows_rejected: w.rowsRejected,
      last_read_at: iso(w.lastReadAt),
      caught_up_at: iso(w.caughtUpAt),
      lag_seconds: behind ? Math.max(0, Math.round((now - (w.caughtUpAt ?? w.createdAt).getTime()) / 1000)) : 0,
      lag_rows: w.maxSeen === null ? 0 : Math.max(0, w.maxSeen - Math.max(highest, w.position.settled)),
      last_error: w.lastError,
      last_error_at: iso(w.lastErrorAt),
      failures: w.failures,
    },
    recent_rejections: rejections.map((r) => ({ key: Number(r.source_key), org_id: r.org_id, field: r.field, message: r.message, at: iso(r.at)! })),
  };
}

/** Checks the organisations named exist (a 400 naming the field otherwise). */
async function checkOrgs(db: Db, config: store.WatcherConfig): Promise<void> {
  const exists = async (id: string) => {
    try {
      return (await resolveOrg(db, id)).id === id;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'not_found') return false;
      throw error;
    }
  };
  if (config.orgId !== null && !(await exists(config.orgId))) throw invalidField('org_id', `no organisation ${config.orgId}`);
  for (const [value, id] of Object.entries(config.orgMap ?? {})) {
    if (!(await exists(id))) throw invalidField(`org_map.${value}`, `no organisation ${id}`);
  }
}

/** Validates the table in the watched database; with `start`, also answers where reading starts. */
async function checkTable(config: store.WatcherConfig, start: 'end' | 'beginning' | undefined): Promise<Position | undefined> {
  try {
    return await withWatched(config.connectionUrl, async (client) => {
      await inspect(client, watchedTableOf(config));
      if (!start) return undefined;
      const from = await startingPoint(client, watchedTableOf(config), start);
      return { settled: from ?? BEFORE_EVERYTHING, readAbove: [], pendingSettle: null, pendingXid: null };
    });
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw invalidField('connection_url', `the watched database could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function configOf(input: WatcherInput | WatcherUpdate, connectionUrl: string): store.WatcherConfig {
  const { schema, table } = splitTable(input.table);
  return {
    name: input.name,
    connectionUrl,
    schema,
    table,
    orderColumn: input.order_column,
    columns: input.columns,
    orgId: input.org_id ?? null,
    orgColumn: input.org_column ?? null,
    orgMap: input.org_map ?? null,
    pollIntervalMs: input.poll_interval_ms,
    batchSize: input.batch_size,
    enabled: input.enabled,
  };
}

export async function listWatchers(db: Db, a: Actor): Promise<WatcherView[]> {
  requirePlatformAdmin(a);
  const now = Date.now();
  return Promise.all((await store.listWatcherRows(db)).map((w) => viewOf(db, w, now)));
}

export async function getWatcher(db: Db, a: Actor, id: string): Promise<WatcherView> {
  requirePlatformAdmin(a);
  const w = await store.findWatcherRow(db, id);
  if (!w) throw notFound('Shipment watcher');
  return viewOf(db, w);
}

export async function createWatcher(db: Db, a: Actor, input: WatcherInput): Promise<WatcherView> {
  requirePlatformAdmin(a);
  const config = configOf(input, input.connection_url);
  if (await store.findWatcherByName(db, config.name)) throw conflict(`A shipment watcher is already named ${config.name}.`);
  await checkOrgs(db, config);
  const position = (await checkTable(config, input.start))!;
  const id = newId();
  await store.insertWatcher(db, id, config, position);
  return getWatcher(db, a, id);
}

export async function updateWatcher(db: Db, a: Actor, id: string, input: WatcherUpdate): Promise<WatcherView> {
  requirePlatformAdmin(a);
  const before = await store.findWatcherRow(db, id);
  if (!before) throw notFound('Shipment watcher');
  const config = configOf(input, input.connection_url ?? before.connectionUrl);
  const other = await store.findWatcherByName(db, config.name);
  if (other && other.id !== id) throw conflict(`A shipment watcher is already named ${config.name}.`);
  await checkOrgs(db, config);
  // Another table (or ordering) is another sequence of keys: the old position means nothing there.
  const moved = config.schema !== before.schema || config.table !== before.table || config.orderColumn !== before.orderColumn;
  const position = await checkTable(config, input.start ?? (moved ? 'end' : undefined));
  if (!(await store.updateWatcher(db, id, config, position))) throw notFound('Shipment watcher');
  return getWatcher(db, a, id);
}

export async function removeWatcher(db: Db, a: Actor, id: string): Promise<void> {
  requirePlatformAdmin(a);
  if (!(await store.deleteWatcher(db, id))) throw notFound('Shipment watcher');
}

/** Finds a watcher by id or name, for the CLI. */
export async function resolveWatcher(db: Db, idOrName: string): Promise<string> {
  const byName = await store.findWatcherByName(db, idOrName);
  if (byName) return byName.id;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName) && (await store.findWatcherRow(db, idOrName))) return idOrName;
  throw notFound(`Shipment watcher ${idOrName}`);
}
