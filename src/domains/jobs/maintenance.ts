/**
 * Maintenance windows: since migration 011, mute windows of kind `maintenance` owned by the alert
 * manager (alerting), with matchers `source="job"` (every check of the organisation) or
 * `source="job", check_id="<id>"` (one check). This module keeps /api/v1/maintenance's contract
 * (its checks, messages and shapes, unchanged) as a view over them, and answers the lifecycle's
 * question "is this check in maintenance at t?" from them.
 */
import type { z } from 'zod';
import { maintenanceInputSchema, type maintenanceWindowSchema } from '../../contracts/jobs.js';
import { invalidField } from '../../platform/errors.js';
import type { Db } from '../../platform/store/index.js';
import { createMuteWindow, deleteMuteWindow, isMuteWindowOpen, listMuteWindows, mutedChecker, type MuteWindowRecord } from '../alerting/index.js';
import { validateCron } from './schedule.js';
import { jobsDb } from './tables.js';

export type MaintenanceWindow = MuteWindowRecord;

export { maintenanceInputSchema };
export type MaintenanceInput = z.infer<typeof maintenanceInputSchema>;

/** The labels of a check's alert instance that maintenance matchers name. */
export const maintenanceLabels = (checkId: string) => ({ source: 'job', check_id: checkId });

/** Whether `now` falls inside the window (start inclusive, end exclusive; a recurring one for `duration_s` after each occurrence). */
export function isInWindow(w: { starts_at: Date | null; ends_at: Date | null; cron: string | null; tz: string; duration_s: number | null }, now: Date): boolean {
  return isMuteWindowOpen(
    {
      id: '',
      kind: 'maintenance',
      matchers: [],
      startsAt: w.starts_at?.getTime() ?? null,
      endsAt: w.ends_at?.getTime() ?? null,
      cron: w.cron,
      tz: w.tz,
      durationMs: w.cron && w.duration_s ? w.duration_s * 1000 : null,
    },
    now.getTime(),
  );
}

export async function createMaintenance(store: Db, orgId: string, input: MaintenanceInput): Promise<MaintenanceWindow> {
  const tz = input.tz ?? 'UTC';
  if (input.cron !== undefined) {
    validateCron(input.cron, tz, 'cron');
    if (!input.duration) throw invalidField('duration', 'a recurring window (cron) needs its duration in seconds');
  } else {
    if (!input.starts_at) throw invalidField('starts_at', 'give starts_at and ends_at (one-off) or cron and duration (recurring)');
    if (!input.ends_at) throw invalidField('ends_at', 'a one-off window needs ends_at');
    if (new Date(input.ends_at) <= new Date(input.starts_at)) throw invalidField('ends_at', 'must be after starts_at');
  }
  if (input.check_id) {
    const check = await jobsDb(store).selectFrom('checks').select('id').where('id', '=', input.check_id).where('org_id', '=', orgId).executeTakeFirst();
    if (!check) throw invalidField('check_id', 'no such check in this organisation');
  }
  const recurring = input.cron !== undefined;
  return createMuteWindow(
    store,
    orgId,
    {
      kind: 'maintenance',
      name: 'maintenance',
      reason: input.reason ?? '',
      matchers: [{ name: 'source', op: '=', value: 'job' }, ...(input.check_id ? [{ name: 'check_id', op: '=' as const, value: input.check_id }] : [])],
      startsAt: recurring || !input.starts_at ? null : new Date(input.starts_at),
      endsAt: recurring || !input.ends_at ? null : new Date(input.ends_at),
      cron: input.cron ?? null,
      tz,
      durationS: recurring ? (input.duration ?? null) : null,
    },
    null,
  );
}

export async function listMaintenance(store: Db, orgId: string): Promise<MaintenanceWindow[]> {
  return listMuteWindows(store, orgId, 'maintenance');
}

export async function deleteMaintenance(store: Db, orgId: string, id: string): Promise<void> {
  await deleteMuteWindow(store, orgId, id, 'maintenance');
}

/**
 * Reads the maintenance windows of these organisations once (a sweep) and answers, for each due
 * check, whether it is in maintenance at `now`.
 */
export async function maintenanceChecker(store: Db, orgIds: string[], now: Date): Promise<(orgId: string, checkId: string) => boolean> {
  const muted = await mutedChecker(store, orgIds, now, 'maintenance');
  return (orgId, checkId) => muted(orgId, maintenanceLabels(checkId));
}

/** The check a maintenance window covers (its check_id matcher), null for the whole organisation. */
const checkIdOf = (w: MaintenanceWindow): string | null => w.matchers.find((m) => m.name === 'check_id' && m.op === '=')?.value ?? null;

export function maintenanceView(w: MaintenanceWindow): z.infer<typeof maintenanceWindowSchema> {
  return {
    id: w.id,
    check_id: checkIdOf(w),
    starts_at: w.starts_at?.toISOString() ?? null,
    ends_at: w.ends_at?.toISOString() ?? null,
    cron: w.cron,
    duration: w.duration_s,
    tz: w.tz,
    reason: w.reason,
    created_at: w.created_at.toISOString(),
  };
}
