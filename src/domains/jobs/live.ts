import type { Logger } from 'pino';
import type { LiveHub } from '../../platform/live.js';
import { orgPingKey } from '../accounts/index.js';
import { checkView, findCheck, recentDurations, type CheckRow } from './checks.js';
import type { Db } from '../../platform/store/index.js';

/** What pushing a check's state to dashboards needs. */
export interface LiveDeps {
  db: Db;
  live: LiveHub;
  logger: Logger;
  /** Public base URL for the links in a check's view. */
  baseUrl: string;
}

/**
 * Ping keys by organisation. A key never changes once the organisation exists, so each is read once
 * per process instead of once per live event (which follows every ping while a dashboard is open).
 */
const pingKeys = new Map<string, string>();

export async function pingKeyOf(deps: Pick<LiveDeps, 'db'>, orgId: string): Promise<string> {
  let key = pingKeys.get(orgId);
  if (key === undefined) {
    key = await orgPingKey(deps.db, orgId);
    pingKeys.set(orgId, key);
  }
  return key;
}

/** Pushes a check's new state to this instance's dashboards of its organisation (only if one is listening). */
async function pushCheck(deps: LiveDeps, row: CheckRow): Promise<void> {
  if (!deps.live.hasSubscribers(row.org_id)) return;
  const [pingKey, durations] = await Promise.all([pingKeyOf(deps, row.org_id), recentDurations(deps.db, row.org_id, [row.id])]);
  deps.live.publish(row.org_id, { type: 'check', data: checkView(row, deps.baseUrl, pingKey, durations.get(row.id) ?? []) });
}

/**
 * A check changed: update dashboards here and tell the other instances. Never rejects: a failed
 * live update is logged, and must not fail the request or sweep that changed the check.
 */
export async function publishCheck(deps: LiveDeps, row: CheckRow): Promise<void> {
  deps.live.announce(row.org_id, { topic: 'check', id: row.id });
  await pushCheck(deps, row).catch((error: unknown) => deps.logger.warn({ err: error }, 'live update failed'));
}

export function publishCheckDeleted(deps: Pick<LiveDeps, 'live'>, orgId: string, id: string): void {
  deps.live.announce(orgId, { topic: 'check.deleted', id });
  deps.live.publish(orgId, { type: 'check.deleted', data: { id } });
}

/** How changes announced by other instances become events here. */
export function resolveRemoteChecks(deps: LiveDeps): void {
  deps.live.onRemoteChange('check', async (orgId, id) => {
    const row = await findCheck(deps.db, orgId, id);
    if (row) await pushCheck(deps, row);
  });
  deps.live.onRemoteChange('check.deleted', async (orgId, id) => deps.live.publish(orgId, { type: 'check.deleted', data: { id } }));
}
