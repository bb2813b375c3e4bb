/**
 * The fraud detector: evaluates every new shipment against every active criterion version of its
 * organisation and stores one `fraud_alerts` row per (criterion, version, shipment) that matched.
 *
 * Invariants:
 * - Exactly once: a chunk of arrivals is claimed and deleted (FOR UPDATE SKIP LOCKED;
 *   shipments/for-fraud.ts), evaluated, its alerts inserted (ON CONFLICT DO NOTHING) and the NEW ones reported
 *   to the alert manager, all in ONE transaction. A crash (kill -9) before the commit leaves the
 *   arrivals queued and nothing stored; after it, nothing is left to redo. Concurrent detectors take disjoint
 *   chunks. A shipment committed late is still in the queue (never skipped, unlike a cursor on
 *   shipments.id).
 * - Shadow-mode criteria store their alerts (shadow = true) and never report them.
 * - An absent value (cel.ts) means no match. A criterion whose evaluation fails (division by zero,
 *   overflow…) or that no longer compiles (e.g. a list it names was deleted) is paused with the
 *   reason and an audit entry; the other criteria go on, and so does the batch.
 * - Alert manager: the new, non-shadow alerts are reported in the same transaction, as reports.ts
 *   says: one report per (criterion version, group-by values) of the transaction, labelled with
 *   its detection time, so each burst is a new instance that the manager tells once in its
 *   group's next digest.
 * - Lanes (VIGIL_FRAUD_LANES; the configuration holds its default): organisations are split by a
 *   hash of their id into lanes that run one transaction each at the same time (two cores: Node
 *   evaluates one lane's chunk while PostgreSQL writes another's); an organisation is in one lane
 *   only, so its chunks are still one at a time in this process and no two lanes lock the same
 *   alert groups.
 * - One organisation cannot stall the others: a chunk failing ISOLATE_AFTER times in a row (the
 *   database reachable) is retried one organisation at a time; an organisation whose own chunk
 *   still fails is set aside (its arrivals stay queued, nothing of it is lost or skipped) and tried
 *   again after a back-off doubling from a minute to an hour, logged each time with its id. A
 *   drain (drainArrivals: the bench, tests) runs the same lane loop and ends when its lanes find
 *   nothing left to claim.
 * - Cross-organisation work is declared: asSystem(...).
 */
import type { Logger } from 'pino';
import { loadSetting } from '../../config.js';
import { asSystem, transactionWithCopy, type Store } from '../../platform/store/index.js';
import type { Worker } from '../../platform/worker.js';
import { reportConditions, type ManagerOptions } from '../alerting/index.js';
import { isUnavailableError } from '../../platform/outage.js';
import { arrivedShipments, claimArrivals, onArrivals, waitingOrgs, type ClaimScope, type ShipmentFacts } from '../shipments/index.js';
import { SHIPMENT_CEL_FIELDS } from '../../contracts/fraud.js';
import type { Compiled } from './cel.js';
import { CompileCache, evaluateBatch } from './engine.js';
import { activeCriteria, insertAlerts, listSignatures, listsOfOrgs, pauseCriterion, type ActiveCriterion, type NewAlert } from './engine-store.js';
import { labelsOf, reportsOf } from './reports.js';

/** Shipments claimed per transaction when not told: VIGIL_FRAUD_CHUNK's default (config.ts says why that size). */
const DEFAULT_CHUNK = loadSetting('VIGIL_FRAUD_CHUNK', {});
const FIELD_NAMES: ReadonlySet<string> = new Set(SHIPMENT_CEL_FIELDS.map((f) => f.name));
const SYSTEM_REASON = "fraud detector: evaluates every organisation's new shipments";

export interface DetectOptions extends ManagerOptions {
  /** Shipments per transaction (default: VIGIL_FRAUD_CHUNK's default). */
  chunk?: number;
  /** Whose arrivals to claim (default: every organisation's). */
  scope?: ClaimScope;
}

export interface EvaluateStages {
  claim: number;
  read: number;
  criteria: number;
  history: number;
  aggregates: number;
  cel: number;
}

