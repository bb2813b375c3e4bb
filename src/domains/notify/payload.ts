import type { NotifiedAlert } from '../../contracts/notify.js';

/**
 * How a notification of a recorded alert is stored and read back (pure).
 *
 * Invariants:
 * - An alert record (`alerts` row) holds the notification's content once: title, message and
 *   details. It is written once and never changed (a trigger refuses any UPDATE, migration 020),
 *   and its outbox rows reference it (`alert_id`, ON DELETE CASCADE): while an outbox row exists,
 *   its record exists as it was written (an organisation removed takes both). So an outbox row
 *   leaves out what its record holds, and a delivery, a retry or a re-send puts it back:
 *   receivers get what was queued.
 * - Only what equals the record is left out: a field the payload holds wins over the record's. A
 *   notification whose alert says something else than its record (raiseAlert records `details`
 *   with the state; receivers get them without it) keeps its own, and rows queued before this
 *   form existed (full payloads) are delivered as they are.
 * - A notification of no record (a test send, a "channel disabled" notice) keeps everything.
 */

/** What an alert record holds of a notification's alert. */
export interface RecordContent {
  title: string;
  message: string;
  details: Record<string, unknown>;
}

/** An alert as its outbox rows store it: without what its record holds. */
type StoredAlert = Omit<NotifiedAlert, keyof RecordContent> & Partial<RecordContent>;

/**
 * The alert an outbox row stores: `alert` less the fields equal to its record's (`details` by
 * identity: the record was written from the same object, or it differs).
 */
export function storedAlert(alert: NotifiedAlert, record: RecordContent): StoredAlert {
  const { title, message, details, ...rest } = alert;
  return {
    ...rest,
    ...(title === record.title ? {} : { title }),
    ...(message === record.message ? {} : { message }),
    ...(details === record.details ? {} : { details }),
  };
}

/**
 * The payload a receiver gets from a stored one and its alert record (null: the row has none):
 * the record's content, then what the row holds over it. Not checked here: the notifier parses
 * the result (`notificationPayload`) as it always did.
 */
export function deliveredPayload(stored: Record<string, unknown>, record: RecordContent | null): Record<string, unknown> {
  if (record === null) return stored;
  const alert = stored.alert;
  if (typeof alert !== 'object' || alert === null) return stored;
  return { ...stored, alert: { title: record.title, message: record.message, details: record.details, ...alert } };
}
