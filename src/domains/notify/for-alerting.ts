import { sql, type Kysely } from 'kysely';
import { newId } from '../../platform/ids.js';
import { ownTables, type Database } from '../../platform/store/index.js';

/** The notify tables this file touches (swap for the domain's own tables type once notify has one). */
type OutboxTables = Pick<Database, 'channels' | 'outbox'>;

export interface AlertNotifications {
  orgId: string;
  alertId: string;
  /** Channel ids to notify, or '*' for every channel of the organisation (ids of other organisations are ignored). */
  channels: '*' | string[];
  /** The payload a receiver gets, given the notification's id (stable across retries, so receivers can dedupe). */
  payloadFor: (notificationId: string) => Record<string, unknown>;
}

/**
 * What the alerting domain asks of notify: queue one notification per channel for a new alert, in
 * the caller's transaction (so the alert and its notifications commit or roll back together), in
 * one statement whatever the number of channels. A channel already notified of this alert is skipped.
 * Returns how many channels were targeted.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any domain's view of the caller's transaction
export async function queueAlertNotifications(db: Kysely<any>, input: AlertNotifications): Promise<number> {
  const own = ownTables<OutboxTables>(db);
  let channels = own.selectFrom('channels').select('id').where('org_id', '=', input.orgId);
  if (input.channels !== '*') {
    if (input.channels.length === 0) return 0;
    channels = channels.where('id', 'in', input.channels);
  }
  const targets = await channels.execute();
  if (targets.length === 0) return 0;
  const rows = targets.map((channel) => {
    const id = newId();
    return { id, org_id: input.orgId, channel_id: channel.id, alert_id: input.alertId, payload: JSON.stringify(input.payloadFor(id)), next_attempt_at: sql<Date>`now()` };
  });
  await own
    .insertInto('outbox')
    .values(rows)
    .onConflict((oc) => oc.columns(['channel_id', 'alert_id']).doNothing())
    .execute();
  return targets.length;
}
