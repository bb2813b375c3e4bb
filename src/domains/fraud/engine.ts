/**
 * Evaluation of criteria over a batch of one organisation's shipments: compile (cached by
 * criterion version and the organisation's lists), compute the aggregates all of them need with
 * one history query per key, evaluate each shipment against each criterion.
 *
 * Invariants:
 * - The same shipments and stored history give the same outcomes (aggregates as of each
 *   shipment's creation time), whether in the detector, a re-evaluation or a backtest.
 * - A criterion's evaluation never throws: outcomes are match / no / absent / error (cel.ts).
 */
import type { AggregateUse } from '../../contracts/fraud.js';
import type { Db } from '../../platform/store/index.js';
import { loadAggregates, type AggregateValues } from './aggregates.js';
import { aggregateKey, celFields, CelVelocity, celShipment, compileCriterion, type Compiled, type Outcome, type ShipmentRecord } from './cel.js';

/** Compiled criteria, reused while the criterion version and the organisation's lists are the same. */
export class CompileCache {
  private readonly entries = new Map<string, { signature: string; compiled: Compiled | Error }>();

  has(key: string, signature: string): boolean {
    return this.entries.get(key)?.signature === signature;
  }

  /** The compiled criterion, or the Error its compilation gave (a criterion that no longer checks, e.g. a deleted list). */
  get(key: string, signature: string, expression: string, lists: () => ReadonlyMap<string, readonly string[]>): Compiled | Error {
    const hit = this.entries.get(key);
    if (hit && hit.signature === signature) return hit.compiled;
    let compiled: Compiled | Error;
    try {
      compiled = compileCriterion(expression, lists());
    } catch (e) {
      compiled = e instanceof Error ? e : new Error(String(e));
    }
    this.entries.set(key, { signature, compiled });
    return compiled;
  }
}

/** Every distinct aggregate the criteria use. */
export function aggregatesOf(criteria: readonly { aggregates: readonly AggregateUse[] }[]): AggregateUse[] {
  const uses = new Map<string, AggregateUse>();
  for (const c of criteria) for (const a of c.aggregates) uses.set(aggregateKey(a), a);
  return [...uses.values()];
}

/** The aggregates of a shipment whose criteria use none. */
const NO_VALUES: ReadonlyMap<string, number | boolean | null> = new Map();

/** One organisation's part of a batch: its shipments and its compiled criteria. */
export interface BatchPart {
  orgId: string;
  shipments: readonly ShipmentRecord[];
  criteria: readonly Compiled[];
}

/** Evaluates each part's criteria on its shipments (aggregates of all parts read together); `visit` gets each outcome. */
export async function evaluateBatch(
  db: Db,
  parts: readonly BatchPart[],
  visit: (part: number, shipment: ShipmentRecord, criterionIndex: number, outcome: Outcome) => void,
  timings?: { history: number; aggregates: number; cel: number },
): Promise<void> {
  const values: AggregateValues = await loadAggregates(
    db,
    parts.map((p) => ({ orgId: p.orgId, targets: p.shipments, uses: aggregatesOf(p.criteria) })),
    new Map(),
    timings,
  );
  const t0 = performance.now();
  for (const [pi, part] of parts.entries()) {
    if (part.criteria.length === 0) continue;
    // Only the fields this part's criteria read are converted (all when one may read any).
    const fields = celFields(part.criteria.some((c) => c.fields === null) ? null : part.criteria.flatMap((c) => c.fields ?? []));
    for (const s of part.shipments) {
      const shipment = celShipment(s, fields);
      const velocity = new CelVelocity(values.get(s.id) ?? NO_VALUES);
      for (let i = 0; i < part.criteria.length; i++) visit(pi, s, i, part.criteria[i]!.evaluate(shipment, velocity));
    }
  }
  if (timings) timings.cel += performance.now() - t0;
}
