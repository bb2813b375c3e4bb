import type { Selectable } from 'kysely';
import type { z } from 'zod';
import { checkInputSchema, type checkViewSchema } from '../../contracts/jobs.js';
import { conflict, invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { jobsDb, type ChecksTable, type JobsTransaction } from './tables.js';
import { deadlinesAfter, describeSchedule, scheduleSyntax, validateSchedule } from './schedule.js';
import { displayStatus, type CheckPolicy, type CheckState } from './lifecycle.js';
import { listChannels } from '../notify/index.js';
import { deleteMuteWindowsWith } from '../alerting/index.js';
import { endCheckAlert, rerouteCheck } from './alerts.js';
import type { Db } from '../../platform/store/index.js';

export type CheckRow = Selectable<ChecksTable>;

export { checkInputSchema };
export type CheckInput = z.infer<typeof checkInputSchema>;
/** The native API's view of a check (the contract's shape). */
export type CheckView = z.infer<typeof checkViewSchema>;

export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
}

export function policyOf(row: CheckRow): CheckPolicy {
  return {
    kind: row.kind,
    timeoutS: row.timeout_s,
    graceS: row.grace_s,
    schedule: row.schedule,
    tz: row.tz,
    maxRuntimeS: row.max_runtime_s,
    minRuntimeS: row.min_runtime_s,
    failureThreshold: row.failure_threshold,
    manualResume: row.manual_resume,
    methods: row.methods,
    filterHttpBody: row.filter_http_body,
    filterDefaultFail: row.filter_default_fail,
    startKw: row.start_kw,
    successKw: row.success_kw,
    failureKw: row.failure_kw,
  };
}

export function stateOf(row: CheckRow): CheckState {
  return {
    status: row.status,
    statusReason: row.status_reason,
    lastPingAt: row.last_ping_at,
    lastStartAt: row.last_start_at,
    lastStartRid: row.last_start_rid,
    consecutiveFailures: row.consecutive_failures,
    alertedDown: row.alerted_down,
    lateAt: row.late_at,
    downAt: row.down_at,
    runtimeDeadlineAt: row.runtime_deadline_at,
    nextRealertAt: row.next_realert_at,
  };
}

/** Column values for a state (used by every writer so the mapping lives in one place). */
export function stateColumns(s: CheckState) {
  return {
    status: s.status,
    status_reason: s.statusReason,
    last_ping_at: s.lastPingAt,
    last_start_at: s.lastStartAt,
    last_start_rid: s.lastStartRid,
    consecutive_failures: s.consecutiveFailures,
    alerted_down: s.alertedDown,
    late_at: s.lateAt,
    down_at: s.downAt,
    runtime_deadline_at: s.runtimeDeadlineAt,
    next_realert_at: s.nextRealertAt,
  };
}

/** Validates a create/update against the check it applies to and returns the columns to write. */
function columnsFor(input: CheckInput, current?: CheckRow) {
  const kind = input.kind ?? (input.schedule !== undefined && input.timeout === undefined ? 'cron' : input.timeout !== undefined ? 'simple' : (current?.kind ?? 'simple'));
  const schedule = input.schedule ?? current?.schedule ?? '* * * * *';
  const tz = input.tz ?? current?.tz ?? 'UTC';
  if (kind === 'cron' || input.schedule !== undefined || input.tz !== undefined) validateSchedule(schedule, tz);
  const minRuntime = input.min_runtime !== undefined ? input.min_runtime : (current?.min_runtime_s ?? null);
  const maxRuntime = input.max_runtime !== undefined ? input.max_runtime : (current?.max_runtime_s ?? null);
  if (minRuntime !== null && maxRuntime !== null && minRuntime >= maxRuntime) {
    throw invalidField('min_runtime', `must be less than max_runtime (${maxRuntime} s)`);
  }
  const name = input.name ?? current?.name ?? '';
  return {
    name,
    slug: input.slug ?? current?.slug ?? slugify(name),
    tags: input.tags ? input.tags.join(' ') : (current?.tags ?? ''),
    description: input.description ?? current?.description ?? '',
    kind,
    timeout_s: input.timeout ?? current?.timeout_s ?? 86400,
    grace_s: input.grace ?? current?.grace_s ?? 3600,
    schedule,
    tz,
    manual_resume: input.manual_resume ?? current?.manual_resume ?? false,
    methods: input.methods ?? current?.methods ?? '',
    channels: input.channels ?? current?.channels ?? '*',
    max_runtime_s: maxRuntime,
    min_runtime_s: minRuntime,
    failure_threshold: input.failure_threshold ?? current?.failure_threshold ?? 1,
    realert_s: input.realert !== undefined ? input.realert : (current?.realert_s ?? null),
    filter_http_body: input.filter_http_body ?? current?.filter_http_body ?? false,
    filter_default_fail: input.filter_default_fail ?? current?.filter_default_fail ?? false,
    start_kw: input.start_kw ?? current?.start_kw ?? '',
    success_kw: input.success_kw ?? current?.success_kw ?? '',
    failure_kw: input.failure_kw ?? current?.failure_kw ?? '',
  };
}