export interface DetectResult {
  shipments: number;
  alerts: number;
  reported: number;
  paused: number;
  /**
   * Milliseconds spent evaluating (aggregates included), storing alerts, and in the alert manager;
   * `stages` splits `evaluate` (claim, shipment reads, criteria and lists, history queries,
   * aggregate sweeps, CEL evaluation) so a profile per stage needs no profiler. The history
   * stage is wall time and includes the CEL work done while its queries run, so the stages may
   * add up to more than `evaluate`.
   */
  ms: { evaluate: number; store: number; manager: number; stages: EvaluateStages };
}

/** Claims and evaluates one chunk of arrivals in one transaction. */
export async function detectChunk(store: Store, cache: CompileCache, now: Date, options: DetectOptions = {}): Promise<DetectResult> {
  return asSystem(SYSTEM_REASON, () =>
    // With COPY: the alert manager stages its thousands of rows by COPY (bulkRows), ~4× faster than as jsonb.
    transactionWithCopy(store, async (trx) => {
      const started = performance.now();
      let mark = started;
      const lap = () => {
        const t = performance.now();
        const ms = t - mark;
        mark = t;
        return ms;
      };
      const claimed = await claimArrivals(trx, options.chunk ?? DEFAULT_CHUNK, options.scope);
      const result: DetectResult = { shipments: claimed.length, alerts: 0, reported: 0, paused: 0, ms: { evaluate: 0, store: 0, manager: 0, stages: { claim: 0, read: 0, criteria: 0, history: 0, aggregates: 0, cel: 0 } } };
      const stages = result.ms.stages;
      if (claimed.length === 0) return result;
      stages.claim = lap();
      const criteria = await activeCriteria(trx, [...new Set(claimed.map((a) => a.orgId))]);
      // Only the shipments of organisations with active criteria are read.
      const orgIds = [...new Set(criteria.map((c) => c.orgId))].sort();
      const byOrg = new Map<string, ShipmentFacts[]>(orgIds.map((o) => [o, []]));
      const signatures = await listSignatures(trx, orgIds);
      const alerts: NewAlert[] = [];
      const groupLabels = new Map<string, Record<string, string>>();
      const pauses: { c: ActiveCriterion; reason: string }[] = [];
      const parts: { orgId: string; runnable: { c: ActiveCriterion; compiled: Compiled }[]; shipments: ShipmentFacts[] }[] = [];
      const criteriaOf = new Map<string, ActiveCriterion[]>(orgIds.map((o) => [o, []]));
      for (const c of criteria) criteriaOf.get(c.orgId)!.push(c);
      // The lists' items are read only for organisations with a criterion to (re)compile, in one go.
      const listsOfOrg = await listsOfOrgs(
        trx,
        orgIds.filter((o) => criteriaOf.get(o)!.some((c) => !cache.has(`${c.id}|${c.version}`, signatures.get(o) ?? ''))),
      );
      for (const orgId of orgIds) {
        const own = criteriaOf.get(orgId)!;
        if (own.length === 0) continue;
        const signature = signatures.get(orgId) ?? '';
        const lists = listsOfOrg.get(orgId) ?? new Map<string, string[]>();
        const runnable: { c: ActiveCriterion; compiled: Compiled }[] = [];
        for (const c of own) {
          const compiled = cache.get(`${c.id}|${c.version}`, signature, c.expression, () => lists);
          if (compiled instanceof Error) pauses.push({ c, reason: `the expression no longer checks: ${compiled.message}` });
          else runnable.push({ c, compiled });
        }
        parts.push({ orgId, runnable, shipments: byOrg.get(orgId)! });
      }
      stages.criteria += lap();
      // Only the columns the runnable criteria read (fields, aggregate keys and fields, group-by labels).
      const columns = new Set<string>();
      let allColumns = false;
      for (const p of parts)
        for (const { c, compiled } of p.runnable) {
          if (compiled.fields === null) allColumns = true;
          else for (const f of compiled.fields) columns.add(f);
          for (const a of compiled.aggregates) for (const f of [a.key, a.field]) if (f !== null) columns.add(f);
          for (const g of c.groupBy) if (FIELD_NAMES.has(g)) columns.add(g);
        }
      for (const s of await arrivedShipments(trx, claimed.filter((a) => byOrg.has(a.orgId)), allColumns ? undefined : [...columns])) byOrg.get(s.org_id)!.push(s);
      stages.read = lap();
      const failed = new Map<ActiveCriterion, string>();
      await evaluateBatch(
        trx,
        parts.map((p) => ({ orgId: p.orgId, shipments: p.shipments, criteria: p.runnable.map((r) => r.compiled) })),
        (pi, s, i, outcome) => {
          const part = parts[pi]!;
          const c = part.runnable[i]!.c;
          if (outcome.kind === 'error') {
            if (!failed.has(c)) failed.set(c, `evaluation failed on shipment ${s.external_id}: ${outcome.message}`);
            return;
          }
          if (outcome.kind !== 'match') return;
          alerts.push({
            orgId: part.orgId,
            criterionId: c.id,
            version: c.version,
            shipmentId: s.id,
            externalId: s.external_id,
            shipmentCreatedAt: s.created_at,
            shadow: c.shadow,
            severity: c.severity,
            values: outcome.values,
          });
          if (!c.shadow) groupLabels.set(`${c.id}|${c.version}|${s.id}`, labelsOf(c, s));
        },
        stages,
      );
      for (const [c, reason] of failed) pauses.push({ c, reason });
      lap();
      // Wall time: the stages overlap (CEL runs while PostgreSQL reads the history, see evaluateBatch).
      result.ms.evaluate = mark - started;
      const inserted = await insertAlerts(trx, alerts, now);
      result.alerts = inserted.size;
      for (const p of pauses) if (await pauseCriterion(trx, p.c.orgId, p.c.id, p.c.version, p.reason, now)) result.paused++;
      result.ms.store = lap();
      const reports = reportsOf(alerts, inserted, groupLabels, criteria, now);
      result.reported = reports.length;
      if (reports.length > 0) await reportConditions(trx, reports, now, options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl });
      result.ms.manager = lap();
      return result;
    }),
  );
}

