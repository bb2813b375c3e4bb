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
 * - An absent key (or, for first, an absent field) on S gives null: the criterion reads `absent`.
 * - I/O: one history query per (organisation, key) for the whole batch (`loadAggregates`); the
 *   computation is in memory, sweeping each entity's sorted history once per aggregate.
 */
import type { AggregateUse } from '../../contracts/fraud.js';
import type { Db } from '../../platform/store/index.js';
import { entityHistory, type HistoryRow } from '../shipments/index.js';
import { aggregateKey, MAX_WINDOW_MS, windowMs, type ShipmentRecord } from './cel.js';

/** Aggregate values by shipment id, then by aggregateKey. */
export type AggregateValues = Map<string, Map<string, number | boolean | null>>;

interface Point {
  id: number;
  at: number;
  values: Record<string, unknown>;
}

/** (created_at, id) order of points and targets. */
const byTime = (a: { at: number; id: number }, b: { at: number; id: number }): number => a.at - b.at || a.id - b.id;

/** The look-back an aggregate needs before the oldest target. */
const lookBack = (a: AggregateUse): number => (a.window === null ? MAX_WINDOW_MS : (windowMs(a.window) ?? MAX_WINDOW_MS));

/**
 * Pure: the aggregates of `targets` (shipments of ONE organisation) from `history` (that
 * organisation's rows for the key, which may or may not include the targets themselves).
 */
export function computeAggregates(targets: readonly ShipmentRecord[], uses: readonly AggregateUse[], historyByKey: ReadonlyMap<string, readonly HistoryRow[]>, out: AggregateValues = new Map()): AggregateValues {
  // Each target once: its output map, id and time (read once, not per key and use).
  const all: Target[] = [];
  for (const t of targets) {
    let values = out.get(t.id);
    if (!values) out.set(t.id, (values = new Map()));
    all.push({ t, id: Number(t.id), at: t.created_at.getTime(), out: values });
  }
  const byKey = new Map<string, AggregateUse[]>();
  for (const u of uses) byKey.set(u.key, [...(byKey.get(u.key) ?? []), u]);
  for (const [key, keyUses] of byKey) {
    // Entities: key value → its points (history ∪ targets, each id once), sorted by (created_at, id).
    const entities = new Map<string, { points: Point[]; targets: Target[] }>();
    const entityOf = (k: string) => {
      let e = entities.get(k);
      if (!e) entities.set(k, (e = { points: [], targets: [] }));
      return e;
    };
    const held = new Map<number, string>(); // history id → its entity
    for (const h of historyByKey.get(key) ?? []) {
      if (held.get(h.id) === h.key) continue;
      held.set(h.id, h.key);
      entityOf(h.key).points.push({ id: h.id, at: h.createdAt, values: h.values });
    }
    const keys = keyUses.map(aggregateKey);
    for (const target of all) {
      const k = target.t[key];
      if (typeof k !== 'string') {
        for (const ak of keys) target.out.set(ak, null);
        continue;
      }
      const e = entityOf(k);
      if (held.get(target.id) !== k) e.points.push({ id: target.id, at: target.at, values: target.t });
      e.targets.push(target);
    }
    for (const e of entities.values()) {
      if (e.targets.length === 0) continue;
      e.points.sort(byTime);
      e.targets.sort(byTime);
      for (const [i, u] of keyUses.entries()) sweep(e.points, e.targets, u, keys[i]!);
    }
  }
  return out;
}

interface Target {
  t: ShipmentRecord;
  id: number;
  at: number;
  /** This target's values in the output. */
  out: Map<string, number | boolean | null>;
}

const numeric = (v: unknown): number | null => (v === null || v === undefined ? null : Number.isFinite(Number(v)) ? Number(v) : null);

