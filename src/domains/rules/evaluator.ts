/**
 * The rule evaluator: per organisation, follows the stream processor's watermark and evaluates
 * every final event-time second, in order, with the engine (engine.ts), handing the observations
 * to the alert manager through the injected `report` port.
 *
 * Invariants:
 * - Exactly once: the new position, the instance mirrors (what the engine needs to know when to
 *   report) and the reports go in ONE transaction, which also checks that the stored position is
 *   still the one this process started from (another instance, or a failed commit, means the
 *   in-memory state is dropped and rebuilt from the store).
 * - Restart: windows are rebuilt from the 1-second counts of (position − window, position], the
 *   mirrors from the stored snapshot; the evaluator then catches up second by second up to the
 *   watermark, at most `toleranceMs` of event time (beyond it, it skips ahead and logs it).
 * - Idle: when an organisation's data is live (its watermark within the tolerance of the wall
 *   clock) but nothing arrives, evaluation time follows the wall clock `idleGraceMs` behind, so an
 *   absence rule fires when everything stops.
 * - Late events: before stepping on, each pass compares the hits the stream now counts with the
 *   hits the engines were fed, over the seconds still inside the longest window and within the
 *   stream's allowed lateness (one grouped read, mostly of 10-second rollups; a rollup that differs
 *   is read again per second). Only the seconds that differ are read in full and revised into the
 *   windows that still hold them (engine.ts#revise): the checks still to run count the late events,
 *   those already run stand, as in `vigil monitor`. Without late events this costs that one small
 *   read per pass. After a restart the windows are rebuilt from the counts, which already include
 *   the late events. (A late non-request line adds no hits: a `matching_events` rule misses it.)
 * - Isolation: a rule that throws is marked in error (with the reason) and the others go on.
 * - One evaluator per organisation: with several `process` instances, the one holding the
 *   organisation's lease (`rule_evaluator.owner`, `lease_until`, database time) evaluates it and
 *   renews the lease on every pass; the others skip it until the lease lapses (its holder stopped),
 *   so they neither duplicate the work nor keep overtaking each other's windows. Exactly-once rests
 *   on the position check above, not on the lease.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { RuleSpec } from '../../contracts/alerting.js';
import type { ConditionReport } from '../alerting/index.js';
import { asSystem, type Db } from '../../platform/store/index.js';
import { every, type Worker } from '../../platform/worker.js';
import { bucketHits, firstCountedSecond, watermarksOf, type BucketRange } from '../stream/index.js';
import { RuleEngine, RuleError, type RuleObservation, type RuleSnapshot, type SecondData } from './engine.js';
import { ensureDefaultRule, liveRules, markRuleError, type LiveRule } from './rules.js';
import { readSeconds } from './seconds.js';
import { routingOf } from './spec.js';
import { rulesDb } from './tables.js';

/** What the rules hand the alert manager: its ConditionReport, from source 'log'. */
export type RuleReport = ConditionReport & { source: 'log' };

/** The alert manager's entry point (alerting's reportConditions), called inside the evaluator's transaction. */
export type ReportPort = (trx: Db, reports: RuleReport[], now: Date) => Promise<void>;

export interface EvaluatorOptions {
  db: Db;
  logger: Logger;
  report: ReportPort;
  /** Event time caught up after an outage, at most (default 1 h); beyond it, skipped. */
  toleranceMs?: number;
  /** How long an organisation whose live watermark stopped moving waits before evaluation time follows the wall clock (default 30 s). */
  idleGraceMs?: number;
  /** Between ticks (default 500 ms). */
  intervalMs?: number;
  /** Instances one rule may have (default MAX_INSTANCES). */
  maxInstances?: number;
  /** The stream's allowed lateness (VIGIL_STATS_LATENESS_MS, default 5 min): older seconds are never revised. */
  latenessMs?: number;
  /** How long an organisation stays with the process that evaluated it last (default 15 s; 0 = no lease). */
  leaseMs?: number;
  /** The wall clock (tests). */
  now?: () => number;
}

/** Another process committed this organisation's evaluation first: ours is dropped and rebuilt. */
class Superseded extends Error {}

/** The stream's rollup the late-event checksum compares first (labels L hold the seconds L … L+9). */
const ROLLUP = 10;

