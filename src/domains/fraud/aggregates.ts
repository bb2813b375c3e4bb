/**
 * Velocity aggregates of a batch of shipments, each as of its own creation time.
 *
 * Invariants:
 * - "As of" a shipment S: over the entity's shipments T with (T.created_at, T.id) ≤ (S.created_at,
 *   S.id) — ties by intake order — and, for windowed kinds, T.created_at > S.created_at − window.
 *   The answer depends only on stored data, never on the batch a shipment arrived in, so a
 *   re-evaluation or a backtest gives the same values (for shipments already stored then).
 * - count / sum / distinct include S; avg is over the EARLIER ones (0.0 when none, values that
 *   are null left out); first is true when no earlier shipment within MAX_WINDOW_MS has S's value.
 * - Sums are compensated (they do not drift as shipments enter and leave the window), and a stored
 *   value beyond what intake accepts today counts as that bound, so a sum is always finite.
 * - An absent key (or, for first, an absent field) on S gives null: the criterion reads `absent`.
 * - I/O: one history query per key for the whole batch, every organisation in it (`loadAggregates`);
 *   the computation is in memory, sweeping each entity's sorted history once per aggregate, into
 *   one table per organisation (`AggregateTable`: row i is the organisation's target i).
 */
import type { AggregateUse } from '../../contracts/fraud.js';
import { MAX_QUANTITY, MAX_USD_PER_UNIT } from '../../contracts/shipments.js';
import type { Db } from '../../platform/store/index.js';
import { entityHistory, idRuns, type HistoryRow } from '../shipments/index.js';
import { aggregateKey, MAX_WINDOW_MS, windowMs, type ShipmentRecord, type VelocityValues } from './cel.js';

/**
 * The aggregates of one organisation's targets: one row per target (in the order the targets were
 * given), one column per aggregate use, in a Float64Array (bench: a Map per shipment and a Map by
 * shipment id were most of the sweep's time and of the collector's). `row` is a cursor: `get`
 * reads the values of that target, so one table serves every evaluation of a batch part.
 */
export class AggregateTable implements VelocityValues {
  /** The target whose values `get` reads. */
  row = 0;
  private readonly slots = new Map<string, number>();
  /** Per column: a `first` aggregate (stored as 1/0, read as a bool). */
  private readonly bools: boolean[];
  private readonly width: number;
  private readonly data: Float64Array;
  /** 1 where the value is null (the key absent on that target). */
  private readonly absent: Uint8Array;

  constructor(
    readonly uses: readonly AggregateUse[],
    readonly rows: number,
  ) {
    for (const [i, u] of uses.entries()) this.slots.set(aggregateKey(u), i);
    this.bools = uses.map((u) => u.kind === 'first');
    this.width = uses.length;
    this.data = new Float64Array(rows * uses.length);
    this.absent = new Uint8Array(rows * uses.length);
  }

  set(row: number, column: number, value: number | boolean | null): void {
    const i = row * this.width + column;
    if (value === null) this.absent[i] = 1;
    else this.data[i] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }

  /** The value of an aggregate (by aggregateKey) for `row`. */
  at(row: number, key: string): number | boolean | null | undefined {
    const c = this.slots.get(key);
    if (c === undefined) return undefined;
    const i = row * this.width + c;
    if (this.absent[i] === 1) return null;
    const v = this.data[i]!;
    return this.bools[c] ? v === 1 : v;
  }

  get(key: string): number | boolean | null | undefined {
    return this.at(this.row, key);
  }
}

interface Point {
  id: number;
  at: number;
  values: Record<string, unknown>;
}

/** (created_at, id) order of points and targets. */
const byTime = (a: { at: number; id: number }, b: { at: number; id: number }): number => a.at - b.at || a.id - b.id;

/** Sorts by (created_at, id) unless already so (most entities' are: sort allocates even then). */
function sortByTime(a: { at: number; id: number }[]): void {
  for (let i = 1; i < a.length; i++) {
    if (byTime(a[i - 1]!, a[i]!) > 0) {
      a.sort(byTime);
      return;
    }
  }
}

/** The look-back an aggregate needs before the oldest target. */
const lookBack = (a: AggregateUse): number => (a.window === null ? MAX_WINDOW_MS : (windowMs(a.window) ?? MAX_WINDOW_MS));

/**
 * Pure: the aggregates of `targets` (shipments of ONE organisation) from `history` (that
 * organisation's rows for the key, which may or may not include the targets themselves); row i of
 * the table is targets[i].
 */
