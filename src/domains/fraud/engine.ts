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
import { loadAggregates } from './aggregates.js';
import { aggregateKey, celFields, CelVelocity, celShipment, compileCriterion, type CelShipmentValue, type Compiled, type Outcome, type ShipmentRecord } from './cel.js';

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

/** The velocity of a criterion that reads none. */
const NO_VELOCITY = new CelVelocity(new Map());

/** One organisation's part of a batch: its shipments and its compiled criteria. */
export interface BatchPart {
  orgId: string;
  shipments: readonly ShipmentRecord[];
  criteria: readonly Compiled[];
}

/**
 * Evaluates each part's criteria on its shipments (aggregates of all parts read together); `visit`
 * gets each outcome, shipment by shipment and criterion by criterion in order.
 *
 * While PostgreSQL runs the history queries, the shipments are converted and the criteria that
 * use no aggregate are evaluated (their outcomes held, then visited in order with the others):
 * both cores work. `timings.history` is the wall time until the history is in hand (it includes
 * that overlapped work), `timings.cel` the evaluation time, overlapped or not.
 */
export async function evaluateBatch(
  db: Db,
  parts: readonly BatchPart[],
  visit: (part: number, shipment: ShipmentRecord, criterionIndex: number, outcome: Outcome) => void,
  timings?: { history: number; aggregates: number; cel: number },
): Promise<void> {
  const pending = loadAggregates(
    db,
    parts.map((p) => ({ orgId: p.orgId, targets: p.shipments, uses: aggregatesOf(p.criteria) })),
    timings,
  );
  // Handled from the start: the loop below yields the event loop before `pending` is awaited, and a
  // history query failing meanwhile (PostgreSQL restarting) would otherwise be an unhandled
  // rejection, which ends the process. It still rejects where it is awaited.
  pending.catch(() => undefined);
  const prepared: { shipments: CelShipmentValue[]; early: (Outcome | undefined)[] }[] = [];
  let t0 = performance.now();
  let cel = 0;
  try {
    for (const part of parts) {
      // The event loop turns between parts: the history statement is sent (the driver's chain of
      // promises goes on) and its rows are parsed as they come, between this work.
      cel += performance.now() - t0;
      await new Promise((resolve) => setImmediate(resolve));
      t0 = performance.now();
      const k = part.criteria.length;
      if (k === 0) {
        prepared.push({ shipments: [], early: [] });
        continue;
      }
      // Only the fields this part's criteria read are converted (all when one may read any).
      const fields = celFields(part.criteria.some((c) => c.fields === null) ? null : part.criteria.flatMap((c) => c.fields ?? []));
      const shipments = part.shipments.map((s) => celShipment(s, fields));
      const early = new Array<Outcome | undefined>(shipments.length * k);
      for (let i = 0; i < k; i++) {
        const c = part.criteria[i]!;
        if (c.aggregates.length > 0) continue;
        for (let j = 0; j < shipments.length; j++) early[j * k + i] = c.evaluate(shipments[j]!, NO_VELOCITY);
      }
      prepared.push({ shipments, early });
    }
  } catch (error) {
    await pending.catch(() => undefined); // not left running behind the error
    throw error;
  }
  if (timings) timings.cel += cel + performance.now() - t0;
  const tables = await pending;
  t0 = performance.now();
  for (const [pi, part] of parts.entries()) {
    const k = part.criteria.length;
    if (k === 0) continue;
    const { shipments, early } = prepared[pi]!;
    // One velocity per part: its table's cursor is moved to each shipment's row before evaluating
    // (evaluations are synchronous, and a match copies the values it shows).
    const table = tables[pi];
    const velocity = table ? new CelVelocity(table) : NO_VELOCITY;
    for (let j = 0; j < shipments.length; j++) {
      const s = part.shipments[j]!;
      if (table) table.row = j;
      for (let i = 0; i < k; i++) {
        let outcome = early[j * k + i];
        if (outcome === undefined) outcome = part.criteria[i]!.evaluate(shipments[j]!, velocity);
        visit(pi, s, i, outcome);
      }
    }
  }
  if (timings) timings.cel += performance.now() - t0;
}