/** Seconds evaluated per transaction: a long catch-up commits as it goes. */
const CHUNK_SECONDS = 600;
/** The same when a rule reads raw events (a busy organisation has many per second). */
const CHUNK_SECONDS_RAW = 30;

/** A link to the traffic dashboard around the instance. */
function linkOf(spec: RuleSpec, labels: Record<string, string>, at: number): string {
  const q = new URLSearchParams();
  for (const dim of ['service', 'section'] as const) {
    const v = labels[dim] ?? (typeof spec.filters[dim] === 'string' ? (spec.filters[dim] as string) : undefined);
    if (v !== undefined && v !== '') q.set(dim, v);
  }
  q.set('to', new Date(at).toISOString());
  return `/traffic?${q.toString()}`;
}

export function reportOf(orgId: string, engine: RuleEngine, o: RuleObservation): RuleReport {
  const spec = engine.spec;
  return {
    orgId,
    source: 'log',
    ruleId: o.ruleId,
    ruleName: spec.name,
    labels: o.labels,
    at: new Date(o.at),
    active: o.active,
    value: o.value,
    threshold: spec.threshold,
    reason: o.reason,
    summary: o.summary,
    severity: spec.severity,
    timing: { forMs: engine.forMs, keepFiringForMs: engine.keepMs },
    routing: routingOf(spec),
    link: linkOf(spec, o.labels, o.at),
  };
}

interface OrgState {
  /** Last second evaluated (committed). */
  position: number;
  engines: Map<string, { version: number; engine: RuleEngine }>;
  /** Hits per second the engines were fed, for the seconds still in a window (absent: 0). */
  fed: Map<number, number>;
}

const hitsOf = (data: SecondData): number => {
  let n = 0;
  for (const r of data.counts) n += r.hits;
  return n;
};


/** Evaluates one organisation as far as its data is final; a class so tests and the bench can drive it. */
export class RulesEvaluator {
  private readonly orgs = new Map<string, OrgState>();
  private readonly toleranceS: number;
  private readonly idleGraceMs: number;
  private readonly now: () => number;
  /** This process, as the lease names it. */
  private readonly owner = randomUUID();
  private readonly leaseMs: number;