/** One aggregate for the sorted targets of one entity: two pointers over its sorted points. */
function sweep(points: readonly Point[], targets: readonly Target[], u: AggregateUse, ak: string): void {
  const w = lookBack(u);
  let end = 0; // points[0, end) are at or before the current target (inclusive of it)
  let start = 0; // points[start, end) are inside the window
  let sum = 0;
  let present = 0; // non-null field values inside the window
  const counts = new Map<string, number>(); // distinct: value → occurrences inside the window
  const lastSeen = new Map<string, number>(); // first: value → latest created_at seen before
  for (const target of targets) {
    // Points at or before the target: (at, id) ≤ (target.at, target.id).
    while (end < points.length && (points[end]!.at < target.at || (points[end]!.at === target.at && points[end]!.id <= target.id))) {
      const p = points[end]!;
      if (u.kind === 'sum' || u.kind === 'avg') {
        const v = numeric(p.values[u.field!]);
        if (v !== null) {
          sum += v;
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
          sum -= v;
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
        value = sum;
        break;
      case 'distinct':
        value = counts.size;
        break;
      case 'avg': {
        const own = numeric(target.t[u.field!]);
        const n = present - (own === null ? 0 : 1);
        value = n <= 0 ? 0 : (sum - (own ?? 0)) / n;
        break;
      }
      case 'first':
        value = firstOf(points, end, target, u.field!, w, lastSeen);
        break;
    }
    target.out.set(ak, value);
  }
}

/** Whether no point before `target` (within the look-back) has the target's value of `field`. */
function firstOf(points: readonly Point[], end: number, target: Target, field: string, w: number, lastSeen: Map<string, number>): boolean | null {
  // lastSeen holds every point before index `seen`; extend it up to (not including) the target.
  const state = lastSeen as Map<string, number> & { seen?: number };
  let seen = state.seen ?? 0;
  while (seen < end) {
    const p = points[seen]!;
    if (p.id === target.id) break;
    const v = p.values[field];
    if (typeof v === 'string') state.set(v, Math.max(state.get(v) ?? -Infinity, p.at));
    seen++;
  }
  state.seen = seen;
  const own = target.t[field];
  if (typeof own !== 'string') return null;
  const last = state.get(own);
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
 * (each (organisation, entity) pair named), then `computeAggregates` per organisation.
 */
export async function loadAggregates(db: Db, batches: readonly OrgBatch[], out: AggregateValues = new Map(), timings?: { history: number; aggregates: number }): Promise<AggregateValues> {
  let t = performance.now();
  let oldest = Infinity;
  let newest = -Infinity;
  // Per key: its uses, and each organisation's entity values (a Set per organisation, no pair strings).
  const byKey = new Map<string, { uses: AggregateUse[]; entities: Map<string, Set<string>> }>();
  for (const b of batches) {
    if (b.uses.length === 0) continue;
    for (const t of b.targets) {
      const at = t.created_at.getTime();
      if (at < oldest) oldest = at;
      if (at > newest) newest = at;
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
  // adds the targets to their entities' points (100,000 of 129,000 sender rows in the bench).
  const except = batches.flatMap((b) => (b.uses.length > 0 ? b.targets.map((t) => Number(t.id)) : []));
  const history = new Map<string, Map<string, HistoryRow[]>>();
  for (const [key, { uses, entities }] of byKey) {
    const columns = [...new Set(uses.map((u) => u.field).filter((f): f is string => f !== null))];
    const back = Math.max(...uses.map(lookBack));
    for (const row of await entityHistory(db, key, entities, columns, new Date(oldest - back), new Date(newest), except)) {
      let org = history.get(row.orgId);
      if (!org) history.set(row.orgId, (org = new Map()));
      let rows = org.get(key);
      if (!rows) org.set(key, (rows = []));
      rows.push(row);
    }
  }
  if (timings) timings.history += performance.now() - t;
  t = performance.now();
  for (const b of batches) if (b.uses.length > 0) computeAggregates(b.targets, b.uses, history.get(b.orgId) ?? new Map(), out);
  if (timings) timings.aggregates += performance.now() - t;
  return out;
}
