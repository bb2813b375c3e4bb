import type { LiveHub } from '../../platform/live.js';
import type { Db } from '../../platform/store/index.js';
import { toSilence } from './manager.js';
import { selectChangedInstances, selectLiveSilences } from './store.js';
import { alertViewOf } from './views.js';

/** Changes are re-read this far back: a transaction that committed late, with an earlier timestamp, is still seen. */
const OVERLAP_MS = 10_000;
const LIMIT = 1000;

export interface LiveCursor {
  /** Changes after this instant are looked at (minus the overlap). */
  since: Date;
  /** `org/fingerprint` → updated_at (ms) already published, within the overlap. */
  seen: Map<string, number>;
}

/**
 * Publishes the `alert` live event (the instance's AlertView) for every instance changed since the
 * cursor, once per change, to this instance's subscribers of its organisation. Every web instance
 * reads the shared store itself, so no cross-instance announcement is needed.
 */
export async function publishAlertChanges(deps: { db: Db; live: LiveHub }, cursor: LiveCursor): Promise<number> {
  const from = new Date(cursor.since.getTime() - OVERLAP_MS);
  const rows = await selectChangedInstances(deps.db, from, LIMIT);
  const now = Date.now();
  const silencesByOrg = new Map<string, Awaited<ReturnType<typeof selectLiveSilences>>>();
  let published = 0;
  for (const row of rows) {
    const key = `${row.org_id}/${row.fingerprint}`;
    const at = row.updated_at.getTime();
    if (cursor.seen.get(key) === at) continue;
    cursor.seen.set(key, at);
    if (at > cursor.since.getTime()) cursor.since = row.updated_at;
    if (!deps.live.hasSubscribers(row.org_id)) continue;
    let silences = silencesByOrg.get(row.org_id);
    if (!silences) {
      silences = await selectLiveSilences(deps.db, row.org_id, new Date(now));
      silencesByOrg.set(row.org_id, silences);
    }
    deps.live.publish(row.org_id, { type: 'alert', data: alertViewOf(row, silences.map(toSilence), now) });
    published++;
  }
  const horizon = cursor.since.getTime() - OVERLAP_MS;
  for (const [key, at] of cursor.seen) if (at < horizon) cursor.seen.delete(key);
  return published;
}
