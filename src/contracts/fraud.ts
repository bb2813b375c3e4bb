/**
 * Contracts of shipment fraud alerts (issue 10): criteria written in CEL by each customer
 * organisation, their immutable versions and audit log, the organisation's lists, the type checker
 * and schema the editor uses, backtests, and the alert inbox with verdicts.
 *
 * A criterion is a CEL expression over `shipment` (the documented shipment fields, snake_case),
 * `lists` (the organisation's lists, by name) and `velocity` (aggregates per entity over a window,
 * computed as of the shipment's creation time). Every edit makes a new immutable version; an alert
 * records the version that matched.
 */
import { z } from 'zod';
import { channelSelection, durationText, severity } from './alerting.js';
import { shipmentInput, shipmentView } from './shipments.js';

// --- criteria ----------------------------------------------------------------------------------

/** Longest expression accepted (characters); the checker also bounds its AST size and depth. */
export const MAX_EXPRESSION_CHARS = 4000;

/** The shipment fields a criterion's alerts may be grouped by in one notification ("37 shipments from sender X"). */
export const fraudGroupBy = z.enum(['sender_id', 'recipient_address', 'destination_country', 'origin_country', 'sales_channel', 'ip_country']);

/** The fields of a criterion, without defaults (a patch must not reset what it does not send). */
const criterionFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000),
  expression: z.string().min(1).max(MAX_EXPRESSION_CHARS).describe('CEL over `shipment`, `lists` and `velocity`; must be of type bool'),
  enabled: z.boolean().describe('Evaluated against every new shipment'),
  shadow: z.boolean().describe('Shadow mode: evaluated and its matches recorded, never notified'),
  severity: severity,
  channels: channelSelection.describe("Channels notified of its matches: '*' (all of the organisation) or channel ids"),
  group_by: z.array(fraudGroupBy).max(3).describe('Matches with the same values of these fields within the grouping timers are one notification'),
  group_wait: durationText,
  group_interval: durationText,
};

export const criterionInput = z.object({
  ...criterionFields,
  description: criterionFields.description.default(''),
  enabled: criterionFields.enabled.default(true),
  shadow: criterionFields.shadow.default(false),
  severity: criterionFields.severity.default('warning'),
  channels: criterionFields.channels.default('*'),
  group_by: criterionFields.group_by.default(['sender_id']),
  group_wait: criterionFields.group_wait.default('30s'),
  group_interval: criterionFields.group_interval.default('15m'),
});
export type CriterionInput = z.input<typeof criterionInput>;
export type CriterionSpec = z.output<typeof criterionInput>;

/** Partial update: every field optional, none defaulted (a field not sent keeps its value); any change makes a new version. */
export const criterionPatch = z.object(criterionFields).partial();
export type CriterionPatch = z.output<typeof criterionPatch>;

export const criterionStatus = z.enum(['active', 'shadow', 'disabled', 'paused']);

/** One aggregate a criterion uses (read from its expression by the checker). */
export const aggregateUse = z.object({
  kind: z.enum(['count', 'sum', 'avg', 'distinct', 'first']),
  key: z.string().describe('The entity: the shipment field the shipments are grouped by (e.g. sender_id)'),
  field: z.string().nullable().describe('sum/avg: the numeric field; distinct: the field whose distinct values are counted; first: the field whose value is new for the entity'),
  window: z.string().nullable().describe('The window ending at the shipment\'s creation time (e.g. "1h", "7d"); null for first (all history)'),
});
export type AggregateUse = z.infer<typeof aggregateUse>;

export const criterionView = z.object({
  id: z.string(),
  version: z.number().int().describe('The current version (1 = as created); every edit adds one'),
  name: z.string(),
  description: z.string(),
  expression: z.string(),
  enabled: z.boolean(),
  shadow: z.boolean(),
  severity: severity,
  channels: channelSelection,
  group_by: z.array(fraudGroupBy),
  group_wait: z.string(),
  group_interval: z.string(),
  status: criterionStatus.describe('paused: failed at evaluation; see paused_reason — fix it (a new version) or re-enable it to resume'),
  paused_reason: z.string().nullable(),
  aggregates: z.array(aggregateUse),
  created_at: z.string(),
  created_by: z.string().nullable(),
  updated_at: z.string(),
  updated_by: z.string().nullable(),
  stats: z
    .object({
      matches_7d: z.number().int(),
      fraud: z.number().int(),
      false_positive: z.number().int(),
      benign: z.number().int(),
      precision: z.number().nullable().describe('fraud / (fraud + false_positive + benign) over its reviewed alerts; null before any review'),
    })
    .describe("The customer's own statistics on this criterion (all versions)"),
});
export type CriterionView = z.infer<typeof criterionView>;
export const criterionList = z.object({ criteria: z.array(criterionView) });
export const criterionParams = z.object({ id: z.uuid() });