  constructor(private readonly options: EvaluatorOptions) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.toleranceS = Math.round((options.toleranceMs ?? 3_600_000) / 1000);
    this.idleGraceMs = options.idleGraceMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * One pass over every organisation with data. An organisation that fails does not stop the
   * others; the first failure is rethrown at the end (the worker logs it, and backs off on outages).
   */
  async tick(): Promise<void> {
    const watermarks = await watermarksOf(this.options.db);
    let failure: unknown;
    for (const [orgId, w] of watermarks) {
      if (w === null) continue;
      try {
        await this.evaluateOrg(orgId, w);
      } catch (error) {
        // The in-memory windows may be ahead of what was committed: rebuild them next time.
        this.orgs.delete(orgId);
        if (error instanceof Superseded) this.options.logger.debug({ orgId }, error.message);
        else failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Per organisation: the last watermark seen and when (wall clock) it last moved. */
  private readonly seen = new Map<string, { watermark: number; movedAt: number }>();

  /**
   * The last second to evaluate: the last final one; or, when the organisation's data is live and
   * its watermark has not moved for `idleGraceMs`, the watermark plus the wall-clock time since
   * then minus the grace (event time follows the wall clock while nothing arrives).
   */
  private targetOf(orgId: string, watermark: number, now: number): number {
    const lastFinal = Math.ceil(watermark / 1000) - 1;
    let seen = this.seen.get(orgId);
    if (seen === undefined || seen.watermark !== watermark) this.seen.set(orgId, (seen = { watermark, movedAt: now }));
    const live = watermark >= now - this.toleranceS * 1000;
    const idleFor = now - seen.movedAt - this.idleGraceMs;
    if (!live || idleFor <= 0) return lastFinal;
    return Math.max(lastFinal, Math.min(Math.ceil((watermark + idleFor) / 1000) - 1, Math.floor(now / 1000) - 1));
  }

  async evaluateOrg(orgId: string, watermark: number): Promise<void> {
    const { db, logger } = this.options;
    const now = this.now();
    const target = this.targetOf(orgId, watermark, now);
    let state = this.orgs.get(orgId);
    let snapshots: Record<string, RuleSnapshot> = {};
    if (state === undefined) await ensureDefaultRule(db, orgId);
    if (!(await this.holdLease(orgId))) {
      // Another process evaluates it: what this one holds in memory goes stale, so it is dropped.
      this.orgs.delete(orgId);
      return;
    }
    if (state === undefined) {
      const row = await rulesDb(db).selectFrom('rule_evaluator').select(['position', 'instances']).where('org_id', '=', orgId).executeTakeFirstOrThrow();
      snapshots = row.instances as Record<string, RuleSnapshot>;
      let position: number;
      if (row.position !== null) position = Math.round(row.position.getTime() / 1000);
      else {
        // First evaluation: from the first counted second within the tolerance (the window before it is empty).
        const first = await firstCountedSecond(db, orgId, target - this.toleranceS + 1);
        position = first === null ? target : Math.min(first, target + 1) - 1;
      }
      state = { position, engines: new Map(), fed: new Map() };
      this.orgs.set(orgId, state);
    }
    if (target <= state.position) return;
    const stored = state.position;
    if (target - state.position > this.toleranceS) {
      logger.warn({ orgId, from: new Date(state.position * 1000).toISOString(), to: new Date((target - this.toleranceS) * 1000).toISOString() }, 'rules: event time behind by more than the outage tolerance; skipping ahead');
      snapshots = { ...snapshots, ...Object.fromEntries([...state.engines].map(([id, e]) => [id, e.engine.snapshot()])) };
      state.engines.clear();
      state.fed.clear();
      state.position = target - this.toleranceS;
    }
    const reports: RuleObservation[] = [];
    const rules = await liveRules(db, orgId);
    await this.syncEngines(orgId, state, rules, snapshots, reports);
    const errors = new Map<string, string>();
    const chunk = [...state.engines.values()].some((e) => e.engine.rawEvents) ? CHUNK_SECONDS_RAW : CHUNK_SECONDS;
    await this.reviseLate(orgId, state, reports, errors);
    const position = await this.advance(orgId, state, Math.min(target, state.position + chunk), reports, errors);
    const engines = [...state.engines.values()].map((e) => e.engine);
    for (const e of engines) e.flush(reports);
    const byId = new Map(engines.map((e) => [e.id, e]));
    const out = reports.map((o) => reportOf(orgId, byId.get(o.ruleId) ?? this.retired.get(o.ruleId)!, o));
    this.retired.clear();
    const instances = Object.fromEntries(engines.map((e) => [e.id, e.snapshot()]));
    await db.transaction().execute(async (trx) => {
      const updated = await rulesDb(trx)
        .updateTable('rule_evaluator')
        .set({ position: new Date(position * 1000), instances: JSON.stringify(instances), updated_at: new Date(now) })
        .where('org_id', '=', orgId)
        .where((eb) => eb.or([eb('position', '=', new Date(stored * 1000)), eb('position', 'is', null)]))
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new Superseded(`rules: the evaluator position of organisation ${orgId} moved under this process (another process evaluates it); rebuilding`);
      for (const [id, error] of errors) await markRuleError(trx, orgId, id, error, new Date(now));
      if (out.length > 0) await this.options.report(trx, out, new Date(now));
    });
    state.position = position;
    for (const [id, error] of errors) logger.warn({ orgId, ruleId: id, error }, 'rules: rule marked in error');
    // A long catch-up commits every CHUNK_SECONDS and goes on.
    if (position < target) await this.evaluateOrg(orgId, watermark);
  }

  /**
   * Takes or renews the organisation's lease (database time, so hosts' clocks do not matter);
   * false when another process holds it. With `leaseMs` 0 every process may evaluate (tests).
   */
  private async holdLease(orgId: string): Promise<boolean> {
    if (this.leaseMs <= 0) return true;
    const taken = await rulesDb(this.options.db)
      .updateTable('rule_evaluator')
      .set({ owner: this.owner, lease_until: sql<Date>`now() + ${`${this.leaseMs} milliseconds`}::interval` })
      .where('org_id', '=', orgId)
      .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', this.owner), eb('lease_until', '<', sql<Date>`now()`)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  /** Gives up every lease this process holds (a clean stop). */
  async releaseLeases(): Promise<void> {
    await rulesDb(this.options.db).updateTable('rule_evaluator').set({ owner: null, lease_until: null }).where('owner', '=', this.owner).execute();
  }

  /** Engines of rules removed or disabled since, kept to word their last reports. */
  private readonly retired = new Map<string, RuleEngine>();

  /**
   * A rule no longer evaluated (removed, disabled, in error): each of its active or firing
   * instances is told its condition cleared, resolving at once, so none stays firing forever.
   */
  private retire(engine: RuleEngine, second: number, reason: string, reports: RuleObservation[]): void {
    for (const m of Object.values(engine.snapshot())) {
      reports.push({ ruleId: engine.id, labels: engine.labelsOf(m.labels), at: second * 1000, active: false, value: null, reason, summary: `${engine.spec.name}: ${reason}` });
    }
    this.retired.set(engine.id, new RuleEngine(engine.id, { ...engine.spec, keep_firing_for: '0s' }));
  }

  /** Creates engines for new or edited rules (windows rebuilt from the counts), retires removed ones. */
  private async syncEngines(orgId: string, state: OrgState, rules: LiveRule[], snapshots: Record<string, RuleSnapshot>, reports: RuleObservation[]): Promise<void> {
    const wanted = new Set(rules.map((r) => r.id));
    for (const [id, { engine }] of state.engines) {
      if (wanted.has(id)) continue;
      this.retire(engine, state.position, 'the rule was removed, disabled or is in error', reports);
      state.engines.delete(id);
    }
    const fresh: RuleEngine[] = [];
    for (const rule of rules) {
      const had = state.engines.get(rule.id);
      if (had !== undefined && had.version === rule.version) continue;
      let mirrors = had?.engine.snapshot() ?? snapshots[rule.id] ?? {};
      if (had !== undefined && JSON.stringify([had.engine.spec.group_by, had.engine.spec.labels]) !== JSON.stringify([rule.spec.group_by, rule.spec.labels])) {
        // The edit changed the instances' labels: the old instances resolve, the new ones start afresh.
        this.retire(had.engine, state.position, 'the rule was edited (its labels or group_by changed)', reports);
        mirrors = {};
      }
      const engine = new RuleEngine(rule.id, rule.spec, mirrors, this.options.maxInstances);
      state.engines.set(rule.id, { version: rule.version, engine });
      fresh.push(engine);
    }
    if (fresh.length === 0) return;
    const longest = Math.max(...fresh.map((e) => e.windowS));
    const history = await readSeconds(this.options.db, orgId, state.position - longest, state.position, fresh.some((e) => e.rawEvents));
    for (const e of fresh) {
      for (const data of history) if (data.second > state.position - e.windowS) e.warm(data);
    }
    // Every engine was just built from these counts: they are what was fed. (An engine added beside
    // older ones leaves `fed` alone; a second it misses there is revised once, which is harmless.)
    if (fresh.length === state.engines.size) {
      state.fed.clear();
      for (const data of history) state.fed.set(data.second, hitsOf(data));
    }
  }

  /**
   * Finds the seconds already evaluated that late events revised since (their hits differ from
   * what the engines were fed) and revises them into the windows that still hold them.
   */
  private async reviseLate(orgId: string, state: OrgState, out: RuleObservation[], errors: Map<string, string>): Promise<void> {
    const engines = [...state.engines.values()].map((e) => e.engine);
    if (engines.length === 0) return;
    const longest = Math.max(...engines.map((e) => e.windowS));
    const latenessS = Math.ceil((this.options.latenessMs ?? 300_000) / 1000);
    // Seconds a check still to run holds (> position + 1 - longest) that the stream may still revise:
    // it accepts a late event within the lateness of its watermark, which was at least the one this
    // position was final under (the watermark of now may be far ahead: one batch can hold late events
    // and move it by any amount, so it is not the bound).
    const after = Math.max(state.position + 1 - longest, state.position - latenessS - 2);
    if (after >= state.position) return;
    const changed = await this.changedSeconds(orgId, state, after, state.position);
    if (changed.length === 0) return;
    const wanted = new Set(changed);
    const seconds = (await readSeconds(this.options.db, orgId, changed[0]! - 1, changed.at(-1)!, engines.some((e) => e.rawEvents))).filter((d) => wanted.has(d.second));
    for (const data of seconds) {
      state.fed.set(data.second, hitsOf(data));
      for (const e of engines) {
        if (errors.has(e.id)) continue;
        try {
          e.revise(data);
        } catch (error) {
          this.fail(state, e, state.position, error, out, errors);
        }
      }
    }
  }

  /**
   * The seconds of (after, through] whose hits now differ from what the engines were fed. The whole
   * 10-second rollups inside the range are compared first (a tenth of the rows), the seconds at its
   * edges one by one, in one read; only a rollup that differs is read again second by second.
   */
  private async changedSeconds(orgId: string, state: OrgState, after: number, through: number): Promise<number[]> {
    const { db } = this.options;
    const fed = (s: number) => state.fed.get(s) ?? 0;
    // Rollups labelled lo, lo+10, …, hi-10 lie wholly inside the range.
    const lo = Math.ceil((after + 1) / ROLLUP) * ROLLUP;
    const hi = Math.floor((through + 1) / ROLLUP) * ROLLUP;
    const ranges: BucketRange[] = [];
    if (hi > lo) {
      ranges.push({ resolution: ROLLUP, after: lo - 1, through: hi - 1 });
      if (lo - 1 > after) ranges.push({ resolution: 1, after, through: lo - 1 });
      if (through > hi - 1) ranges.push({ resolution: 1, after: hi - 1, through });
    } else ranges.push({ resolution: 1, after, through });
    const first = await bucketHits(db, orgId, ranges);
    // The rollups that differ are read again second by second (adjacent ones as one range).
    const differ: BucketRange[] = [];
    for (let label = lo; label < hi; label += ROLLUP) {
      let sum = 0;
      for (let s = label; s < label + ROLLUP; s++) sum += fed(s);
      if ((first.get(`${ROLLUP}:${label}`) ?? 0) === sum) continue;
      const last = differ.at(-1);
      if (last?.through === label - 1) last.through = label + ROLLUP - 1;
      else differ.push({ resolution: 1, after: label - 1, through: label + ROLLUP - 1 });
    }
    const again = await bucketHits(db, orgId, differ);
    const changed: number[] = [];
    for (const [hits, list] of [
      [first, ranges],
      [again, differ],
    ] as const) {
      for (const r of list) {
        if (r.resolution !== 1) continue;
        for (let s = r.after + 1; s <= r.through; s++) if ((hits.get(`1:${s}`) ?? 0) !== fed(s)) changed.push(s);
      }
    }
    return changed.sort((x, y) => x - y);
  }

  /** A rule that threw: marked in error, its instances resolve at `second`; what it reported before stands. */
  private fail(state: OrgState, e: RuleEngine, second: number, error: unknown, out: RuleObservation[], errors: Map<string, string>): void {
    const reason = error instanceof RuleError ? error.message : `evaluation failed: ${String(error)}`;
    errors.set(e.id, reason);
    this.retire(e, second, `rule in error: ${reason}`, out);
    state.engines.delete(e.id);
  }

  /** Steps every engine through (position, through]; a rule that throws is retired with its error. */
  private async advance(orgId: string, state: OrgState, through: number, out: RuleObservation[], errors: Map<string, string>): Promise<number> {
    const engines = [...state.engines.values()].map((e) => e.engine);
    const seconds = await readSeconds(this.options.db, orgId, state.position, through, engines.some((e) => e.rawEvents));
    for (const data of seconds) {
      state.fed.set(data.second, hitsOf(data));
      for (const e of engines) {
        if (errors.has(e.id)) continue;
        try {
          e.step(data, out);
        } catch (error) {
          // What it reported before this second stands; its instances resolve here.
          this.fail(state, e, data.second, error, out, errors);
        }
      }
    }
    // Seconds no window holds any more are forgotten.
    const longest = Math.max(0, ...[...state.engines.values()].map((e) => e.engine.windowS));
    for (const s of state.fed.keys()) if (s <= through - longest) state.fed.delete(s);
    return through;
  }
}

/** The evaluator as a background loop (the process role, beside the stream processor). */
export function startRulesEvaluator(options: EvaluatorOptions): Worker {
  const evaluator = new RulesEvaluator(options);
  const loop = every(options.intervalMs ?? 500, () => asSystem('the rules evaluator runs every organisation\'s rules on one watermark', () => evaluator.tick()), (error) => options.logger.error({ err: error }, 'rules: evaluation failed'));
  return {
    async stop() {
      await loop.stop();
      // A clean stop hands its organisations over at once rather than after the lease lapses.
      await asSystem('the rules evaluator hands its organisations over', () => evaluator.releaseLeases()).catch((error: unknown) => options.logger.warn({ err: error }, 'rules: could not release the evaluation leases'));
    },
  };
}
