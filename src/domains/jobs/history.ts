import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { flipSchema, pingSchema, runSchema } from '../../contracts/jobs.js';
import { jobsDb, type FlipsTable, type JobsTransaction, type PingsTable, type RunsTable } from './tables.js';
import type { Db } from '../../platform/store/index.js';

/**
 * A check's history as stored: its pings, the runs they opened and closed, and its status changes
 * (flips). Reads for the APIs; the writes happen with the pings and sweeps that cause them
 * (pings.ts, sweeper.ts), in their transactions.
 */

export type PingRow = Selectable<PingsTable>;
export type RunRow = Selectable<RunsTable>;
export type FlipRow = Selectable<FlipsTable>;

/** A check's pings, newest first. */
export async function listPings(store: Db, checkId: string, limit: number): Promise<PingRow[]> {
  return jobsDb(store).selectFrom('pings').selectAll().where('check_id', '=', checkId).orderBy('n', 'desc').limit(limit).execute();
}

/** The kept body of a check's ping number `n`: null if it had none, undefined if there is no such ping. */
export async function pingBody(store: Db, checkId: string, n: number): Promise<string | null | undefined> {
  const ping = await jobsDb(store).selectFrom('pings').select('body').where('check_id', '=', checkId).where('n', '=', n).executeTakeFirst();
  return ping?.body;
}

/** A check's runs, newest first. */
export async function listRuns(store: Db, checkId: string, limit: number): Promise<RunRow[]> {
  return jobsDb(store).selectFrom('runs').selectAll().where('check_id', '=', checkId).orderBy('id', 'desc').limit(limit).execute();
}

export interface FlipFilter {
  /** At most this many (the newest). */
  limit?: number;
  /** Only changes to up or down (what Healthchecks calls flips). */
  upDownOnly?: boolean;
  /** Only changes at or after this instant. */
  from?: Date;
  /** Only changes before this instant. */
  before?: Date;
}

/** A check's status changes, newest first. */
export async function listFlips(store: Db, checkId: string, filter: FlipFilter = {}): Promise<FlipRow[]> {
  let q = jobsDb(store).selectFrom('flips').selectAll().where('check_id', '=', checkId);
  if (filter.upDownOnly) q = q.where('new_status', 'in', ['up', 'down']);
  if (filter.from !== undefined) q = q.where('created_at', '>=', filter.from);
  if (filter.before !== undefined) q = q.where('created_at', '<', filter.before);
  q = q.orderBy('id', 'desc');
  if (filter.limit !== undefined) q = q.limit(filter.limit);
  return q.execute();
}

/** The run a start opened at `startedAt` went over its maximum run time (the sweep that noticed it, in its transaction). */
export async function markRunTooLong(trx: JobsTransaction, checkId: string, startedAt: Date): Promise<void> {
  await trx.updateTable('runs').set({ outcome: 'too_long' }).where('check_id', '=', checkId).where('outcome', '=', 'running').where('started_at', '=', startedAt).execute();
}

/** The native API's view of a run. */
export const runView = (r: RunRow): z.infer<typeof runSchema> => ({
  id: Number(r.id),
  rid: r.rid,
  started_at: r.started_at?.toISOString() ?? null,
  finished_at: r.finished_at?.toISOString() ?? null,
  outcome: r.outcome,
  exit_status: r.exit_status,
  duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
  output_tail: r.output_tail,
});

/** The native API's view of a ping. */
export const pingView = (p: PingRow): z.infer<typeof pingSchema> => ({
  n: p.n,
  kind: p.kind,
  created_at: p.created_at.toISOString(),
  method: p.method,
  scheme: p.scheme,
  remote_addr: p.remote_addr,
  user_agent: p.user_agent,
  exit_status: p.exit_status,
  rid: p.rid,
  body: p.body,
  body_size: p.body_size,
  duration_ms: p.duration_ms === null ? null : Number(p.duration_ms),
});

/** The native API's view of a flip. */
export const flipView = (f: FlipRow): z.infer<typeof flipSchema> => ({ created_at: f.created_at.toISOString(), old_status: f.old_status, new_status: f.new_status, reason: f.reason });
