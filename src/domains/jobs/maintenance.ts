import { Cron } from 'croner';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import { maintenanceInputSchema, type maintenanceWindowSchema } from '../../contracts/jobs.js';
import { invalidField, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { jobsDb, type MaintenanceWindowsTable } from './tables.js';
import { validateCron } from './schedule.js';
import type { Db } from '../../platform/store/index.js';

export type MaintenanceWindow = Selectable<MaintenanceWindowsTable>;

export { maintenanceInputSchema };
export type MaintenanceInput = z.infer<typeof maintenanceInputSchema>;

/** Whether `now` falls inside the window. Pure: the sweeper asks it for each due check. */
export function isInWindow(w: Pick<MaintenanceWindow, 'starts_at' | 'ends_at' | 'cron' | 'tz' | 'duration_s'>, now: Date): boolean {
  if (w.cron && w.duration_s) {
    // The window is open if an occurrence started within the last `duration` seconds.
    const opened = new Cron(w.cron, { timezone: w.tz, paused: true }).nextRun(new Date(now.getTime() - w.duration_s * 1000));
    return opened !== null && opened <= now;
  }
  return !!w.starts_at && !!w.ends_at && w.starts_at <= now && now < w.ends_at;
}

export async function createMaintenance(store: Db, orgId: string, input: MaintenanceInput): Promise<MaintenanceWindow> {
  const db = jobsDb(store);
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
    const check = await db.selectFrom('checks').select('id').where('id', '=', input.check_id).where('org_id', '=', orgId).executeTakeFirst();
    if (!check) throw invalidField('check_id', 'no such check in this organisation');
  }
  return db
    .insertInto('maintenance_windows')
    .values({
      id: newId(),
      org_id: orgId,
      check_id: input.check_id ?? null,
      starts_at: input.cron ? null : (input.starts_at ?? null),
      ends_at: input.cron ? null : (input.ends_at ?? null),
      cron: input.cron ?? null,
      tz,
      duration_s: input.cron ? (input.duration ?? null) : null,
      reason: input.reason ?? '',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listMaintenance(store: Db, orgId: string): Promise<MaintenanceWindow[]> {
  return jobsDb(store).selectFrom('maintenance_windows').selectAll().where('org_id', '=', orgId).orderBy('created_at').execute();
}

export async function deleteMaintenance(store: Db, orgId: string, id: string): Promise<void> {
  const res = await jobsDb(store).deleteFrom('maintenance_windows').where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw notFound('Maintenance window');
}

/** The windows of these organisations that could matter to a sweep (read once per sweep). */
export async function windowsOfOrgs(store: Db, orgIds: string[]): Promise<Pick<MaintenanceWindow, 'org_id' | 'check_id' | 'starts_at' | 'ends_at' | 'cron' | 'tz' | 'duration_s'>[]> {
  if (orgIds.length === 0) return [];
  return jobsDb(store).selectFrom('maintenance_windows').select(['org_id', 'check_id', 'starts_at', 'ends_at', 'cron', 'tz', 'duration_s']).where('org_id', 'in', orgIds).execute();
}

export function maintenanceView(w: MaintenanceWindow): z.infer<typeof maintenanceWindowSchema> {
  return {
    id: w.id,
    check_id: w.check_id,
    starts_at: w.starts_at?.toISOString() ?? null,
    ends_at: w.ends_at?.toISOString() ?? null,
    cron: w.cron,
    duration: w.duration_s,
    tz: w.tz,
    reason: w.reason,
    created_at: w.created_at.toISOString(),
  };
}
