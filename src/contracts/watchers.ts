import { z } from 'zod';
import { shipmentInput } from './shipments.js';

/**
 * Shipment table watchers (issue 10, "Shipments in"): platform administrators point Vigil at a
 * table of the platform's own PostgreSQL, map its columns to shipment fields, and say whose
 * shipments its rows are (one organisation, or a column whose values map to organisations).
 * `/api/v1/shipment-watchers`. The connection URL's password is never answered.
 */

/**
 * Shipment fields a column may feed: the intake's own fields (so a field added to the shipment
 * schema is watchable at once), `dimensions_cm` by its parts; and `attributes.<name>`, one attribute each.
 */
export const WATCHABLE_FIELDS: readonly string[] = Object.keys(shipmentInput.shape).flatMap((field) =>
  field === 'dimensions_cm' ? ['dimensions_cm.length', 'dimensions_cm.width', 'dimensions_cm.height'] : [field],
);

const identifier = (what: string) => z.string().min(1).max(63).describe(what);

const fieldName = z
  .string()
  .refine((f) => WATCHABLE_FIELDS.includes(f) || /^attributes\.[A-Za-z0-9_]{1,63}$/.test(f), {
    message: `must be a shipment field (${WATCHABLE_FIELDS.join(', ')}) or attributes.<name>`,
  });

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be an organisation id (uuid)');

const watcherFields = {
  name: z.string().trim().min(1).max(100).describe('A name for the watcher, unique'),
  connection_url: z
    .string()
    .max(2000)
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .describe('The watched PostgreSQL (13+; 14+ for the read query), e.g. postgres://reader:secret@db:5432/platform. Stored; its password is never answered.'),
  table: z
    .string()
    .regex(/^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be table or schema.table (unquoted identifiers)')
    .describe('schema.table (schema defaults to public)'),
  order_column: identifier('A unique, indexed integer column that grows with inserts (a serial/identity id); default id').default('id'),
  columns: z
    .record(fieldName, identifier('column'))
    .refine((m) => 'external_id' in m, { message: 'must map external_id', path: ['external_id'] })
    .refine((m) => 'created_at' in m, { message: 'must map created_at', path: ['created_at'] })
    .describe('Shipment field -> column of the table; external_id and created_at are required'),
  org_id: uuid.optional().describe('Every row belongs to this organisation (or give org_column and org_map)'),
  org_column: identifier('The column naming the organisation of each row').optional(),
  org_map: z.record(z.string().max(200), uuid).optional().describe('Value of org_column -> organisation id; a row whose value is not here is rejected'),
  poll_interval_ms: z.number().int().min(100).max(3_600_000).default(1000).describe('Between reads when caught up (default 1000)'),
  batch_size: z.number().int().min(1).max(50_000).default(5000).describe('Rows read and stored per transaction (default 5000)'),
  enabled: z.boolean().default(true),
};

const orgChoice = <T extends { org_id?: string | undefined; org_column?: string | undefined; org_map?: Record<string, string> | undefined }>(v: T, ctx: z.RefinementCtx) => {
  if ((v.org_id === undefined) === (v.org_column === undefined)) ctx.addIssue({ code: 'custom', path: ['org_id'], message: 'give either org_id, or org_column with org_map' });
  if ((v.org_column === undefined) !== (v.org_map === undefined)) ctx.addIssue({ code: 'custom', path: ['org_map'], message: 'org_column and org_map go together' });
};

/** `POST /api/v1/shipment-watchers`. */
export const watcherInput = z
  .strictObject({
    ...watcherFields,
    start: z.enum(['end', 'beginning']).default('end').describe('end: rows inserted from now on (default); beginning: every row of the table'),
  })
  .superRefine(orgChoice);
export type WatcherInput = z.infer<typeof watcherInput>;

/** `PUT /api/v1/shipment-watchers/:id`: replaces the configuration; the position is kept unless the table or order column changes, or `start` is given. */
export const watcherUpdate = z
  .strictObject({
    ...watcherFields,
    connection_url: watcherFields.connection_url.optional().describe('Omit to keep the stored one (and its password)'),
    start: z.enum(['end', 'beginning']).optional().describe('Given: the position is reset (end: from now on; beginning: every row)'),
  })
  .superRefine(orgChoice);
export type WatcherUpdate = z.infer<typeof watcherUpdate>;

export const watcherParams = z.object({ id: uuid });

export const watcherRejection = z.object({
  key: z.number().describe('The row\'s order_column value'),
  org_id: z.string().nullable(),
  field: z.string(),
  message: z.string(),
  at: z.string(),
});

export const watcherView = z.object({
  id: z.string(),
  name: z.string(),
  connection_url: z.string().describe('Without its password'),
  has_password: z.boolean(),
  table: z.string(),
  order_column: z.string(),
  columns: z.record(z.string(), z.string()),
  org_id: z.string().nullable(),
  org_column: z.string().nullable(),
  org_map: z.record(z.string(), z.string()).nullable(),
  poll_interval_ms: z.number(),
  batch_size: z.number(),
  enabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  state: z.object({
    settled: z.number().nullable().describe('Every row with order_column <= this was read (null: from the beginning, nothing settled yet)'),
    highest_read: z.number().nullable(),
    read_ranges_above: z.number().describe('Ranges read above `settled` (gaps of transactions still open, or waiting to settle)'),
    max_seen: z.number().nullable().describe('The largest order_column value seen at the last read'),
    rows_read: z.number(),
    rows_stored: z.number(),
    rows_rejected: z.number(),
    last_read_at: z.string().nullable(),
    caught_up_at: z.string().nullable().describe('Last read that found nothing more to read'),
    lag_seconds: z.number().describe('0 when the last read caught up; else how long since it last did'),
    lag_rows: z.number().describe('max_seen − highest_read: about how many rows wait'),
    last_error: z.string().nullable(),
    last_error_at: z.string().nullable(),
    failures: z.number().describe('Failed reads in a row (retried with back-off)'),
  }),
  recent_rejections: z.array(watcherRejection).describe('The latest refused rows (up to 20)'),
});
export type WatcherView = z.infer<typeof watcherView>;

export const watcherList = z.object({ watchers: z.array(watcherView) });