/**
 * A check's `channels` as stored: "*" (all of the organisation's, now and later), "" (none), or
 * the comma-separated ids of channels named by id or by name — of this organisation only: an id
 * of another organisation's channel is refused like an unknown one (400, field `channels`).
 */
export async function resolveChannels(db: Db, orgId: string, value: string): Promise<string> {
  const text = value.trim();
  if (text === '*' || text === '') return text;
  const known = await listChannels(db, orgId);
  const ids = new Set<string>();
  for (const raw of text.split(',')) {
    const wanted = raw.trim();
    if (wanted === '') throw invalidField('channels', `empty channel identifier in "${value}"; separate channel ids with single commas`);
    const byId = known.filter((c) => c.id === wanted.toLowerCase());
    const matches = byId.length ? byId : known.filter((c) => c.name === wanted);
    if (matches.length === 0) throw invalidField('channels', `invalid channel identifier: ${wanted} (no channel of this organisation has that id or name)`);
    if (matches.length > 1) throw invalidField('channels', `non-unique channel identifier: ${wanted} (${matches.length} channels have that name; use the id)`);
    ids.add(matches[0]!.id);
  }
  return [...ids].join(',');
}

/** The ids a check's `channels` stands for today, sorted ("*" resolved against the organisation's channels). */
export function channelIdsOf(row: Pick<CheckRow, 'channels'>, orgChannelIds: readonly string[]): string[] {
  const known = new Set(orgChannelIds);
  const ids = row.channels === '*' ? orgChannelIds : row.channels.split(',').map((c) => c.trim()).filter((c) => known.has(c));
  return [...ids].sort();
}

