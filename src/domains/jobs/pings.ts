import type { Transaction } from 'kysely';
import { raiseAlert } from '../alerting/index.js';
import type { Database, Db, PingKind } from '../../platform/store/index.js';
import { applyPing, type AlertDecision, type Decision, type PingAction } from './lifecycle.js';
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

export type PingTarget = { checkId: string } | { orgId: string; slug: string; create: boolean };

export type PingResult =
  | { outcome: 'ok'; created: boolean; check: CheckRow; kind: PingKind }
  | { outcome: 'not_found' }
  | { outcome: 'ambiguous' };

/**
 * Records a ping and everything it causes (run, flip, alert, notifications) in one transaction:
 * when this resolves, the ping is durable and its effects happened exactly once.
 */
export async function recordPing(db: Db, target: PingTarget, ping: PingRequest): Promise<PingResult> {
  return db.transaction().execute(async (trx) => {
    let created = false;
    let check: CheckRow | undefined;
    if ('checkId' in target) {
      check = await trx.selectFrom('checks').selectAll().where('id', '=', target.checkId).forUpdate().executeTakeFirst();
    } else {
      const matches = await trx.selectFrom('checks').selectAll().where('org_id', '=', target.orgId).where('slug', '=', target.slug).limit(2).forUpdate().execute();
      if (matches.length > 1) return { outcome: 'ambiguous' } as const;
      check = matches[0];
      if (!check && target.create) {
        check = await createCheck(trx, target.orgId, { name: target.slug, slug: target.slug });
        created = true;
      }
    }
    if (!check) return { outcome: 'not_found' } as const;

    const n = check.n_pings + 1;
    const isFinish = ping.action === 'success' || ping.action === 'fail';
    const openRun = isFinish ? await findOpenRun(trx, check.id, ping.rid) : undefined;
    const decision = applyPing(policyOf(check), stateOf(check), { action: ping.action, at: ping.at, method: ping.method, rid: ping.rid, exitStatus: ping.exitStatus, n }, openRun?.started_at ? { startedAt: openRun.started_at } : null);

    const durationMs = decision.run?.op === 'close' ? decision.run.durationMs : null;
    await trx
      .insertInto('pings')
      .values({
        org_id: check.org_id,
        check_id: check.id,
        n,
        kind: decision.kind,
        created_at: ping.at,
        scheme: ping.scheme,
        method: ping.method,
        remote_addr: ping.remoteAddr,
        user_agent: ping.userAgent,
        exit_status: ping.exitStatus,
        rid: ping.rid,
        body: ping.body,
        body_size: ping.bodySize,
        duration_ms: durationMs,
      })
      .execute();

    if (decision.run?.op === 'open') {
      await trx.insertInto('runs').values({ org_id: check.org_id, check_id: check.id, rid: ping.rid, started_at: ping.at, outcome: 'running' }).execute();
    } else if (decision.run?.op === 'close') {
      const run = { finished_at: ping.at, outcome: decision.run.outcome, exit_status: ping.exitStatus, duration_ms: durationMs, output_tail: ping.body };
      if (openRun) await trx.updateTable('runs').set(run).where('id', '=', openRun.id).execute();
      else await trx.insertInto('runs').values({ org_id: check.org_id, check_id: check.id, rid: ping.rid, ...run }).execute();
    }

    const updated = await trx
      .updateTable('checks')
      .set({
        ...stateColumns(decision.state),
        n_pings: n,
        ...(durationMs !== null ? { last_duration_ms: durationMs } : {}),
      })
      .where('id', '=', check.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEffects(trx, updated, decision, ping.at, { output_tail: ping.body, exit_status: ping.exitStatus, rid: ping.rid });
    return { outcome: 'ok', created, check: updated, kind: decision.kind } as const;
  });
}

/**
 * The unfinished run a finish ping closes: the one with the same rid, or the latest without rid.
 * A run the sweeper already flagged as too long is still open until its finish arrives.
 */
async function findOpenRun(trx: Transaction<Database>, checkId: string, rid: string | null) {
  let q = trx.selectFrom('runs').select(['id', 'started_at']).where('check_id', '=', checkId).where('finished_at', 'is', null).where('outcome', 'in', ['running', 'too_long']);
  q = rid ? q.where('rid', '=', rid) : q.where('rid', 'is', null);
  return q.orderBy('id', 'desc').limit(1).executeTakeFirst();
}

const TITLES: Record<AlertDecision['kind'], string> = {
  fail: 'failed',
  too_short: 'finished too fast',
  missed: 'missed its run',
  too_long: 'is running too long',
  reminder: 'is still down',
  recovered: 'is up again',
};

/** Writes the flip and the alert (with its notifications) a decision asks for. */
export async function recordEffects(trx: Transaction<Database>, check: CheckRow, decision: Decision, at: Date, details: Record<string, unknown> = {}): Promise<void> {
  if (decision.flip) {
    await trx
      .insertInto('flips')
      .values({ org_id: check.org_id, check_id: check.id, created_at: at, old_status: decision.flip.from, new_status: decision.flip.to, reason: decision.flip.reason })
      .execute();
  }
  const alert = decision.alert;
  if (!alert) return;
  const name = check.name || check.slug || check.id;
  await raiseAlert(trx, {
    orgId: check.org_id,
    source: 'job',
    subjectId: check.id,
    kind: alert.kind,
    state: alert.state,
    idempotencyKey: `job:${check.id}:${alert.key}`,
    title: `Job "${name}" ${TITLES[alert.kind]}`,
    message: alert.reason,
    details: { check_id: check.id, check_name: name, status: check.status, tags: check.tags, ...details },
    channels: check.channels === '*' ? '*' : check.channels.split(',').map((c) => c.trim()).filter((c) => /^[0-9a-f-]{36}$/i.test(c)),
    at,
  });
}
