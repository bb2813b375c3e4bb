import type { AppContext } from '../../platform/http/context.js';
import { checkView, recentDurations, type CheckRow } from './checks.js';

/**
 * Ping keys by organisation. A key never changes once the organisation exists, so each is read once
 * per process instead of once per live event (which follows every ping while a dashboard is open).
 */
const pingKeys = new Map<string, string>();

export async function pingKeyOf(ctx: AppContext, orgId: string): Promise<string> {
  let key = pingKeys.get(orgId);
  if (key === undefined) {
    key = (await ctx.db.selectFrom('orgs').select('ping_key').where('id', '=', orgId).executeTakeFirstOrThrow()).ping_key;
    pingKeys.set(orgId, key);
  }
  return key;
}

/** Pushes a check's new state to this instance's dashboards of its organisation (only if one is listening). */
async function pushCheck(ctx: AppContext, row: CheckRow): Promise<void> {
  if (!ctx.live.hasSubscribers(row.org_id)) return;
  const [pingKey, durations] = await Promise.all([pingKeyOf(ctx, row.org_id), recentDurations(ctx.db, row.org_id, [row.id])]);
  ctx.live.publish(row.org_id, { type: 'check', data: checkView(row, ctx.baseUrl, pingKey, durations.get(row.id) ?? []) });
}

/**
 * A check changed: update dashboards here and tell the other instances. Never rejects: a failed
 * live update is logged, and must not fail the request or sweep that changed the check.
 */
export async function publishCheck(ctx: AppContext, row: CheckRow): Promise<void> {
  ctx.live.announce(row.org_id, { topic: 'check', id: row.id });
  await pushCheck(ctx, row).catch((error: unknown) => ctx.logger.warn({ err: error }, 'live update failed'));
}

export function publishCheckDeleted(ctx: AppContext, orgId: string, id: string): void {
  ctx.live.announce(orgId, { topic: 'check.deleted', id });
  ctx.live.publish(orgId, { type: 'check.deleted', data: { id } });
}

/** How changes announced by other instances become events here. */
export function resolveRemoteChecks(ctx: AppContext): void {
  ctx.live.onRemoteChange('check', async (orgId, id) => {
    const row = await ctx.db.selectFrom('checks').selectAll().where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
    if (row) await pushCheck(ctx, row);
  });
  ctx.live.onRemoteChange('check.deleted', async (orgId, id) => ctx.live.publish(orgId, { type: 'check.deleted', data: { id } }));
}
