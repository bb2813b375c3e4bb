import type { AppContext } from '../../server/context.js';
import { checkView, recentDurations, type CheckRow } from './checks.js';

/** Pushes a check's new state to the dashboards of its organisation (only if one is listening). */
export async function publishCheck(ctx: AppContext, row: CheckRow): Promise<void> {
  if (!ctx.live.hasSubscribers(row.org_id)) return;
  const [org, durations] = await Promise.all([
    ctx.db.selectFrom('orgs').select('ping_key').where('id', '=', row.org_id).executeTakeFirstOrThrow(),
    recentDurations(ctx.db, row.org_id, [row.id]),
  ]);
  ctx.live.publish(row.org_id, { type: 'check', data: checkView(row, ctx.baseUrl, org.ping_key, durations.get(row.id) ?? []) });
}

export function publishCheckDeleted(ctx: AppContext, orgId: string, id: string): void {
  ctx.live.publish(orgId, { type: 'check.deleted', data: { id } });
}