/** Failures in a row (the database reachable) before the organisations are tried one at a time. */
const ISOLATE_AFTER = 3;

/**
 * Lane `index` of `of`: organisations are split by a hash of their id and each lane runs one
 * transaction at a time, so one lane's evaluation in Node overlaps another's statements in
 * PostgreSQL, while an organisation stays in one lane (its history read once per chunk, its alert
 * groups locked by one transaction at a time).
 */
const laneScope = (index: number, of: number): ClaimScope => (of > 1 ? { lane: { index, of } } : {});

/** A detector's lanes claim by their own scopes (lane, organisations set aside), not a caller's. */
export interface DetectorDeps extends Omit<DetectOptions, 'scope'> {
  store: Store;
  logger: Logger;
  /** Poll for arrivals of other processes this often (default 1000 ms); an intake in this process wakes it at once. */
  pollMs?: number;
  /** Concurrent lanes (VIGIL_FRAUD_LANES: the configuration holds its default). */
  lanes: number;
}

/**
 * The lane loops of one detector (the worker's, or a drain's); its lanes share the compile cache
 * and the organisations set aside.
 *
 * A lane claims and evaluates chunks of its organisations' arrivals while there are any. A chunk
 * failing ISOLATE_AFTER times in a row (the database reachable) is retried one organisation at a
 * time; an organisation whose own chunk still fails is set aside (its arrivals stay queued) for a
 * back-off doubling from a minute to an hour. When nothing is left to claim, the worker's lane
 * waits for a nudge or the poll interval; a drain's lane ends. Where the worker's lane would go on
 * retrying without end (the database unreachable, or the organisations could not even be listed),
 * a drain's lane fails with the error.
 */
class Lanes {
  private stopped = false;
  /** How many lanes (at least one). */
  readonly count: number;
  private readonly wakers = new Set<() => void>();
  /** Organisations whose own chunk kept failing: not claimed until `until`. */
  private readonly setAside = new Map<string, { until: number; times: number }>();

  constructor(
    private readonly deps: DetectorDeps & { drain: boolean; onResult?: (r: DetectResult) => void },
    private readonly cache: CompileCache,
  ) {
    this.count = Math.max(1, deps.lanes);
  }

  /** Every lane's loop, at once. */
  runAll(): Promise<void>[] {
    return Array.from({ length: this.count }, (_, i) => this.run(i));
  }

  /** Wakes every waiting lane (new arrivals in this process, or stopping). */
  nudge(): void {
    for (const nudge of this.wakers) nudge();
  }

  stop(): void {
    this.stopped = true;
    this.nudge();
  }

