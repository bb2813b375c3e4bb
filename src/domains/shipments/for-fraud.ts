/**
 * What the fraud domain reads of the shipments domain: the arrivals queue its detector claims,
 * the velocity history of entities, and a range of an organisation's shipments for backtests.
 *
 * Invariants:
 * - Arrivals (one row per intake statement and organisation, holding the ids) are claimed with FOR
 *   UPDATE SKIP LOCKED and deleted or shrunk inside the caller's transaction (`claimArrivals`): a
 *   crash before commit leaves them queued (the delete rolls back), two detectors never take the
 *   same one (a locked row is skipped until the transaction holding it ends), and a shipment
 *   committed late (smaller id, later commit) is still found — nothing is skipped, nothing is
 *   evaluated twice by committed work.
 * - A batch is named to PostgreSQL by its runs of consecutive ids (`IdRuns`), not by a list of
 *   ids: every id inside a run is one of the batch's, so a statement bounded by the runs reads
 *   exactly the batch (a shipment committed late into the id range is not in a run). Arrivals come
 *   in id order, so 100,000 shipments are one run or a few (bench: passing them as arrays of
 *   100,000 ids cost 0.3 s of serialising in the driver and parsing in the server). The exception
 *   is a fragmented claim (a lane's or one organisation's share of a bulk interleaving several
 *   organisations: about one run per id), which `arrivedShipments` reads by its ids.
 * - Every read but the claim (which is the detector's documented cross-organisation path) filters
 *   by one organisation.
 * - `onArrivals` is an in-process nudge only (wakes a detector in the same process right after an
 *   intake commits); detectors in other processes poll.
 */
import { sql } from 'kysely';
import { pgArray, type Db } from '../../platform/store/index.js';
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
 * created_at as epoch milliseconds (float8): the driver parses a number ~10× faster than a
 * timestamp text into a Date. Whole milliseconds, rounded down as a Date made from the text is.
 */
const CREATED_MS = sql.raw('floor(extract(epoch FROM s.created_at) * 1000)::float8');

/** A batch of shipment ids as sorted runs of consecutive ids: run i is lo[i]..hi[i] (both included). */
export interface IdRuns {
  lo: number[];
  hi: number[];
}

/** The runs of these ids (any order, duplicates allowed). */
export function idRuns(ids: Iterable<number>): IdRuns {
  const sorted = Float64Array.from(ids).sort();
  const runs: IdRuns = { lo: [], hi: [] };
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i]!;
    const last = runs.hi.length - 1;
    if (last >= 0 && id <= runs.hi[last]! + 1) runs.hi[last] = Math.max(runs.hi[last]!, id);
    else {
      runs.lo.push(id);
      runs.hi.push(id);
    }
  }
  return runs;
}


/** Whose arrivals a claim (or waitingOrgs) may take; every condition given must hold. Default: every organisation's. */
export interface ClaimScope {
  /** Only this organisation's arrivals. */
  onlyOrg?: string;
  /** None of these organisations' arrivals (set aside after failing). */
  exceptOrgs?: readonly string[];
  /** Only the organisations of lane `index` of `of` (split by a hash of their id). */
  lane?: { index: number; of: number };
}

/** The arrivals' condition for a scope (`AND …`, or nothing). */
function scopeFilter(scope: ClaimScope) {
  const only = scope.onlyOrg === undefined ? sql`` : sql`AND org_id = ${scope.onlyOrg}`;
  const except = scope.exceptOrgs?.length ? sql`AND NOT (org_id = ANY(${[...scope.exceptOrgs]}::uuid[]))` : sql``;
  // hashtext is int4: shifted to be non-negative before the modulo.
  const lane = scope.lane && scope.lane.of > 1 ? sql`AND mod(hashtext(org_id::text)::bigint + 2147483648, ${scope.lane.of}) = ${scope.lane.index}` : sql``;
  return sql`${only} ${except} ${lane}`;
}

/**
 * Claims and removes up to `limit` unevaluated shipments of the scope (the oldest intake statements
 * first), across organisations, in the caller's transaction, which holds them until it ends (a
 * rollback puts them back). Run inside a transaction.
 *
 * Arrival rows (migration 021) are one per intake statement and organisation: the oldest rows up
 * to `limit` shipments (a running sum) are locked, SKIP LOCKED passing over those another detector
 * holds (then the next rows are tried), and deleted; the row that crosses `limit` gives its lowest
 * ids and keeps the rest queued.
 */
