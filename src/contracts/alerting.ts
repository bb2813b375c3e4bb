import { z } from 'zod';

/** The states an alert notification announces. */
export type AlertState = 'firing' | 'resolved' | 'reminder';

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