  private excluded(): string[] {
    return [...this.setAside].filter(([, s]) => s.until > Date.now()).map(([orgId]) => orgId);
  }

  private async detect(scope: ClaimScope): Promise<DetectResult> {
    const r = await detectChunk(this.deps.store, this.cache, new Date(), { ...this.deps, scope });
    if (r.shipments > 0) this.deps.onResult?.(r);
    return r;
  }

  /** Each waiting organisation of the lane on its own: the one(s) failing are set aside. */
  private async isolate(lane: ClaimScope): Promise<void> {
    const { store, logger } = this.deps;
    for (const orgId of await asSystem(SYSTEM_REASON, () => waitingOrgs(store.db, { ...lane, exceptOrgs: this.excluded() }))) {
      if (this.stopped) return;
      try {
        await this.detect({ onlyOrg: orgId });
        this.setAside.delete(orgId);
      } catch (err) {
        if (isUnavailableError(err)) throw err; // the database, not this organisation
        const times = (this.setAside.get(orgId)?.times ?? 0) + 1;
        const retryInMs = Math.min(3600_000, 60_000 * 2 ** (times - 1));
        this.setAside.set(orgId, { until: Date.now() + retryInMs, times });
        logger.error({ err, orgId, retryInMs }, "fraud detection fails on this organisation's shipments every time: set aside (still queued), the others go on");
      }
    }
  }

  /** Lane `index` of `count`, until stopped (a drain's: until nothing is left to claim). */
  private async run(index: number): Promise<void> {
    const { logger, drain } = this.deps;
    const lane = laneScope(index, this.count);
    let pendingNudge = false;
    let wake: (() => void) | undefined;
    const nudge = () => {
      pendingNudge = true;
      wake?.();
    };
    this.wakers.add(nudge);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        if (pendingNudge || this.stopped) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    try {
      let failures = 0;
      while (!this.stopped) {
        pendingNudge = false;
        try {
          const r = await this.detect({ ...lane, exceptOrgs: this.excluded() });
          failures = 0;
          if (r.paused > 0) logger.warn({ paused: r.paused }, 'fraud detector paused criteria that failed at evaluation');
          if (r.shipments > 0) continue;
          if (drain) return;
        } catch (err) {
          failures++;
          if (failures === 1 || failures % 60 === 0) logger.error({ err }, 'fraud detection failed; retrying');
          if (failures >= ISOLATE_AFTER) {
            if (drain && isUnavailableError(err)) throw err;
            if (!isUnavailableError(err)) {
              try {
                await this.isolate(lane);
                failures = 0;
                continue;
              } catch (e) {
                if (drain) throw e;
                logger.error({ err: e }, 'fraud detection failed; retrying');
              }
            }
          }
        }
        if (!this.stopped) await sleep(failures > 0 ? Math.min(5000, 250 * 2 ** Math.min(failures, 5)) : (this.deps.pollMs ?? 1000));
      }
    } finally {
      this.wakers.delete(nudge);
    }
  }
}

/**
 * Detects until no arrival is left, in `lanes` concurrent lanes, as the worker does when busy (the
 * same lane loop: retries, organisations set aside, their arrivals left queued): every chunk's
 * result. A lane that fails stops the others; the error is thrown once all of them have ended.
 */
export async function drainArrivals(deps: Omit<DetectorDeps, 'pollMs'> & { cache?: CompileCache }): Promise<DetectResult[]> {
  const results: DetectResult[] = [];
  const lanes = new Lanes({ ...deps, drain: true, onResult: (r) => results.push(r) }, deps.cache ?? new CompileCache());
  const settled = await Promise.allSettled(
    lanes.runAll().map((loop) =>
      loop.catch((err: unknown) => {
        lanes.stop();
        throw err;
      }),
    ),
  );
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return results;
}

/** Runs the detector until stopped: each lane drains its part of the queue, then waits for a nudge or the poll interval. */
export function startFraudDetector(deps: DetectorDeps): Worker {
  const lanes = new Lanes({ ...deps, drain: false }, new CompileCache());
  const unsubscribe = onArrivals(() => lanes.nudge());
  const loops = Promise.all(lanes.runAll());
  return {
    async stop() {
      lanes.stop();
      unsubscribe();
      await loops;
    },
  };
}