export function computeAggregates(targets: readonly ShipmentRecord[], uses: readonly AggregateUse[], historyByKey: ReadonlyMap<string, readonly HistoryRow[]>): AggregateTable {
  const table = new AggregateTable(uses, targets.length);
  // Each target once: it is also its own point in every key's entity (values: the record itself).
  const all: Target[] = targets.map((t, row) => ({ id: Number(t.id), at: t.created_at.getTime(), values: t, row }));
  const byKey = new Map<string, number[]>();
  for (const [i, u] of uses.entries()) {
    const columns = byKey.get(u.key);
    if (columns) columns.push(i);
    else byKey.set(u.key, [i]);
  }
  for (const [key, columns] of byKey) {
    // Entities: key value → its points (history ∪ targets, each id once), sorted by (created_at, id).
    const entities = new Map<string, { points: Point[]; targets: Target[] }>();
    const held = new Map<number, string>(); // history id → its entity
    for (const h of historyByKey.get(key) ?? []) {
      if (held.get(h.id) === h.key) continue;
      held.set(h.id, h.key);
      const point: Point = { id: h.id, at: h.createdAt, values: h.values };
      const e = entities.get(h.key);
      if (e) e.points.push(point);
      else entities.set(h.key, { points: [point], targets: [] });
    }
    for (const target of all) {
      const k = target.values[key];
      if (typeof k !== 'string') {
        for (const c of columns) table.set(target.row, c, null);
        continue;
      }
      const e = entities.get(k);
      if (!e) entities.set(k, { points: [target], targets: [target] });
      else {
        if (held.size === 0 || held.get(target.id) !== k) e.points.push(target);
        e.targets.push(target);
      }
    }
    for (const e of entities.values()) {
      if (e.targets.length === 0) continue;
      const only = e.targets[0]!;
      if (e.points.length === 1 && e.points[0] === only) {
        // An entity seen once, in this batch (most recipient addresses): no sweep, no Map.
        for (const c of columns) table.set(only.row, c, alone(only, uses[c]!));
        continue;
      }
      sortByTime(e.points);
      sortByTime(e.targets);
      for (const c of columns) sweep(e.points, e.targets, uses[c]!, table, c);
    }
  }
  return table;
}

/** A target is a point of its own entities, with its row in the table. */
interface Target extends Point {
  values: ShipmentRecord;
  row: number;
}

/**
 * The largest quantity intake stores, in US dollars (MAX_QUANTITY at MAX_USD_PER_UNIT). A stored
 * value beyond it (a row stored before the bounds existed) counts as this: two values near
 * Number.MAX_VALUE summed to Infinity, and a sliding sum that reached Infinity stayed so (Infinity
 * minus anything) for every later shipment of the entity, long after those values left the window.
 */
const LARGEST_QUANTITY = MAX_QUANTITY * MAX_USD_PER_UNIT;

function numeric(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  if (!Number.isFinite(n)) return null;
  return n > LARGEST_QUANTITY ? LARGEST_QUANTITY : n < -LARGEST_QUANTITY ? -LARGEST_QUANTITY : n;
}

/** An aggregate of a target that is its entity's only point: what `sweep` gives for one point. */
function alone(target: Target, u: AggregateUse): number | boolean | null {
  const v = u.field === null ? null : target.values[u.field];
  switch (u.kind) {
    case 'count':
      return 1;
    case 'sum':
      return 0 + (numeric(v) ?? 0); // as the sweep adds it (-0 becomes 0)
    case 'avg':
      return 0;
    case 'distinct':
      return typeof v === 'string' ? 1 : 0;
    case 'first':
      return typeof v === 'string' ? true : null;
  }
}

/** A `first` sweep's memory: value → latest created_at among points[0, seen). */
interface FirstState {
  seen: number;
  last: Map<string, number>;
}

/** The counts of a sweep that counts no distinct values (never written). */
const EMPTY: Map<string, number> = new Map();

