/**
 * What the fraud domain reads of the shipments domain: the arrivals queue its detector claims,
 * the velocity history of entities, and a range of an organisation's shipments for backtests.
 *
 * Invariants:
 * - Arrivals are claimed with FOR UPDATE SKIP LOCKED inside the caller's transaction and deleted
 *   in that same transaction (`finishArrivals`): a crash before commit leaves them queued, two
 *   detectors never take the same one, and a shipment committed late (smaller id, later commit) is
 *   still found — nothing is skipped, nothing is evaluated twice by committed work.
 * - Every read but the claim (which is the detector's documented cross-organisation path) filters
 *   by one organisation.
 * - `onArrivals` is an in-process nudge only (wakes a detector in the same process right after an
 *   intake commits); detectors in other processes poll.
 */
import { sql } from 'kysely';
import type { Db } from '../../platform/store/index.js';
import { COLUMNS } from './store.js';
import { shipmentsDb } from './tables.js';

/** A stored shipment as the fraud engine reads it (every column; nulls for absent values). */
export interface ShipmentFacts {
  id: string;
  org_id: string;
  external_id: string;
  created_at: Date;
  attributes: Record<string, unknown>;
  [column: string]: unknown;
}

/** A column of the shipment (the entity keys and aggregated fields are checked against these). */
export const SHIPMENT_COLUMNS: ReadonlySet<string> = new Set<string>(COLUMNS.filter((c) => c !== 'org_id'));

function facts(r: Record<string, unknown>): ShipmentFacts {
  const attributes = typeof r['attributes'] === 'string' ? (JSON.parse(r['attributes']) as Record<string, unknown>) : ((r['attributes'] as Record<string, unknown> | undefined) ?? {});
  return { ...r, id: String(r['id']), org_id: String(r['org_id']), external_id: String(r['external_id']), created_at: new Date(r['created_at'] as Date | string), attributes };
}

/**
 * Claims up to `limit` unevaluated shipments (oldest arrival first), across organisations, locking
 * their arrivals until the caller's transaction ends. Run inside a transaction.
 */
export async function claimArrivals(trx: Db, limit: number): Promise<ShipmentFacts[]> {
  const result = await sql<Record<string, unknown>>`
    SELECT s.* FROM shipments s
    JOIN (SELECT shipment_id FROM shipment_arrivals ORDER BY shipment_id LIMIT ${limit} FOR UPDATE SKIP LOCKED) a ON a.shipment_id = s.id
    ORDER BY s.id`.execute(trx);
  return result.rows.map(facts);
}

/** Removes the evaluated arrivals (in the claiming transaction). */
export async function finishArrivals(trx: Db, shipmentIds: readonly string[]): Promise<void> {
  if (shipmentIds.length === 0) return;
  await sql`DELETE FROM shipment_arrivals WHERE shipment_id = ANY(${shipmentIds}::bigint[])`.execute(trx);
}

/** One shipment of an entity's history: its order and the columns an aggregate reads. */
export interface HistoryRow {
  id: number;
  createdAt: number;
  key: string;
  values: Record<string, unknown>;
}

/**
 * The organisation's shipments whose `key` column is one of `entities` and whose created_at is in
 * (`after`, `through`], with the `columns` asked for. One query for a whole batch's entities.
 */
export async function entityHistory(db: Db, orgId: string, key: string, entities: readonly string[], columns: readonly string[], after: Date, through: Date): Promise<HistoryRow[]> {
  if (entities.length === 0) return [];
  for (const c of [key, ...columns]) if (!SHIPMENT_COLUMNS.has(c)) throw new Error(`entityHistory: ${c} is not a shipment column`);
  const wanted = [...new Set(columns)];
  const result = await sql<Record<string, unknown>>`
    SELECT id, created_at, ${sql.ref(key)} AS entity_key${sql.raw(wanted.map((c) => `, ${c}`).join(''))}
    FROM shipments
    WHERE org_id = ${orgId} AND ${sql.ref(key)} = ANY(${entities}::text[]) AND created_at > ${after.toISOString()}::timestamptz AND created_at <= ${through.toISOString()}::timestamptz`.execute(db);
  return result.rows.map((r) => {
    const values: Record<string, unknown> = {};
    for (const c of wanted) values[c] = r[c] ?? null;
    return { id: Number(r['id']), createdAt: new Date(r['created_at'] as Date | string).getTime(), key: String(r['entity_key']), values };
  });
}

/** The organisation's shipments created in (`after`, `through`], newest first, at most `limit`. */
export async function shipmentsCreatedIn(db: Db, orgId: string, after: Date, through: Date, limit: number): Promise<ShipmentFacts[]> {
  const rows = await shipmentsDb(db)
    .selectFrom('shipments')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('created_at', '>', after)
    .where('created_at', '<=', through)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => facts(r as unknown as Record<string, unknown>));
}

type Listener = () => void;
const listeners = new Set<Listener>();

/** Calls `listener` after each intake that stored new shipments (in this process); returns the unsubscribe. */
export function onArrivals(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Said by intake after its transaction committed new shipments. */
export function announceArrivals(): void {
  for (const l of listeners) l();
}
