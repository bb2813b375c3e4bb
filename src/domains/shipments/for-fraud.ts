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
export async function claimArrivals(trx: Db, limit: number): Promise<{ shipmentId: string; orgId: string }[]> {
  const result = await sql<{ shipment_id: string | number; org_id: string }>`
    SELECT shipment_id, org_id FROM shipment_arrivals ORDER BY shipment_id LIMIT ${limit} FOR UPDATE SKIP LOCKED`.execute(trx);
  return result.rows.map((r) => ({ shipmentId: String(r.shipment_id), orgId: r.org_id }));
}

/**
 * Claimed shipments, each read under the organisation its arrival names (one query for all of them).
 * `columns`: only these (with id, org_id, external_id and created_at; attributes {} unless asked
 * for) — the criteria's fields, not all 30 (bench: 100,000 rows 1.0–1.5 s → 0.75 s); all when omitted.
 */
export async function arrivedShipments(trx: Db, arrivals: readonly { shipmentId: string; orgId: string }[], columns?: readonly string[]): Promise<ShipmentFacts[]> {
  if (arrivals.length === 0) return [];
  if (columns) for (const c of columns) if (!SHIPMENT_COLUMNS.has(c)) throw new Error(`arrivedShipments: ${c} is not a shipment column`);
  const wanted = columns ? [...new Set(['id', 'org_id', 'external_id', 'created_at', ...columns])] : null;
  const result = await sql<Record<string, unknown>>`
    SELECT ${wanted ? sql.raw(wanted.map((c) => `s.${c}`).join(', ')) : sql`s.*`} FROM unnest(${arrivals.map((a) => a.shipmentId)}::bigint[], ${arrivals.map((a) => a.orgId)}::uuid[]) AS a(id, org_id)
    JOIN shipments s ON s.id = a.id AND s.org_id = a.org_id ORDER BY s.id`.execute(trx);
  return result.rows.map(facts);
}

/** Removes the evaluated arrivals (in the claiming transaction). */
export async function finishArrivals(trx: Db, shipmentIds: readonly string[]): Promise<void> {
  if (shipmentIds.length === 0) return;
  await sql`DELETE FROM shipment_arrivals WHERE shipment_id = ANY(${shipmentIds}::bigint[])`.execute(trx);
}

/** One shipment of an entity's history: its organisation, order and the columns an aggregate reads. */
export interface HistoryRow {
  orgId: string;
  id: number;
  createdAt: number;
  key: string;
  values: Record<string, unknown>;
}

/**
 * The shipments whose (org_id, `key` column) is one of `entities` and whose created_at is in
 * (`after`, `through`], with the `columns` asked for: one query for a whole batch's entities of
 * every organisation in it (each pair names its organisation, so no row of another one is read).
 * `except`: ids the caller already holds (the batch itself), left out so they are not sent back.
 */
export async function entityHistory(
  db: Db,
  key: string,
  entities: readonly { orgId: string; entity: string }[],
  columns: readonly string[],
  after: Date,
  through: Date,
  except: readonly string[] = [],
): Promise<HistoryRow[]> {
  if (entities.length === 0) return [];
  for (const c of [key, ...columns]) if (!SHIPMENT_COLUMNS.has(c)) throw new Error(`entityHistory: ${c} is not a shipment column`);
  const wanted = [...new Set(columns)];
  // Shaped so the plan stays a hash join whatever the estimates: under row-level security the
  // policy's OR makes PostgreSQL estimate 1 shipment row, and the join written as
  // `unnest(...) JOIN shipments` became a nested loop of every pair × every row (a burst of
  // 10,000 shipments of one organisation: 70 s). Rows are found by (org_id, created_at) and
  // matched to the pairs by hash: 24 ms for that burst, 0.4 s for the bench's 100,000.
  const orgIds = [...new Set(entities.map((e) => e.orgId))];
  const result = await sql<Record<string, unknown>>`
    SELECT s.org_id, s.id, s.created_at, s.${sql.ref(key)} AS entity_key${sql.raw(wanted.map((c) => `, s.${c}`).join(''))}
    FROM shipments s
    WHERE s.org_id = ANY(${orgIds}::uuid[])
      AND s.created_at > ${after.toISOString()}::timestamptz AND s.created_at <= ${through.toISOString()}::timestamptz
      AND (s.org_id, s.${sql.ref(key)}) IN (SELECT * FROM unnest(${entities.map((e) => e.orgId)}::uuid[], ${entities.map((e) => e.entity)}::text[]) OFFSET 0)
      ${except.length > 0 ? sql`AND NOT (s.id = ANY(${except}::bigint[]))` : sql``}`.execute(db);
  return result.rows.map((r) => {
    const values: Record<string, unknown> = {};
    for (const c of wanted) values[c] = r[c] ?? null;
    return { orgId: String(r['org_id']), id: Number(r['id']), createdAt: new Date(r['created_at'] as Date | string).getTime(), key: String(r['entity_key']), values };
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
