import { newId } from '../../platform/ids.js';
import { recordAlerts, recordedAlertId } from '../notify/index.js';
import type { Db } from '../../platform/store/index.js';

/** The states an alert notification announces (`alert.<state>` in the receivers' payload). */
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
 * Records an alert and queues one notification per channel, inside the caller's transaction
 * (`trx`: any domain's view of it), so the state change that caused the alert and its
 * notifications commit (or roll back) together. Returns `created: false` when the idempotency key
 * was already used: nothing is queued twice.
 */
export async function raiseAlert(trx: Db, input: AlertInput): Promise<{ id: string; created: boolean }> {
  const id = newId();
  const at = input.at ?? new Date();
  const details = input.details ?? {};
  const record = {
    id,
    orgId: input.orgId,
    source: input.source,
    subjectId: input.subjectId,
    kind: input.kind,
    idempotencyKey: input.idempotencyKey,
    title: input.title,
    message: input.message,
    details: { ...details, state: input.state },
    at,
  };
  const alert = { id, source: input.source, kind: input.kind, subject_id: input.subjectId, title: input.title, message: input.message, details, created_at: at.toISOString() };
  // In the caller's transaction: the alert and its notifications commit or roll back together.
  const recorded = await recordAlerts(trx, [{ record, type: `alert.${input.state}`, alert, channels: input.channels }]);
  if (recorded.has(id)) return { id, created: true };
  const existing = await recordedAlertId(trx, input.orgId, input.idempotencyKey);
  if (existing === undefined) throw new Error(`alert ${input.idempotencyKey} neither recorded nor found`);
  return { id: existing, created: false };
}