export async function claimArrivals(trx: Db, limit: number, scope: ClaimScope = {}): Promise<{ shipmentId: string; orgId: string }[]> {
  const claimed: { shipmentId: string; orgId: string }[] = [];
  const emptied: string[] = [];
  let shrunk: { id: string; rest: [number, number][] } | undefined;
  // Rows seen locked by another claim, or taken here: the next round looks past them. A few
  // rounds at most: each either fills the claim, or finds rows it could not lock and skips them.
  const passed: string[] = [];
  for (let round = 0; round < CLAIM_ROUNDS && claimed.length < limit && !shrunk; round++) {
    const need = limit - claimed.length;
    // The candidates (read without locks): the oldest rows up to `need` shipments.
    const { rows: candidates } = await sql<{ id: string }>`
      SELECT id FROM (
        SELECT id, sum(shipments) OVER (ORDER BY id) - shipments AS before
        FROM shipment_arrival_batches WHERE true ${scopeFilter(scope)} ${passed.length > 0 ? sql`AND NOT (id = ANY(${pgArray(passed)}::int8[]))` : sql``}
        ORDER BY id LIMIT ${need}) c
      WHERE before < ${need}`.execute(trx);
    if (candidates.length === 0) break;
    // Locked as they are now (a row another claim shrank and committed comes with its rest).
    const { rows } = await sql<{ id: string; org_id: string; ids: string }>`
      SELECT id, org_id, ids::text AS ids FROM shipment_arrival_batches
      WHERE id = ANY(${pgArray(candidates.map((c) => String(c.id)))}::int8[]) ORDER BY id FOR UPDATE SKIP LOCKED`.execute(trx);
    passed.push(...candidates.map((c) => String(c.id)));
    for (const row of rows) {
      if (claimed.length >= limit) break;
      const rest: [number, number][] = [];
      for (const [lo, hi] of multirangeBounds(row.ids)) {
        const end = Math.min(hi, lo + Math.max(0, limit - claimed.length));
        for (let id = lo; id < end; id++) claimed.push({ shipmentId: String(id), orgId: row.org_id });
        if (end < hi) rest.push([end, hi]);
      }
      if (rest.length === 0) emptied.push(String(row.id));
      else shrunk = { id: String(row.id), rest };
    }
  }
  if (emptied.length > 0) await sql`DELETE FROM shipment_arrival_batches WHERE id = ANY(${pgArray(emptied)}::int8[])`.execute(trx);
  if (shrunk) {
    const ids = `{${shrunk.rest.map(([lo, hi]) => `[${lo},${hi})`).join(',')}}`;
    const shipments = shrunk.rest.reduce((n, [lo, hi]) => n + hi - lo, 0);
    await sql`UPDATE shipment_arrival_batches SET ids = ${ids}::int8multirange, shipments = ${shipments} WHERE id = ${shrunk.id}`.execute(trx);
  }
  return claimed;
}

/** Rounds of a claim at most (claimArrivals): past rows other claims hold, without looping on a busy queue. */
const CLAIM_ROUNDS = 4;

/** The [lower, upper) bounds of an int8multirange's text (PostgreSQL writes integer ranges in that canonical form). */
function multirangeBounds(text: string): [number, number][] {
  const bounds: [number, number][] = [];
  for (const m of text.matchAll(/\[(-?\d+),(-?\d+)\)/g)) bounds.push([Number(m[1]), Number(m[2])]);
  return bounds;
}

/**
 * Claimed shipments, each read under the organisation its arrival names (one query for all of
 * them, bounded by the claim's id runs: an index range scan per run), in id order.
 * `columns`: only these (with id, org_id, external_id and created_at; attributes {} unless asked
 * for) — the criteria's fields, not all 30 (bench: 100,000 rows 1.0–1.5 s → 0.75 s); all when omitted.
 */
export async function arrivedShipments(trx: Db, arrivals: readonly { shipmentId: string; orgId: string }[], columns?: readonly string[]): Promise<ShipmentFacts[]> {
  if (arrivals.length === 0) return [];
  for (const c of columns ?? SHIPMENT_COLUMNS) if (!SHIPMENT_COLUMNS.has(c)) throw new Error(`arrivedShipments: ${c} is not a shipment column`);
  const wanted = [...new Set(columns ?? SHIPMENT_COLUMNS)].filter((c) => c !== 'external_id' && c !== 'created_at');
  const orgOf = new Map(arrivals.map((a) => [Number(a.shipmentId), a.orgId]));
  const runs = idRuns(orgOf.keys());
  const orgIds = [...new Set(orgOf.values())];
  // Runs when the claim is mostly consecutive ids; the ids themselves when it is fragmented (a
  // detector lane takes some organisations' shipments out of a bulk that interleaves them): the
  // range join is then planned as a nested loop over every run (100,000 shipments: 300 s).
  const fragmented = runs.lo.length > 64 && runs.lo.length * 4 > orgOf.size;
  const from = fragmented
    ? sql`unnest(${pgArray([...orgOf.keys()])}::bigint[]) AS a(id) JOIN shipments s ON s.id = a.id`
    : sql`unnest(${pgArray(runs.lo)}::bigint[], ${pgArray(runs.hi)}::bigint[]) AS r(lo, hi) JOIN shipments s ON s.id BETWEEN r.lo AND r.hi`;
  const result = await sql<Record<string, unknown>>`
    SELECT s.id, s.org_id, s.external_id, ${CREATED_MS} AS created_ms${sql.raw(wanted.map((c) => `, s.${c}`).join(''))}
    FROM ${from}
    WHERE s.org_id = ANY(${orgIds}::uuid[])`.execute(trx);
  const out: ShipmentFacts[] = [];
  for (const r of result.rows) {
    const id = String(r['id']);
    const orgId = String(r['org_id']);
    // Every id of a run was claimed; the arrival's organisation must be the shipment's.
    if (orgOf.get(Number(id)) !== orgId) continue;
    const f: ShipmentFacts = { id, org_id: orgId, external_id: String(r['external_id']), created_at: new Date(r['created_ms'] as number), attributes: {} };
    for (const c of wanted) if (c !== 'attributes') f[c] = r[c] ?? null;
    if (wanted.includes('attributes')) f.attributes = typeof r['attributes'] === 'string' ? (JSON.parse(r['attributes']) as Record<string, unknown>) : ((r['attributes'] as Record<string, unknown> | null) ?? {});
    out.push(f);
  }
  // In id order: a heap scan returns them so or nearly (sorted here, not by a sort spilling to disk there).
  for (let i = 1; i < out.length; i++) if (Number(out[i - 1]!.id) > Number(out[i]!.id)) return out.sort((a, b) => Number(a.id) - Number(b.id));
  return out;
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
 * The shipments whose (org_id, `key` column) is one of `entities` (organisation → its entity
 * values) and whose created_at is in (`after`, `through`], with the `columns` asked for: one query
 * for a whole batch's entities of every organisation in it (each pair names its organisation, so
 * no row of another one is read). `except`: the runs (`idRuns`) of the ids the caller already
 * holds (the batch itself), left out so they are not sent back.
 */