export const criterionVersionView = z.object({
  criterion_id: z.string(),
  version: z.number().int(),
  name: z.string(),
  expression: z.string(),
  enabled: z.boolean(),
  shadow: z.boolean(),
  severity: severity,
  channels: channelSelection,
  group_by: z.array(fraudGroupBy),
  group_wait: z.string(),
  group_interval: z.string(),
  created_at: z.string(),
  created_by: z.string().nullable(),
});
export const criterionVersionList = z.object({ versions: z.array(criterionVersionView) });

// --- the editor: type checking and what can be written -------------------------------------------

export const expressionCheckRequest = z.object({ expression: z.string().max(MAX_EXPRESSION_CHARS) });
export const expressionProblem = z.object({
  message: z.string(),
  line: z.number().int().nullable().describe('1-based'),
  column: z.number().int().nullable().describe('1-based'),
});
export const expressionCheck = z.object({
  ok: z.boolean(),
  type: z.string().nullable().describe('The type of the expression when it checks (must be bool to be saved)'),
  errors: z.array(expressionProblem),
  aggregates: z.array(aggregateUse),
});
export type ExpressionCheck = z.infer<typeof expressionCheck>;

export const fraudSchema = z.object({
  fields: z.array(z.object({ name: z.string().describe('e.g. shipment.declared_value_usd'), type: z.string(), description: z.string() })),
  functions: z.array(z.object({ signature: z.string(), description: z.string(), example: z.string() })),
  lists: z.array(z.object({ name: z.string().describe('e.g. lists.blocked_senders'), items: z.number().int() })),
});
export type FraudSchema = z.infer<typeof fraudSchema>;

// --- lists -------------------------------------------------------------------------------------

export const MAX_LIST_ITEMS = 100_000;
export const listName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 63), e.g. blocked_senders');

export const fraudListInput = z.object({
  name: listName,
  description: z.string().max(2000).default(''),
  items: z.array(z.string().max(1000)).max(MAX_LIST_ITEMS).default([]).describe('Values compared exactly (as they appear in shipments); duplicates are kept once'),
});
export const fraudListPatch = z.object({
  description: z.string().max(2000).optional(),
  items: z.array(z.string().max(1000)).max(MAX_LIST_ITEMS).optional().describe('Replaces every item'),
  add: z.array(z.string().max(1000)).max(MAX_LIST_ITEMS).optional(),
  remove: z.array(z.string().max(1000)).max(MAX_LIST_ITEMS).optional(),
});
export const fraudListView = z.object({
  name: z.string(),
  description: z.string(),
  items: z.array(z.string()),
  item_count: z.number().int(),
  used_by: z.array(z.object({ id: z.string(), name: z.string() })).describe('Criteria whose current version uses the list'),
  updated_at: z.string(),
  updated_by: z.string().nullable(),
});
export const fraudListSummaryList = z.object({ lists: z.array(fraudListView.omit({ items: true })) });
export const fraudListParams = z.object({ name: listName });

// --- audit -------------------------------------------------------------------------------------