/** One aggregate for the sorted targets of one entity: two pointers over its sorted points. */
function sweep(points: readonly Point[], targets: readonly Target[], u: AggregateUse, table: AggregateTable, column: number): void {
  const w = lookBack(u);
  let end = 0; // points[0, end) are at or before the current target (inclusive of it)
  let start = 0; // points[start, end) are inside the window
  // Neumaier's compensated sum: what a float addition loses is kept in `lost`, so values leaving
  // the window take away what they added (1e21 + 100 − 1e21 is 100, not 0) and a sum does not drift
  // with the order shipments were swept in (a backtest sweeps from another start than the detector).
  let sum = 0;
  let lost = 0;
  const add = (v: number) => {
    const t = sum + v;
    lost += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  };
  let present = 0; // non-null field values inside the window
  // Made only for the kinds that use them: most entities are one or two shipments, and a Map per
  // entity and use was most of the sweep's garbage.
  const counts = u.kind === 'distinct' ? new Map<string, number>() : EMPTY; // distinct: value → occurrences inside the window
  const first: FirstState | null = u.kind === 'first' ? { seen: 0, last: new Map() } : null;
  for (const target of targets) {
    // Points at or before the target: (at, id) ≤ (target.at, target.id).
    while (end < points.length && (points[end]!.at < target.at || (points[end]!.at === target.at && points[end]!.id <= target.id))) {
      const p = points[end]!;
      if (u.kind === 'sum' || u.kind === 'avg') {
        const v = numeric(p.values[u.field!]);
        if (v !== null) {
          add(v);
          present++;
        }
      } else if (u.kind === 'distinct') {
        const v = p.values[u.field!];
        if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      end++;
    }
    // For `first`, the target itself must not count as "seen before": record points lazily below.
    while (start < end && points[start]!.at <= target.at - w) {
      const p = points[start]!;
      if (u.kind === 'sum' || u.kind === 'avg') {
        const v = numeric(p.values[u.field!]);
        if (v !== null) {
          add(-v);
          present--;
        }
      } else if (u.kind === 'distinct') {
        const v = p.values[u.field!];
        if (typeof v === 'string') {
          const n = (counts.get(v) ?? 1) - 1;
          if (n === 0) counts.delete(v);
          else counts.set(v, n);
        }
      }
      start++;
    }
    let value: number | boolean | null;
    switch (u.kind) {
      case 'count':
        value = end - start;
        break;
      case 'sum':
        value = sum + lost;
        break;
      case 'distinct':
        value = counts.size;
        break;
      case 'avg': {
        const own = numeric(target.values[u.field!]);
        const n = present - (own === null ? 0 : 1);
        value = n <= 0 ? 0 : (sum + lost - (own ?? 0)) / n;
        break;
      }
      case 'first':
        value = firstOf(points, end, target, u.field!, w, first!);
        break;
    }
    table.set(target.row, column, value);
  }
}

/** Whether no point before `target` (within the look-back) has the target's value of `field`. */
function firstOf(points: readonly Point[], end: number, target: Target, field: string, w: number, state: FirstState): boolean | null {
  // state.last holds every point before index `seen`; extend it up to (not including) the target.
  let seen = state.seen;
  while (seen < end) {
    const p = points[seen]!;
    if (p.id === target.id) break;
    const v = p.values[field];
    if (typeof v === 'string') state.last.set(v, Math.max(state.last.get(v) ?? -Infinity, p.at));
    seen++;
  }
  state.seen = seen;
  const own = target.values[field];
  if (typeof own !== 'string') return null;
  const last = state.last.get(own);
  return last === undefined || last <= target.at - w;
}

/** One organisation's part of a batch: its shipments and the aggregates its criteria use. */
export interface OrgBatch {
  orgId: string;
  targets: readonly ShipmentRecord[];
  uses: readonly AggregateUse[];
}

/**
 * The aggregates of a batch of several organisations: ONE history query per key for all of them
 * (each (organisation, entity) pair named), then `computeAggregates` per organisation. Answers a
 * table per batch (null for a batch whose criteria use no aggregate), in the batches' order.
 */
export async function loadAggregates(db: Db, batches: readonly OrgBatch[], timings?: { history: number; aggregates: number }): Promise<(AggregateTable | null)[]> {
  let t = performance.now();
  let oldest = Infinity;
  let newest = -Infinity;
  // Per key: its uses, and each organisation's entity values (a Set per organisation, no pair strings).
  const byKey = new Map<string, { uses: AggregateUse[]; entities: Map<string, Set<string>> }>();
  const except: number[] = [];
  for (const b of batches) {
    if (b.uses.length === 0) continue;
    for (const t of b.targets) {
      const at = t.created_at.getTime();
      if (at < oldest) oldest = at;
      if (at > newest) newest = at;
      except.push(Number(t.id));
    }
    const keysHere = new Set<string>();
    for (const u of b.uses) {
      let k = byKey.get(u.key);
      if (!k) byKey.set(u.key, (k = { uses: [], entities: new Map() }));
      k.uses.push(u);
      keysHere.add(u.key);
    }
    // Once per key, not per use (count, sum and first of sender_id share the sender entities).
    for (const key of keysHere) {
      const entities = byKey.get(key)!.entities;
      let values = entities.get(b.orgId);
      if (!values) entities.set(b.orgId, (values = new Set()));
      for (const t of b.targets) {
        const v = t[key];
        if (typeof v === 'string') values.add(v);
      }
    }
  }
  // Rows by organisation, then by key. The batch's own shipments are not read back: computeAggregates
  // adds the targets to their entities' points (100,000 of 129,000 sender rows in the bench); they
  // are named by their runs, made once for every key's query.
  const runs = idRuns(except);
  const history = new Map<string, Map<string, HistoryRow[]>>();
  for (const [key, { uses, entities }] of byKey) {
    const columns = [...new Set(uses.map((u) => u.field).filter((f): f is string => f !== null))];
    const back = Math.max(...uses.map(lookBack));
    for (const row of await entityHistory(db, key, entities, columns, new Date(oldest - back), new Date(newest), runs)) {
      let org = history.get(row.orgId);
      if (!org) history.set(row.orgId, (org = new Map()));
      let rows = org.get(key);
      if (!rows) org.set(key, (rows = []));
      rows.push(row);
    }
  }
  if (timings) timings.history += performance.now() - t;
  t = performance.now();
  const tables = batches.map((b) => (b.uses.length > 0 ? computeAggregates(b.targets, b.uses, history.get(b.orgId) ?? new Map()) : null));
  if (timings) timings.aggregates += performance.now() - t;
  return tables;
}