export async function entityHistory(
  db: Db,
  key: string,
  entities: ReadonlyMap<string, ReadonlySet<string>>,
  columns: readonly string[],
  after: Date,
  through: Date,
  except: IdRuns = { lo: [], hi: [] },
): Promise<HistoryRow[]> {
  // The pairs as (organisation number, value): an organisation's uuid is sent once, not with each of its values.
  const orgIds: string[] = [];
  const pairOrg: number[] = [];
  const pairValue: string[] = [];
  for (const [orgId, values] of entities) {
    if (values.size === 0) continue;
    orgIds.push(orgId);
    for (const v of values) {
      pairOrg.push(orgIds.length);
      pairValue.push(v);
    }
  }
  if (pairValue.length === 0) return [];
  for (const c of [key, ...columns]) if (!SHIPMENT_COLUMNS.has(c)) throw new Error(`entityHistory: ${c} is not a shipment column`);
  const wanted = [...new Set(columns)];
  const runs = except;
  // Shaped so the plan stays a hash join whatever the estimates: under row-level security the
  // policy's OR makes PostgreSQL estimate 1 shipment row, and the join written as
  // `unnest(...) JOIN shipments` became a nested loop of every pair × every row (a burst of
  // 10,000 shipments of one organisation: 70 s). Rows are found by (org_id, created_at) and
  // matched to the pairs by hash: 24 ms for that burst, 0.4 s for the bench's 100,000. (The pairs
  // taken from the stored batch by its id runs instead were estimated at 1 row: a nested loop, 109 s.)
  // The runs left out go as two int8[] that PostgreSQL makes into one multirange per query (an
  // InitPlan; containment is a binary search): a lane's share of a bulk is ~50,000 runs of one id,
  // whose multirange literal took 0.34 s to parse, the arrays 7 ms and range_agg ~50 ms. (A hashed
  // NOT IN is faster still, but becomes a linear search per row once the ids outgrow work_mem.)
  const result = await sql<Record<string, unknown>>`
    SELECT s.org_id, s.id, ${CREATED_MS} AS created_ms, s.${sql.ref(key)} AS entity_key${sql.raw(wanted.map((c) => `, s.${c}`).join(''))}
    FROM shipments s
    WHERE s.org_id = ANY(${orgIds}::uuid[])
      AND s.created_at > ${after.toISOString()}::timestamptz AND s.created_at <= ${through.toISOString()}::timestamptz
      AND (s.org_id, s.${sql.ref(key)}) IN (SELECT (${orgIds}::uuid[])[p.o], p.v FROM unnest(${pgArray(pairOrg)}::int4[], ${pgArray(pairValue)}::text[]) AS p(o, v) OFFSET 0)
      ${runs.lo.length > 0 ? sql`AND NOT ((SELECT range_agg(int8range(r.lo, r.hi, '[]')) FROM unnest(${pgArray(runs.lo)}::int8[], ${pgArray(runs.hi)}::int8[]) AS r(lo, hi)) @> s.id)` : sql``}`.execute(db);
  return result.rows.map((r) => {
    const values: Record<string, unknown> = {};
    for (const c of wanted) values[c] = r[c] ?? null;
    return { orgId: String(r['org_id']), id: Number(r['id']), createdAt: r['created_ms'] as number, key: String(r['entity_key']), values };
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

/** The organisations with arrivals waiting in a scope (oldest arrival first). */
export async function waitingOrgs(db: Db, scope: ClaimScope): Promise<string[]> {
  const result = await sql<{ org_id: string }>`
    SELECT org_id FROM shipment_arrival_batches WHERE true ${scopeFilter(scope)} GROUP BY org_id ORDER BY min(id)`.execute(db);
  return result.rows.map((r) => r.org_id);
}