export const fraudAuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string().nullable().describe('The user e-mail or API key name'),
  action: z.enum(['criterion.created', 'criterion.updated', 'criterion.deleted', 'criterion.paused', 'criterion.resumed', 'list.created', 'list.updated', 'list.deleted']),
  criterion_id: z.string().nullable(),
  list_name: z.string().nullable(),
  version: z.number().int().nullable(),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).describe('Field → its value before and after'),
});
export const fraudAuditQuery = z.object({
  criterion_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export const fraudAuditList = z.object({ entries: z.array(fraudAuditEntry) });

// --- backtest ----------------------------------------------------------------------------------

export const backtestRequest = z.object({
  expression: z.string().min(1).max(MAX_EXPRESSION_CHARS),
  days: z.number().int().min(1).max(90).default(30).describe("Over the organisation's shipments created in the last N days"),
  samples: z.number().int().min(0).max(100).default(20),
});
export const backtestResult = z.object({
  from: z.string(),
  to: z.string(),
  evaluated: z.number().int(),
  matched: z.number().int(),
  errors: z.number().int().describe('Shipments the expression failed on (e.g. a division by zero); the first error is in `first_error`'),
  first_error: z.string().nullable(),
  per_day: z.array(z.object({ day: z.string().describe('YYYY-MM-DD (UTC)'), evaluated: z.number().int(), matched: z.number().int() })),
  samples: z.array(z.object({ external_id: z.string(), created_at: z.string(), values: z.record(z.string(), z.unknown()).describe('The fields and aggregates the expression read, as they were') })),
  truncated: z.boolean().describe('More shipments than a backtest reads (the newest were kept)'),
});
export type BacktestResult = z.infer<typeof backtestResult>;

// --- alerts (the inbox) ------------------------------------------------------------------------

export const fraudVerdict = z.enum(['fraud', 'false_positive', 'benign']);
export type FraudVerdict = z.infer<typeof fraudVerdict>;

export const fraudAlertView = z.object({
  id: z.string(),
  criterion_id: z.string(),
  criterion_name: z.string(),
  criterion_version: z.number().int(),
  external_id: z.string().describe("The shipment's external_id"),
  shipment_created_at: z.string(),
  matched_at: z.string(),
  shadow: z.boolean().describe('Matched in shadow mode (recorded, not notified)'),
  severity: severity,
  values: z.record(z.string(), z.unknown()).describe('The fields and aggregates the expression read, with the values that matched'),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
  verdict: fraudVerdict.nullable(),
  verdict_note: z.string().nullable(),
  verdict_by: z.string().nullable(),
  verdict_at: z.string().nullable(),
});
export type FraudAlertView = z.infer<typeof fraudAlertView>;

export const fraudAlertQuery = z.object({
  criterion_id: z.uuid().optional(),
  external_id: z.string().max(200).optional(),
  status: z.enum(['open', 'acknowledged', 'reviewed', 'all']).default('all').describe('open: neither acknowledged nor reviewed'),
  verdict: fraudVerdict.optional(),
  shadow: z.enum(['true', 'false', 'all']).default('false').describe('Shadow-mode matches are left out unless asked for'),
  since: z.string().max(64).optional().describe('Matched at or after (ISO 8601 with a zone)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.string().max(100).optional().describe('The `next_before` of the previous page'),
});
export const fraudAlertList = z.object({ alerts: z.array(fraudAlertView), next_before: z.string().nullable() });
export const fraudAlertParams = z.object({ id: z.uuid() });
export const fraudVerdictInput = z.object({ verdict: fraudVerdict, note: z.string().max(2000).default('') });
export const fraudAlertDetail = z.object({
  alert: fraudAlertView,
  shipment: shipmentView.nullable().describe('The shipment as stored (null if it is no longer stored)'),
});

// --- the shipment as criteria see it -----------------------------------------------------------

export type CelFieldType = 'string' | 'double' | 'int' | 'timestamp' | 'map(string, dyn)';
export interface ShipmentCelField {
  /** Without the `shipment.` prefix. */
  name: string;
  type: CelFieldType;
  description: string;
}

const inputShape = shipmentInput.shape;
/** The intake schema's own description of a field (inside its optional wrapper), else `fallback`. */
function about(name: keyof typeof inputShape, fallback: string): string {
  const field = inputShape[name];
  return field.description ?? (field instanceof z.ZodOptional ? field.unwrap().description : undefined) ?? fallback;
}

/**
 * Every shipment field a criterion can read as `shipment.<name>` (the stored columns, dimensions
 * flattened), with its CEL type: the checker's environment (`GET /api/v1/fraud/schema`) and the
 * form builder's fields before that schema is loaded.
 */
export const SHIPMENT_CEL_FIELDS: readonly ShipmentCelField[] = [
  { name: 'external_id', type: 'string', description: about('external_id', 'External id') },
  { name: 'created_at', type: 'timestamp', description: about('created_at', 'Created at') },
  { name: 'declared_value', type: 'double', description: about('declared_value', 'Declared value') },
  { name: 'currency', type: 'string', description: about('currency', 'Currency') },
  { name: 'declared_value_usd', type: 'double', description: 'declared_value converted to US dollars with the platform rate of `currency` at intake' },
  { name: 'weight_kg', type: 'double', description: about('weight_kg', 'Weight') },
  { name: 'length_cm', type: 'double', description: 'Length in centimetres (dimensions_cm.length)' },
  { name: 'width_cm', type: 'double', description: 'Width in centimetres (dimensions_cm.width)' },
  { name: 'height_cm', type: 'double', description: 'Height in centimetres (dimensions_cm.height)' },
  { name: 'pieces', type: 'int', description: about('pieces', 'Pieces') },
  { name: 'origin_country', type: 'string', description: about('origin_country', 'Origin') },
  { name: 'destination_country', type: 'string', description: about('destination_country', 'Destination') },
  { name: 'origin_postcode', type: 'string', description: about('origin_postcode', 'Origin postcode') },
  { name: 'destination_postcode', type: 'string', description: about('destination_postcode', 'Destination postcode') },
  { name: 'service_level', type: 'string', description: about('service_level', 'Service level') },
  { name: 'sender_id', type: 'string', description: about('sender_id', 'Sender') },
  { name: 'sender_name', type: 'string', description: about('sender_name', 'Sender name') },
  { name: 'sender_email', type: 'string', description: about('sender_email', 'Sender e-mail') },
  { name: 'sender_phone', type: 'string', description: about('sender_phone', 'Sender phone') },
  { name: 'sender_created_at', type: 'timestamp', description: about('sender_created_at', "Sender's account creation") },
  { name: 'recipient_name', type: 'string', description: about('recipient_name', 'Recipient name') },
  { name: 'recipient_address', type: 'string', description: about('recipient_address', 'Recipient address') },
  { name: 'recipient_phone', type: 'string', description: about('recipient_phone', 'Recipient phone') },
  { name: 'hs_code', type: 'string', description: about('hs_code', 'HS code') },
  { name: 'description', type: 'string', description: about('description', 'Description') },
  { name: 'sales_channel', type: 'string', description: about('sales_channel', 'Sales channel') },
  { name: 'ip_country', type: 'string', description: about('ip_country', 'IP country') },
  { name: 'attributes', type: 'map(string, dyn)', description: "The customer's free-form attributes (e.g. shipment.attributes.campaign)" },
];