export async function createCheck(store: Db, orgId: string, input: CheckInput): Promise<CheckRow> {
  if (input.channels !== undefined) input = { ...input, channels: await resolveChannels(store, orgId, input.channels) };
  const columns = columnsFor(input);
  return jobsDb(store)
    .insertInto('checks')
    .values({ id: newId(), org_id: orgId, ...columns })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateCheck(store: Db, orgId: string, id: string, input: CheckInput): Promise<CheckRow> {
  return jobsDb(store).transaction().execute(async (trx) => {
    const current = await lockCheck(trx, orgId, id);
    if (input.channels !== undefined) input = { ...input, channels: await resolveChannels(trx, orgId, input.channels) };
    const columns = columnsFor(input, current);
    const before = policyOf(current);
    const after = policyOf({ ...current, ...columns });
    const scheduleChanged = (['kind', 'timeoutS', 'graceS', 'schedule', 'tz'] as const).some((k) => before[k] !== after[k]);
    // A new schedule moves the pending deadlines of an up check waiting for its next ping.
    const moved = scheduleChanged && current.status === 'up' && current.last_ping_at && !current.last_start_at ? deadlinesAfter(after, current.last_ping_at) : null;
    const updated = await trx
      .updateTable('checks')
      .set({ ...columns, ...(moved && { late_at: moved.lateAt, down_at: moved.downAt }) })
      .where('id', '=', id)
      .where('org_id', '=', orgId)
      .returningAll()
      .executeTakeFirstOrThrow();
    // The alert manager routes the check's alerts (channels, re-alert as repeat interval).
    if (updated.channels !== current.channels || updated.realert_s !== current.realert_s) await rerouteCheck(trx, updated, new Date());
    return updated;
  });
}

/** Reads a check of the organisation, locking it for the rest of the transaction. */
export async function lockCheck(trx: JobsTransaction, orgId: string, id: string): Promise<CheckRow> {
  const row = await trx.selectFrom('checks').selectAll().where('id', '=', id).where('org_id', '=', orgId).forUpdate().executeTakeFirst();
  if (!row) throw notFound('Check');
  return row;
}

export async function getCheck(store: Db, orgId: string, id: string): Promise<CheckRow> {
  const row = await jobsDb(store).selectFrom('checks').selectAll().where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
  if (!row) throw notFound('Check');
  return row;
}

/** A check of the organisation, or undefined (live updates announced by another instance). */
export async function findCheck(store: Db, orgId: string, id: string): Promise<CheckRow | undefined> {
  return jobsDb(store).selectFrom('checks').selectAll().where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
}

/** The check a status badge names (its badge key is the credential: no organisation is given). */
export async function findCheckByBadgeKey(store: Db, badgeKey: string): Promise<CheckRow | undefined> {
  return jobsDb(store).selectFrom('checks').selectAll().where('badge_key', '=', badgeKey).executeTakeFirst();
}

/** Checks with a deadline passed at `now` (missed run, run over its time limit, a stale legacy reminder), at most `limit`. */
export async function dueChecks(store: Db, now: Date, limit: number): Promise<{ id: string; org_id: string }[]> {
  return jobsDb(store)
    .selectFrom('checks')
    .select(['id', 'org_id'])
    .where((eb) =>
      eb.or([
        eb('down_at', '<=', now),
        eb('runtime_deadline_at', '<=', now),
        eb.and([eb('next_realert_at', '<=', now), eb('status', '=', 'down')]),
      ]),
    )
    .limit(limit)
    .execute();
}

/** Locks a check for a sweep, skipping it (undefined) when another instance or a ping holds it. */
export async function lockCheckIfFree(trx: JobsTransaction, id: string): Promise<CheckRow | undefined> {
  return trx.selectFrom('checks').selectAll().where('id', '=', id).forUpdate().skipLocked().executeTakeFirst();
}

/** Writes a check's new lifecycle state; returns the row as stored. */
export async function writeCheckState(trx: JobsTransaction, id: string, state: CheckState): Promise<CheckRow> {
  return trx.updateTable('checks').set(stateColumns(state)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export interface CheckFilter {
  tags?: string[];
  slug?: string;
}

export async function listChecks(store: Db, orgId: string, filter: CheckFilter = {}): Promise<CheckRow[]> {
  let q = jobsDb(store).selectFrom('checks').selectAll().where('org_id', '=', orgId);
  if (filter.slug !== undefined) q = q.where('slug', '=', filter.slug);
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  const wanted = filter.tags ?? [];
  return wanted.length ? rows.filter((r) => wanted.every((t) => r.tags.split(' ').includes(t))) : rows;
}

export async function deleteCheck(store: Db, orgId: string, id: string, now = new Date()): Promise<CheckRow> {
  return jobsDb(store)
    .transaction()
    .execute(async (trx) => {
      const row = await trx.deleteFrom('checks').where('id', '=', id).where('org_id', '=', orgId).returningAll().executeTakeFirst();
      if (!row) throw notFound('Check');
      // An alerted check that goes away resolves its alert (else it would fire, and remind, forever).
      if (row.alerted_down) await endCheckAlert(trx, row, 'deleted', now);
      // Its maintenance windows go with it (they are the alert manager's mute windows since 011).
      await deleteMuteWindowsWith(trx, orgId, 'maintenance', { name: 'check_id', op: '=', value: row.id });
      return row;
    });
}

export async function pauseCheck(store: Db, orgId: string, id: string, now = new Date()): Promise<CheckRow> {
  return jobsDb(store).transaction().execute(async (trx) => {
    const current = await lockCheck(trx, orgId, id);
    if (current.status === 'paused') return current;
    await trx.insertInto('flips').values({ org_id: orgId, check_id: id, created_at: now, old_status: current.status, new_status: 'paused', reason: 'paused by user' }).execute();
    const paused = await trx
      .updateTable('checks')
      .set({ status: 'paused', status_reason: 'paused by user', last_start_at: null, last_start_rid: null, late_at: null, down_at: null, runtime_deadline_at: null, next_realert_at: null, alerted_down: false, consecutive_failures: 0 })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // A paused check is not monitored: an alert it had resolves (no reminders while paused).
    if (current.alerted_down) await endCheckAlert(trx, paused, 'paused', now);
    return paused;
  });
}

/** Resumes a paused check: it becomes "new" and waits for its next ping (Healthchecks semantics). 409 if not paused. */
export async function resumeCheck(store: Db, orgId: string, id: string, now = new Date()): Promise<CheckRow> {
  return jobsDb(store).transaction().execute(async (trx) => {
    const current = await lockCheck(trx, orgId, id);
    if (current.status !== 'paused') throw conflict('check is not paused');
    await trx.insertInto('flips').values({ org_id: orgId, check_id: id, created_at: now, old_status: 'paused', new_status: 'new', reason: 'resumed by user' }).execute();
    return trx.updateTable('checks').set({ status: 'new', status_reason: 'resumed by user' }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  });
}

/** The native API's view of a check (also what live updates carry). */
export function checkView(row: CheckRow, baseUrl: string, pingKey: string, recentDurations: number[] = [], now = new Date()): CheckView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    tags: row.tags ? row.tags.split(' ') : [],
    description: row.description,
    kind: row.kind,
    timeout: row.timeout_s,
    grace: row.grace_s,
    schedule: row.schedule,
    tz: row.tz,
    max_runtime: row.max_runtime_s,
    min_runtime: row.min_runtime_s,
    failure_threshold: row.failure_threshold,
    realert: row.realert_s,
    manual_resume: row.manual_resume,
    methods: row.methods,
    channels: row.channels,
    status: displayStatus({ status: row.status, lateAt: row.late_at }, now),
    running: row.last_start_at !== null,
    status_reason: row.status_reason,
    last_ping_at: row.last_ping_at?.toISOString() ?? null,
    // The next deadline of the schedule, also while down: a check down because a run failed or ran too
    // long still expects its next run then (an hour away, say); only a missed run leaves it in the past.
    next_expected_at: row.status === 'up' || row.status === 'down' ? (row.late_at?.toISOString() ?? null) : null,
    last_duration_ms: row.last_duration_ms === null ? null : Number(row.last_duration_ms),
    n_pings: row.n_pings,
    created_at: row.created_at.toISOString(),
    ping_url: `${baseUrl}/ping/${row.id}`,
    slug_ping_url: row.slug ? `${baseUrl}/ping/${pingKey}/${row.slug}` : null,
    schedule_text: describeSchedule(policyOf(row)),
    schedule_syntax: row.kind === 'cron' ? scheduleSyntax(row.schedule) : null,
    badge_url: badgeUrl(baseUrl, row.badge_key),
    filter_http_body: row.filter_http_body,
    filter_default_fail: row.filter_default_fail,
    start_kw: row.start_kw,
    success_kw: row.success_kw,
    failure_kw: row.failure_kw,
    recent_durations: recentDurations,
  };
}

/** A check's status badge (SVG, two states: up / down), as Healthchecks' `badge_url`; `/b/3/…` adds "late". */
export const badgeUrl = (baseUrl: string, badgeKey: string, states: 2 | 3 = 2, format: 'svg' | 'json' | 'shields' = 'svg') => `${baseUrl}/b/${states}/${badgeKey}.${format}`;

/** Durations (ms) of the last `limit` finished runs of each check, oldest first. */
export async function recentDurations(store: Db, orgId: string, checkIds: string[], limit = 20): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  if (checkIds.length === 0) return result;
  const rows = await jobsDb(store)
    .selectFrom((eb) =>
      eb
        .selectFrom('runs')
        .select(['check_id', 'duration_ms', 'id'])
        .select((e) => e.fn.agg<number>('row_number').over((o) => o.partitionBy('check_id').orderBy('id', 'desc')).as('rn'))
        .where('org_id', '=', orgId)
        .where('check_id', 'in', checkIds)
        .where('duration_ms', 'is not', null)
        .as('r'),
    )
    .select(['check_id', 'duration_ms'])
    .where('rn', '<=', limit)
    .orderBy('id')
    .execute();
  for (const r of rows) {
    const list = result.get(r.check_id) ?? [];
    list.push(Number(r.duration_ms));
    result.set(r.check_id, list);
  }
  return result;
}
