/**
 * Mute windows' verbs: create (from the API, or from the jobs' maintenance routes with the window
 * already validated by them), list, delete, and "is this instance muted now?" for the jobs
 * lifecycle. Creating or deleting a window wakes the groups with a firing member, so that their
 * wake time accounts for the window's boundaries (a group it held back is notified when it closes).
 */
import { Cron } from 'croner';
import type { z } from 'zod';
import { durationTextMs, type MuteWindowView, type muteWindowInput } from '../../contracts/alerting.js';
import { invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { parseInstant } from '../../platform/instants.js';
import type { Db } from '../../platform/store/index.js';
import { toMuteWindow } from './manager.js';
import { isOpen, muteMatches, muteState, neverCloses, nextBoundary, type MuteKind, type MuteWindow } from './mutes.js';
import { matchersProblem, parseMatcher, type Matcher } from './silences.js';
import { deleteMuteWindowRow, deleteMuteWindowsWithMatcher, insertMuteWindow, selectLiveMuteWindows, selectMuteWindows, touchFiringInstances, wakeFiringGroups, type MuteWindowRow, type MuteWindowSpec } from './store.js';
import { alertingDb } from './tables.js';

export type MuteWindowRecord = MuteWindowRow;

const MAX_DURATION_S = 31 * 86_400;

const validZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** An instant of the API (ISO 8601 with a zone, unix seconds, now-<duration>) as a Date; a 400 naming `field` otherwise. */
function instantOf(field: string, text: string, now: Date): Date {
  const seconds = parseInstant(text, now.getTime() / 1000);
  if (seconds === null) throw invalidField(field, `"${text}" is not an instant: use ISO 8601 with a zone, e.g. 2026-03-01T12:00:00Z`);
  return new Date(seconds * 1000);
}

/** Checks an API request and turns it into a spec; throws a 400 naming the field. */
function muteWindowSpecOf(input: z.output<typeof muteWindowInput>, now: Date): MuteWindowSpec {
  const matchers: Matcher[] = input.matchers.map((m, i) => {
    if (typeof m !== 'string') return m;
    try {
      return parseMatcher(m);
    } catch (error) {
      throw invalidField(`matchers[${i}]`, (error as Error).message);
    }
  });
  const common = { kind: input.kind, name: input.name, reason: input.reason, matchers };
  if (input.cron !== undefined) {
    if (input.starts_at !== undefined || input.ends_at !== undefined) throw invalidField('cron', 'give either cron and duration (recurring) or starts_at and ends_at (one-off), not both');
    if (!validZone(input.tz)) throw invalidField('tz', `unknown time zone "${input.tz}"; use an IANA name such as "Europe/Paris" or "UTC"`);
    const fields = input.cron.trim().split(/\s+/).length;
    if (fields !== 5) throw invalidField('cron', `invalid cron expression "${input.cron}": it has ${fields} field${fields === 1 ? '' : 's'}; a cron expression has five (minute hour day-of-month month day-of-week)`);
    try {
      if (!new Cron(input.cron, { timezone: input.tz, paused: true }).nextRun(now)) throw new Error('it never fires again');
    } catch (error) {
      throw invalidField('cron', `invalid cron expression "${input.cron}": ${(error as Error).message.replace(/^CronPattern: /, '')}`);
    }
    if (input.duration === undefined) throw invalidField('duration', 'a recurring window (cron) needs its duration, e.g. 2h');
    const d = durationTextMs(input.duration);
    if (d === null || d < 1000 || d % 1000 !== 0 || d > MAX_DURATION_S * 1000) throw invalidField('duration', 'must be whole seconds, from 1s to 31d');
    return { ...common, startsAt: null, endsAt: null, cron: input.cron.trim(), tz: input.tz, durationS: d / 1000 };
  }
  if (input.duration !== undefined) throw invalidField('duration', 'duration is for recurring windows (with cron); a one-off window takes starts_at and ends_at');
  if (input.starts_at === undefined) throw invalidField('starts_at', 'give starts_at and ends_at (one-off) or cron and duration (recurring)');
  if (input.ends_at === undefined) throw invalidField('ends_at', 'a one-off window needs ends_at');
  const startsAt = instantOf('starts_at', input.starts_at, now);
  const endsAt = instantOf('ends_at', input.ends_at, now);
  if (endsAt <= startsAt) throw invalidField('ends_at', 'must be after starts_at');
  if (endsAt <= now) throw invalidField('ends_at', 'must be in the future');
  return { ...common, startsAt, endsAt, cron: null, tz: input.tz, durationS: null };
}

/**
 * Stores a window whose fields are checked, after the checks every window shares: its matchers
 * (as a silence's) and a recurrence that closes. Throws a 400 naming the field.
 */
export async function createMuteWindow(db: Db, orgId: string, spec: MuteWindowSpec, createdBy: string | null, now = new Date()): Promise<MuteWindowRecord> {
  const problem = matchersProblem(spec.matchers);
  if (problem) throw invalidField('matchers', problem.replace(/^a silence/, 'a mute window'));
  const id = newId();
  const row = { id, orgId, ...spec, createdBy, createdAt: now };
  const window: MuteWindow = { id, kind: spec.kind, matchers: spec.matchers, startsAt: spec.startsAt?.getTime() ?? null, endsAt: spec.endsAt?.getTime() ?? null, cron: spec.cron, tz: spec.tz, durationMs: spec.durationS === null ? null : spec.durationS * 1000 };
  if (neverCloses(window, now.getTime())) {
    throw invalidField('duration', 'its occurrences overlap so much that the window would never close: shorten the duration');
  }
  return alertingDb(db)
    .transaction()
    .execute(async (trx) => {
      const created = await insertMuteWindow(trx, row);
      await wakeFiringGroups(trx, orgId, now);
      await touchFiringInstances(trx, orgId);
      return created;
    });
}

export async function createMuteWindowFromInput(db: Db, orgId: string, input: z.output<typeof muteWindowInput>, createdBy: string | null, now = new Date()): Promise<MuteWindowView> {
  return muteWindowViewOf(await createMuteWindow(db, orgId, muteWindowSpecOf(input, now), createdBy, now), now);
}

export async function listMuteWindows(db: Db, orgId: string, kind?: MuteKind): Promise<MuteWindowRecord[]> {
  return selectMuteWindows(db, orgId, kind);
}

/** Deletes a window (only of `kind` when given: /api/v1/maintenance deletes maintenance windows only); 404 when none. */
export async function deleteMuteWindow(db: Db, orgId: string, id: string, kind?: MuteKind, now = new Date()): Promise<void> {
  await alertingDb(db)
    .transaction()
    .execute(async (trx) => {
      if (!(await deleteMuteWindowRow(trx, orgId, id, kind))) throw notFound(kind === 'maintenance' ? 'Maintenance window' : 'Mute window');
      await wakeFiringGroups(trx, orgId, now);
      await touchFiringInstances(trx, orgId);
    });
}

/**
 * Deletes the windows of `kind` that have this exact matcher, in the caller's transaction: a check
 * that is deleted takes its maintenance windows (`check_id="<id>"`) with it, as the foreign key of
 * the former maintenance_windows table did.
 */
export async function deleteMuteWindowsWith(trx: Db, orgId: string, kind: MuteKind, matcher: Matcher): Promise<void> {
  await deleteMuteWindowsWithMatcher(trx, orgId, kind, matcher);
}

/**
 * Reads the windows (of `kind`) of these organisations once, and answers "are these labels muted
 * at `now`?" for each: the jobs sweeper asks it for every due check.
 */
export async function mutedChecker(db: Db, orgIds: readonly string[], now: Date, kind?: MuteKind): Promise<(orgId: string, labels: Readonly<Record<string, string>>) => boolean> {
  const t = now.getTime();
  const open = (await selectLiveMuteWindows(db, orgIds, now, kind)).map((r) => ({ orgId: r.org_id, w: toMuteWindow(r) })).filter(({ w }) => isOpen(w, t));
  return (orgId, labels) => open.some(({ orgId: o, w }) => o === orgId && muteMatches(w, labels));
}

export function muteWindowViewOf(row: MuteWindowRecord, now: Date): MuteWindowView {
  const w = toMuteWindow(row);
  const next = nextBoundary(w, now.getTime());
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    reason: row.reason,
    matchers: row.matchers,
    starts_at: row.starts_at?.toISOString() ?? null,
    ends_at: row.ends_at?.toISOString() ?? null,
    cron: row.cron,
    tz: row.tz,
    duration_seconds: row.duration_s,
    state: muteState(w, now.getTime()),
    next_change: next === null ? null : new Date(next).toISOString(),
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}
