import { sql, type RawBuilder } from 'kysely';
import { findOrgByPingKey } from '../accounts/index.js';
import { cleanText, needsCleaning, type Db } from '../../platform/store/index.js';
import { jobsDb, type JobsTransaction, type PingKind, type RunOutcome } from './tables.js';
import { actionByBody, applyPing, type Decision, type PingAction } from './lifecycle.js';
import { reportCheck } from './alerts.js';
import type { ManagerOptions } from '../alerting/index.js';
import { createCheck, policyOf, stateColumns, stateOf, type CheckRow } from './checks.js';

export interface PingRequest {
  action: PingAction;
  exitStatus: number | null;
  rid: string | null;
  method: string;
  scheme: string;
  remoteAddr: string;
  userAgent: string;
  /** The body tail that is kept (already cut to the limit). */
  body: string | null;
  /** The body's full size in bytes, before truncation. */
  bodySize: number;
  at: Date;
}

export interface PingItem {
  checkId: string;
  ping: PingRequest;
}

export type PingOutcome = { outcome: 'ok'; check: CheckRow; kind: PingKind } | { outcome: 'not_found' };

/** Whom a ping URL names: a check by its uuid, or by the organisation's ping key and the check's slug. */
export type PingTarget = { uuid: string } | { pingKey: string; slug: string };

/**
 * The check a ping URL names: its uuid as given (a missing check is found when the ping is written),
 * or the check with that slug in the organisation of that ping key, created when asked (`?create=1`).
 */
export async function resolvePingTarget(store: Db, target: PingTarget, create: boolean): Promise<{ checkId: string; created: boolean } | 'not_found' | 'ambiguous'> {
  if ('uuid' in target) return { checkId: target.uuid, created: false };
  const org = await findOrgByPingKey(store, target.pingKey);
  if (!org) return 'not_found';
  return resolveSlug(store, org.id, target.slug, create);
}

/** Finds the check a slug URL names; creates it when asked (`?create=1`). */
export async function resolveSlug(store: Db, orgId: string, slug: string, create: boolean): Promise<{ checkId: string; created: boolean } | 'not_found' | 'ambiguous'> {
  const matches = await jobsDb(store).selectFrom('checks').select('id').where('org_id', '=', orgId).where('slug', '=', slug).limit(2).execute();
  if (matches.length > 1) return 'ambiguous';
  if (matches[0]) return { checkId: matches[0].id, created: false };
  if (!create) return 'not_found';
  const check = await createCheck(store, orgId, { name: slug, slug });
  return { checkId: check.id, created: true };
}

/**
 * One ping to a known check, in its own transaction, at the time the ping says: the way to replay a
 * ping at a chosen instant. The HTTP path resolves slugs itself and batches through PingWriter.
 */
export async function recordPing(store: Db, checkId: string, ping: PingRequest): Promise<PingOutcome> {
  const [result] = await jobsDb(store).transaction().execute((trx) => recordPingBatch(trx, [{ checkId, ping }]));
  return result!;
}

interface RunDraft {
  id: string | null;
  check_id: string;
  org_id: string;
  rid: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  outcome: RunOutcome;
  exit_status: number | null;
  duration_ms: number | null;
  output_tail: string | null;
}

/** One field of each run as an array parameter for unnest (dates as ISO text, which the casts read). */
const runColumn = (runs: RunDraft[], key: keyof RunDraft) =>
  runs.map((r) => {
    const value = r[key];
    return value instanceof Date ? value.toISOString() : value;
  });

/**
 * Records a batch of pings and everything they cause (runs, flips, alerts, notifications) in the
 * caller's transaction, with a constant number of statements however large the batch: this is the
 * group commit behind the ping API's throughput. Pings to one check are applied in batch order.
 * Check rows are locked in id order, so concurrent batches cannot deadlock.
 */
