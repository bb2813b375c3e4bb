import { sql, type Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../platform/store/index.js';
import { newId } from '../../platform/ids.js';

export type AlertState = 'firing' | 'resolved' | 'reminder';

export interface AlertInput {
  orgId: string;
  /** Which part of Vigil raised it: 'job', 'log', 'fraud'. */
  source: string;
  /** What it is about (a check id, a rule id, a shipment id). */
  subjectId: string;
  /** What happened: 'down', 'fail', 'too_long', 'up', ... */
  kind: string;
  state: AlertState;
  /**
   * Stable key of this occurrence: the same key never yields a second alert, whatever restarts
   * or redeliveries happen (e.g. `job:<check>:down:<deadline>`).
   */
  idempotencyKey: string;
  title: string;
  message: string;
  details?: Record<string, unknown>;
  /** Channel ids to notify, or '*' for every channel of the organisation. */
  channels: '*' | string[];
  at?: Date;
}

/**
 * The JSON every receiver gets; `id` is stable across retries so receivers can dedupe. The notifier
 * parses stored payloads with this schema before delivery (which also restores a readable key
 * order: jsonb reorders keys).
 */
export const notificationPayloadSchema = z.object({
  id: z.string(),
  // Lenient on purpose: a state added here later must still be delivered by an older notifier.
  type: z.custom<`alert.${AlertState}`>((v) => typeof v === 'string' && v.startsWith('alert.'), 'must be alert.<state>'),
  alert: z.object({
    id: z.string(),
    source: z.string(),
    kind: z.string(),
    subject_id: z.string(),
    title: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    created_at: z.string(),
  }),
  org_id: z.string(),
});
export type NotificationPayload = z.infer<typeof notificationPayloadSchema>;

/**
 * Records an alert and queues one notification per channel, inside the caller's transaction, so
 * the state change that caused the alert and its notifications commit (or roll back) together.
 * Returns `created: false` when the idempotency key was already used: nothing is queued twice.
 */
export async function raiseAlert(trx: Transaction<Database>, input: AlertInput): Promise<{ id: string; created: boolean }> {
  const id = newId();
  const at = input.at ?? new Date();
  const details = input.details ?? {};
  const inserted = await trx
    .insertInto('alerts')
    .values({
      id,
      org_id: input.orgId,
      source: input.source,
      subject_id: input.subjectId,
      kind: input.kind,
      idempotency_key: input.idempotencyKey,
      title: input.title,
      message: input.message,
      details: JSON.stringify({ ...details, state: input.state }),
      created_at: at,
    })
    .onConflict((oc) => oc.columns(['org_id', 'idempotency_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx
      .selectFrom('alerts')
      .select('id')
      .where('org_id', '=', input.orgId)
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirstOrThrow();
    return { id: existing.id, created: false };
  }

  let channels = trx.selectFrom('channels').select('id').where('org_id', '=', input.orgId);
  if (input.channels !== '*') {
    if (input.channels.length === 0) return { id, created: true };
    channels = channels.where('id', 'in', input.channels);
  }
  const targets = await channels.execute();
  if (targets.length === 0) return { id, created: true };
  const alert = {
    id,
    source: input.source,
    kind: input.kind,
    subject_id: input.subjectId,
    title: input.title,
    message: input.message,
    details,
    created_at: at.toISOString(),
  };
  // One statement for every channel: the caller's transaction (a ping, a sweep) stays short.
  const rows = targets.map((channel) => {
    const outboxId = newId();
    const payload: NotificationPayload = { id: outboxId, type: `alert.${input.state}`, alert, org_id: input.orgId };
    return { id: outboxId, org_id: input.orgId, channel_id: channel.id, alert_id: id, payload: JSON.stringify(payload), next_attempt_at: sql<Date>`now()` };
  });
  await trx
    .insertInto('outbox')
    .values(rows)
    .onConflict((oc) => oc.columns(['channel_id', 'alert_id']).doNothing())
    .execute();
  return { id, created: true };
}
