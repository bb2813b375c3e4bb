/**
 * The alert manager's API verbs: instances (list, history, acknowledge) and silences (create, list,
 * expire). Routes validate and call these; errors are DomainErrors naming the field.
 */
import { durationTextMs, type AlertView, type SilenceView, type alertListQuery, type silenceInput } from '../../contracts/alerting.js';
import type { z } from 'zod';
import { invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { parseInstant } from '../../platform/instants.js';
import type { Db } from '../../platform/store/index.js';
import { acknowledge } from './instance.js';
import { activeSilences, loadSuppressions } from './manager.js';
import { matchersProblem, parseMatcher, type Matcher } from './silences.js';
import {
  endSilence,
  insertSilence,
  insertTransitions,
  lockInstance,
  selectInstance,
  selectInstances,
  selectSilences,
  selectTransitions,
  touchFiringInstances,
  wakeFiringGroups,
} from './store.js';
import { alertingDb } from './tables.js';
import { alertViewOf, silenceViewOf } from './views.js';
import { sql } from 'kysely';


/** Active silences and open mute windows (what `silenced_by` names). */
async function liveSilences(db: Db, orgId: string, now: Date) {
  return activeSilences(await loadSuppressions(db, orgId, now), now.getTime());
}

export async function listAlerts(db: Db, orgId: string, q: z.output<typeof alertListQuery>, now = new Date()): Promise<AlertView[]> {
  const rows = await selectInstances(db, orgId, {
    limit: q.limit,
    ...(q.state ? { state: q.state } : {}),
    ...(q.source ? { source: q.source } : {}),
    ...(q.rule_id ? { ruleId: q.rule_id } : {}),
  });
  const silences = await liveSilences(db, orgId, now);
  return rows.map((r) => alertViewOf(r, silences, now.getTime()));
}

const HISTORY_LIMIT = 500;

export async function alertHistory(db: Db, orgId: string, fingerprint: string, now = new Date()) {
  const row = await selectInstance(db, orgId, fingerprint);
  if (!row) throw notFound('Alert');
  const [silences, transitions] = await Promise.all([liveSilences(db, orgId, now), selectTransitions(db, orgId, fingerprint, HISTORY_LIMIT)]);
  return {
    alert: alertViewOf(row, silences, now.getTime()),
    transitions: transitions.reverse().map((t) => ({
      from: t.from_state as 'inactive' | 'pending' | 'firing' | 'resolved',
      to: t.to_state as 'inactive' | 'pending' | 'firing' | 'resolved' | 'acknowledged',
      at: t.at.toISOString(),
      reason: t.reason,
      value: t.value,
    })),
  };
}

/**
 * Acknowledges the current occurrence of a firing instance: reminders of it stop, its resolve is
 * still sent. Acknowledging twice, or an instance that does not fire, changes nothing.
 */
export async function acknowledgeAlert(db: Db, orgId: string, fingerprint: string, by: string | null, now = new Date()): Promise<AlertView> {
  await alertingDb(db)
    .transaction()
    .execute(async (trx) => {
      const row = await lockInstance(trx, orgId, fingerprint);
      if (!row) throw notFound('Alert');
      const prev = { state: row.state, activeSince: null, firingSince: null, clearSince: null, value: row.value, acknowledgedAt: row.acknowledged_at?.getTime() ?? null };
      const next = acknowledge(prev, now.getTime());
      if (next === prev) return;
      await alertingDb(trx)
        .updateTable('alert_instances')
        .set({ acknowledged_at: now, acknowledged_by: by, updated_at: sql<Date>`clock_timestamp()` })
        .where('org_id', '=', orgId)
        .where('fingerprint', '=', fingerprint)
        .execute();
      await insertTransitions(trx, [{ org_id: orgId, fingerprint, at: now, from_state: 'firing', to_state: 'acknowledged', reason: `acknowledged${by ? ` by ${by}` : ''}`, value: row.value }]);
    });
  return (await alertHistory(db, orgId, fingerprint, now)).alert;
}

/** An instant of the API (ISO 8601 with a zone, unix seconds, now-<duration>) as a Date; a 400 naming `field` otherwise. */
function instantOf(field: string, text: string, now: Date): Date {
  const seconds = parseInstant(text, now.getTime() / 1000);
  if (seconds === null) throw invalidField(field, `"${text}" is not an instant: use ISO 8601 with a zone, e.g. 2026-03-01T12:00:00Z`);
  return new Date(seconds * 1000);
}

const DEFAULT_SILENCE_MS = 2 * 3_600_000;

export async function createSilence(db: Db, orgId: string, input: z.output<typeof silenceInput>, createdBy: string | null, now = new Date()): Promise<SilenceView> {
  const matchers: Matcher[] = input.matchers.map((m, i) => {
    if (typeof m !== 'string') return m;
    try {
      return parseMatcher(m);
    } catch (error) {
      throw invalidField(`matchers[${i}]`, (error as Error).message);
    }
  });
  const problem = matchersProblem(matchers);
  if (problem) throw invalidField('matchers', problem);
  const startsAt = input.starts_at ? instantOf('starts_at', input.starts_at, now) : now;
  if (input.ends_at !== undefined && input.duration !== undefined) throw invalidField('ends_at', 'give either ends_at or duration, not both');
  let endsAt: Date;
  if (input.ends_at !== undefined) endsAt = instantOf('ends_at', input.ends_at, now);
  else if (input.duration !== undefined) {
    const d = durationTextMs(input.duration);
    if (d === null || d <= 0) throw invalidField('duration', 'must be a positive duration such as 30m or 2h');
    endsAt = new Date(startsAt.getTime() + d);
  } else endsAt = new Date(startsAt.getTime() + DEFAULT_SILENCE_MS);
  if (endsAt <= startsAt) throw invalidField('ends_at', 'must be after starts_at');
  if (endsAt <= now) throw invalidField('ends_at', 'must be in the future');
  const row = await insertSilence(db, { id: newId(), orgId, matchers, startsAt, endsAt, comment: input.comment, createdBy, createdAt: now });
  // Dashboards show which silences cover each firing instance: they get the change.
  await touchFiringInstances(db, orgId);
  return silenceViewOf(row, now.getTime());
}

export async function listSilences(db: Db, orgId: string, now = new Date(), limit = 500): Promise<SilenceView[]> {
  return (await selectSilences(db, orgId, limit)).map((r) => silenceViewOf(r, now.getTime()));
}

/** Expires a silence now (it stays in the history); groups it hid are woken: what fires unannounced is news. */
export async function expireSilence(db: Db, orgId: string, id: string, now = new Date()): Promise<SilenceView> {
  const row = await alertingDb(db)
    .transaction()
    .execute(async (trx) => {
      const ended = await endSilence(trx, orgId, id, now);
      if (!ended) throw notFound('Silence');
      await wakeFiringGroups(trx, orgId, now);
      await touchFiringInstances(trx, orgId);
      return ended;
    });
  return silenceViewOf(row, now.getTime());
}