export async function recordPingBatch(trx: JobsTransaction, batch: PingItem[], alertOptions: ManagerOptions = {}): Promise<PingOutcome[]> {
  // Job output often holds NUL bytes, which PostgreSQL text refuses: kept with U+FFFD instead, so
  // the ping (and its exit status) is never lost to its body.
  const items = batch.map((i) => (i.ping.body !== null && needsCleaning(i.ping.body) ? { ...i, ping: { ...i.ping, body: cleanText(i.ping.body) } } : i));
  const ids = [...new Set(items.map((i) => i.checkId))].sort();
  const rows = await trx.selectFrom('checks').selectAll().where('id', 'in', ids).orderBy('id').forUpdate().execute();
  const checks = new Map(rows.map((r) => [r.id, r]));

  // Only a check with a run in progress (or a finish naming its run) can have a run to close:
  // skipping the lookup otherwise saves a round trip for the common plain success ping.
  // With body filtering the body, not the URL, says what a ping is: such checks are looked up alike.
  const actionOf = (i: PingItem) => {
    const check = checks.get(i.checkId);
    return check ? actionByBody(policyOf(check), i.ping.action, i.ping.body) : i.ping.action;
  };
  const startsInBatch = new Set(items.filter((i) => actionOf(i) === 'start').map((i) => i.checkId));
  const finishing = [
    ...new Set(
      items
        .filter((i) => {
          const action = actionOf(i);
          return (action === 'success' || action === 'fail') && (i.ping.rid !== null || checks.get(i.checkId)?.last_start_at || startsInBatch.has(i.checkId));
        })
        .map((i) => i.checkId),
    ),
  ].filter((id) => checks.has(id));
  const stored = finishing.length
    ? await trx
        .selectFrom('runs')
        .select(['id', 'check_id', 'org_id', 'rid', 'started_at', 'finished_at', 'outcome', 'exit_status', 'duration_ms', 'output_tail'])
        .where('check_id', 'in', finishing)
        .where('finished_at', 'is', null)
        .where('outcome', 'in', ['running', 'too_long'])
        .orderBy('id')
        .execute()
    : [];
  // Runs touched by this batch: stored open ones (id set) and new ones (id null), oldest first.
  const runs: RunDraft[] = stored.map((r) => ({ ...r, id: String(r.id), duration_ms: r.duration_ms === null ? null : Number(r.duration_ms) }));
  const changedStored = new Set<RunDraft>();
  const findOpenRun = (checkId: string, rid: string | null) => {
    for (let i = runs.length - 1; i >= 0; i--) {
      const r = runs[i]!;
      if (r.check_id === checkId && r.finished_at === null && r.rid === rid) return r;
    }
    return undefined;
  };

  const pingRows: unknown[][] = [];
  const effects: { check: CheckRow; decision: Decision; at: Date; details: Record<string, unknown> }[] = [];
  const results: PingOutcome[] = [];
  for (const { checkId, ping } of items) {
    const check = checks.get(checkId);
    if (!check) {
      results.push({ outcome: 'not_found' });
      continue;
    }
    const n = check.n_pings + 1;
    const action = actionByBody(policyOf(check), ping.action, ping.body);
    const isFinish = action === 'success' || action === 'fail';
    const openRun = isFinish ? findOpenRun(checkId, ping.rid) : undefined;
    const decision = applyPing(
      policyOf(check),
      stateOf(check),
      { action: ping.action, at: ping.at, method: ping.method, rid: ping.rid, exitStatus: ping.exitStatus, n, body: ping.body },
      openRun?.started_at ? { startedAt: openRun.started_at } : null,
    );
    const durationMs = decision.run?.op === 'close' ? decision.run.durationMs : null;
    pingRows.push([check.org_id, checkId, n, decision.kind, ping.at.toISOString(), ping.scheme, ping.method, ping.remoteAddr, ping.userAgent, ping.exitStatus, ping.rid, ping.body, ping.bodySize, durationMs]);

    if (decision.run?.op === 'open') {
      runs.push({ id: null, check_id: checkId, org_id: check.org_id, rid: ping.rid, started_at: ping.at, finished_at: null, outcome: 'running', exit_status: null, duration_ms: null, output_tail: null });
    } else if (decision.run?.op === 'close') {
      const closing = openRun ?? { id: null, check_id: checkId, org_id: check.org_id, rid: ping.rid, started_at: null, finished_at: null, outcome: 'running' as RunOutcome, exit_status: null, duration_ms: null, output_tail: null };
      Object.assign(closing, { finished_at: ping.at, outcome: decision.run.outcome, exit_status: ping.exitStatus, duration_ms: durationMs, output_tail: ping.body });
      if (closing.id === null && !openRun) runs.push(closing);
      if (closing.id !== null) changedStored.add(closing);
    }

    const updated: CheckRow = { ...check, ...stateColumns(decision.state), n_pings: n, last_duration_ms: durationMs ?? check.last_duration_ms };
    checks.set(checkId, updated);
    if (decision.flip || decision.alert) effects.push({ check: updated, decision, at: ping.at, details: { output_tail: ping.body, exit_status: ping.exitStatus, rid: ping.rid } });
    results.push({ outcome: 'ok', check: updated, kind: decision.kind });
  }

  // All row writes go in one statement (data-modifying CTEs): one round trip whatever the batch holds.
  const writes: RawBuilder<unknown>[] = [];
  if (pingRows.length) {
    const col = (i: number) => pingRows.map((r) => r[i]);
    writes.push(sql`
      INSERT INTO pings (org_id, check_id, n, kind, created_at, scheme, method, remote_addr, user_agent, exit_status, rid, body, body_size, duration_ms)
      SELECT * FROM unnest(${col(0)}::uuid[], ${col(1)}::uuid[], ${col(2)}::int[], ${col(3)}::text[], ${col(4)}::timestamptz[], ${col(5)}::text[],
        ${col(6)}::text[], ${col(7)}::text[], ${col(8)}::text[], ${col(9)}::int[], ${col(10)}::uuid[], ${col(11)}::text[], ${col(12)}::int[], ${col(13)}::bigint[])`);
  }
  const newRuns = runs.filter((r) => r.id === null);
  if (newRuns.length) {
    const col = (k: keyof RunDraft) => runColumn(newRuns, k);
    writes.push(sql`
      INSERT INTO runs (org_id, check_id, rid, started_at, finished_at, outcome, exit_status, duration_ms, output_tail)
      SELECT * FROM unnest(${col('org_id')}::uuid[], ${col('check_id')}::uuid[], ${col('rid')}::uuid[], ${col('started_at')}::timestamptz[],
        ${col('finished_at')}::timestamptz[], ${col('outcome')}::text[], ${col('exit_status')}::int[], ${col('duration_ms')}::bigint[], ${col('output_tail')}::text[])`);
  }
  if (changedStored.size) {
    const list = [...changedStored];
    const col = (k: keyof RunDraft) => runColumn(list, k);
    writes.push(sql`
      UPDATE runs AS r SET finished_at = v.finished_at, outcome = v.outcome, exit_status = v.exit_status, duration_ms = v.duration_ms, output_tail = v.output_tail
      FROM unnest(${col('id')}::bigint[], ${col('finished_at')}::timestamptz[], ${col('outcome')}::text[], ${col('exit_status')}::int[], ${col('duration_ms')}::bigint[], ${col('output_tail')}::text[])
        AS v(id, finished_at, outcome, exit_status, duration_ms, output_tail)
      WHERE r.id = v.id`);
  }
  // Every check found received at least one ping (n_pings changes), so every one is written back.
  const touched = rows.map((r) => checks.get(r.id)!);
  if (touched.length) {
    const iso = (d: Date | null) => d?.toISOString() ?? null;
    const col = <T>(f: (c: CheckRow) => T) => touched.map(f);
    writes.push(sql`
      UPDATE checks AS c SET status = v.status, status_reason = v.status_reason, last_ping_at = v.last_ping_at, last_start_at = v.last_start_at,
        last_start_rid = v.last_start_rid, consecutive_failures = v.consecutive_failures, alerted_down = v.alerted_down, late_at = v.late_at,
        down_at = v.down_at, runtime_deadline_at = v.runtime_deadline_at, next_realert_at = v.next_realert_at, n_pings = v.n_pings,
        last_duration_ms = v.last_duration_ms
      FROM unnest(${col((c) => c.id)}::uuid[], ${col((c) => c.status)}::text[], ${col((c) => c.status_reason)}::text[], ${col((c) => iso(c.last_ping_at))}::timestamptz[],
        ${col((c) => iso(c.last_start_at))}::timestamptz[], ${col((c) => c.last_start_rid)}::uuid[], ${col((c) => c.consecutive_failures)}::int[],
        ${col((c) => c.alerted_down)}::boolean[], ${col((c) => iso(c.late_at))}::timestamptz[], ${col((c) => iso(c.down_at))}::timestamptz[],
        ${col((c) => iso(c.runtime_deadline_at))}::timestamptz[], ${col((c) => iso(c.next_realert_at))}::timestamptz[], ${col((c) => c.n_pings)}::int[],
        ${col((c) => (c.last_duration_ms === null ? null : Number(c.last_duration_ms)))}::bigint[])
        AS v(id, status, status_reason, last_ping_at, last_start_at, last_start_rid, consecutive_failures, alerted_down, late_at, down_at,
             runtime_deadline_at, next_realert_at, n_pings, last_duration_ms)
      WHERE c.id = v.id`);
  }
  if (writes.length) {
    const [main, ...before] = writes.reverse();
    const ctes = before.map((w, i) => sql`${sql.raw(`w${i}`)} AS (${w})`);
    await (ctes.length ? sql`WITH ${sql.join(ctes)} ${main!}` : main!).execute(trx);
  }
  for (const e of effects) await recordEffects(trx, e.check, e.decision, e.at, e.details, alertOptions);
  return results;
}

/**
 * Writes the flip a decision asks for, and reports its condition (if any) to the alert manager,
 * which records the instance's state and queues the notification in this same transaction.
 */
export async function recordEffects(
  trx: JobsTransaction,
  check: CheckRow,
  decision: Decision,
  at: Date,
  details: Record<string, unknown> = {},
  options: ManagerOptions = {},
): Promise<void> {
  if (decision.flip) {
    await trx
      .insertInto('flips')
      .values({ org_id: check.org_id, check_id: check.id, created_at: at, old_status: decision.flip.from, new_status: decision.flip.to, reason: decision.flip.reason })
      .execute();
  }
  if (decision.alert) await reportCheck(trx, check, decision.alert, at, details, options);
}
