/**
 * Contracts of alerting: the alert manager's instances, silences and history (one manager for
 * every source: jobs, log rules, fraud), and the log-traffic rules evaluated in event time.
 * Shared by the server (validation, OpenAPI) and the web (types, forms).
 *
 * Durations are written as Prometheus and Alertmanager write them: "30s", "2m", "1h30m", "1d".
 */
import { z } from 'zod';

// --- shared pieces -----------------------------------------------------------------------------

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Longest duration anything here takes (10 years): an end time computed from it stays a date. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/**
 * "1h30m" → 5,400,000: the milliseconds of a duration text (one or more <number><unit>, units ms,
 * s, m, h, d); null when the text is not one or is longer than MAX_DURATION_MS. The one parser of
 * these durations, for the server's domains and the web alike.
 */
export function durationTextMs(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) return null;
  let total = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * DURATION_UNIT_MS[unit as keyof typeof DURATION_UNIT_MS];
  return total <= MAX_DURATION_MS ? total : null;
}

/** A duration as text: one or more <number><unit> (ms, s, m, h, d), e.g. "2m", "1h30m"; at most 3650d. */
export const durationText = z
  .string()
  .trim()
  .max(64)
  .regex(/^(\d+(ms|s|m|h|d))+$/, 'must be a duration such as 30s, 2m, 1h30m or 1d')
  .refine((text) => durationTextMs(text) !== null, 'must be at most 3650d (10 years)');

/** Where an alert instance comes from (each source that is built adds its name here). */
export const alertSource = z.enum(['job', 'log', 'fraud']);
export type AlertSource = z.infer<typeof alertSource>;

export const severity = z.enum(['critical', 'warning', 'info']);
export type Severity = z.infer<typeof severity>;

/** Labels: small string maps (names as Prometheus writes them). */
export const labelSet = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'label names are letters, digits and _').max(64), z.string().max(1024));

/** Which channels are notified: '*' (every channel of the organisation) or a list of channel ids. */
export const channelSelection = z.union([z.literal('*'), z.array(z.uuid()).max(50)]);
export type ChannelSelection = z.infer<typeof channelSelection>;

/** Alertmanager's grouping timers, per rule (or per check). */
export const groupingInput = z.object({
  group_wait: durationText.default('30s').describe('How long a new group waits for more members before its first notification'),
  group_interval: durationText.default('5m').describe('Least time between two notifications of a group whose members changed'),
  repeat_interval: durationText.default('4h').describe('How often a group that is still firing, unchanged, is notified again'),
});

// --- log-traffic rules -------------------------------------------------------------------------

export const ruleMetric = z.enum([
  'requests', // events in the window
  'requests_per_second', // events in the window / window seconds
  'error_rate', // 5xx / events with a status, 0..1 (no data without a status)
  'status_class_count', // events of `status_class` in the window
  'bytes', // bytes sent in the window
  'bytes_per_second',
  'duration_avg', // mean request duration, ms (no data without durations)
  'duration_percentile', // `percentile` of request durations, ms
  'matching_events', // events matching `filters` (incl. host, attributes, message) in the window
]);
export type RuleMetric = z.infer<typeof ruleMetric>;

export const ruleOp = z.enum(['>', '>=', '<', '<=', '==', '!=']);
export type RuleOp = z.infer<typeof ruleOp>;

/** The dimensions a rule can group its instances by. */
export const ruleGroupBy = z.enum(['service', 'section', 'status_class', 'method', 'host']);

const oneOrMany = z.union([z.string().max(1000), z.array(z.string().max(1000)).max(100)]);
export const ruleFilters = z.strictObject({
  service: oneOrMany.optional(),
  section: oneOrMany.optional(),
  /** A status (404) or a class ("5xx"), or a list of them. */
  status: z.union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]xx$/), z.array(z.union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]xx$/)])).max(100)]).optional(),
  method: oneOrMany.optional(),
  host: oneOrMany.optional(),
  /** Attribute equality (attributes.key == value). */
  attributes: z.record(z.string().max(200), z.string().max(1000)).optional(),
  /** Substring of the message. */
  message: z.string().max(1000).optional(),
});
export type RuleFilters = z.infer<typeof ruleFilters>;

/** What the evaluator does when the metric has no value (no events, no status, no durations). */
export const noDataPolicy = z.enum(['ok', 'alerting', 'keep']);

export const ruleInput = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  metric: ruleMetric,
  /** For duration_percentile: 0 < percentile < 100, e.g. 95. */
  percentile: z.number().gt(0).lt(100).optional(),
  /** For status_class_count. */
  status_class: z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']).optional(),
  filters: ruleFilters.default({}),
  group_by: z.array(ruleGroupBy).max(3).default([]),
  window: durationText,
  op: ruleOp,
  threshold: z.number().finite(),
  for: durationText.default('0s'),
  keep_firing_for: durationText.default('0s'),
  no_data: noDataPolicy.default('ok'),
  severity: severity.default('warning'),
  labels: labelSet.default({}),
  /** Message template; placeholders {{value}}, {{threshold}}, {{op}}, {{metric}}, {{window}}, {{rule}}, {{labels.<name>}}. */
  message: z.string().max(4000).optional(),
  channels: channelSelection.default('*'),
  enabled: z.boolean().default(true),
  grouping: groupingInput.default({ group_wait: '30s', group_interval: '5m', repeat_interval: '4h' }),
});
export type RuleInput = z.input<typeof ruleInput>;
export type RuleSpec = z.output<typeof ruleInput>;

export const ruleView = ruleInput.extend({
  id: z.string(),
  is_default: z.boolean(),
  /** Why the rule could not be evaluated last time, null when it evaluates. */
  error: z.string().nullable(),
  firing: z.number().int(),
  pending: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type RuleView = z.infer<typeof ruleView>;
export const ruleList = z.object({ rules: z.array(ruleView) });
export const ruleParams = z.object({ id: z.uuid() });

export const rulePreviewRequest = z.object({
  rule: ruleInput,
  from: z.string().max(64).optional().describe('ISO 8601, unix seconds or now-<duration>; default: to minus 1 hour'),
  to: z.string().max(64).optional().describe('Default: the organisation\'s watermark'),
});
export const rulePreviewSeries = z.object({
  labels: z.record(z.string(), z.string()),
  /** Event-time seconds (ISO) and the metric's value at each (null: no data). */
  points: z.array(z.object({ t: z.string(), value: z.number().nullable() })),
  /** When the rule would have fired and resolved (resolved null: still firing at the end). */
  firings: z.array(z.object({ fired_at: z.string(), resolved_at: z.string().nullable() })),
});
export const rulePreview = z.object({
  threshold: z.number(),
  op: ruleOp,
  from: z.string(),
  to: z.string(),
  step_seconds: z.number(),
  series: z.array(rulePreviewSeries),
});
export type RulePreview = z.infer<typeof rulePreview>;

// --- alert instances ---------------------------------------------------------------------------

export const alertState = z.enum(['pending', 'firing', 'resolved']);
export type AlertInstanceState = z.infer<typeof alertState>;

/** An alert instance; also the data of the `alert` event of `GET /api/v1/events` (it changed state, was acknowledged or (un)silenced). */
export const alertView = z.object({
  fingerprint: z.string(),
  source: alertSource,
  rule_id: z.string().describe('The rule (log) or check (job) the instance belongs to'),
  rule_name: z.string(),
  labels: z.record(z.string(), z.string()),
  state: z.enum(['inactive', 'pending', 'firing', 'resolved']).describe('inactive: its condition cleared before it held for `for` (never notified)'),
  severity: severity,
  summary: z.string(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  since: z.string().describe('Since when the instance is in its state'),
  firing_since: z.string().nullable(),
  resolved_at: z.string().nullable(),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
  silenced_by: z.array(z.string()).describe('Ids of the active silences and of the open mute windows (maintenance windows included) that match it'),
  group_key: z.string(),
  updated_at: z.string(),
});
export type AlertView = z.infer<typeof alertView>;

export const alertListQuery = z.object({
  state: alertState.optional(),
  source: alertSource.optional(),
  rule_id: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export const alertList = z.object({ alerts: z.array(alertView) });
export const alertParams = z.object({ fingerprint: z.string().min(1).max(200) });

export const alertTransitionView = z.object({
  from: z.enum(['inactive', 'pending', 'firing', 'resolved']),
  to: z.enum(['inactive', 'pending', 'firing', 'resolved', 'acknowledged']),
  at: z.string(),
  reason: z.string(),
  value: z.number().nullable(),
});
export const alertHistory = z.object({ alert: alertView, transitions: z.array(alertTransitionView) });

// --- silences ----------------------------------------------------------------------------------

export const matcherView = z.object({ name: z.string(), op: z.enum(['=', '!=', '=~', '!~']), value: z.string() });
export const silenceInput = z.object({
  /** Matchers as amtool writes them (`rule="high traffic"`, `section=~"/api*"`), or as objects. */
  matchers: z.array(z.union([z.string().max(600), matcherView])).min(1).max(16),
  starts_at: z.string().max(64).optional().describe('Default: now'),
  ends_at: z.string().max(64).optional().describe('Either ends_at or duration; default: 2h after starts_at'),
  duration: durationText.optional(),
  comment: z.string().max(1000).default(''),
});
export const silenceView = z.object({
  id: z.string(),
  matchers: z.array(matcherView),
  starts_at: z.string(),
  ends_at: z.string(),
  state: z.enum(['pending', 'active', 'expired']),
  comment: z.string(),
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type SilenceView = z.infer<typeof silenceView>;
export const silenceList = z.object({ silences: z.array(silenceView) });
export const silenceParams = z.object({ id: z.uuid() });

// --- mute windows ------------------------------------------------------------------------------

/** 'maintenance': the jobs' maintenance windows (/api/v1/maintenance shows them); 'mute': any other. */
export const muteKind = z.enum(['mute', 'maintenance']);

/**
 * A mute window: the instances matching every matcher are silenced (for notifications only: their
 * state is still tracked, resolves of what was announced are still sent) while it is open, either
 * once (starts_at..ends_at) or at every occurrence of `cron` in `tz`, for `duration`.
 */
export const muteWindowInput = z.object({
  name: z.string().trim().min(1).max(200),
  kind: muteKind.default('mute'),
  matchers: silenceInput.shape.matchers,
  starts_at: z.string().max(64).optional().describe('One-off: when it opens (ISO 8601)'),
  ends_at: z.string().max(64).optional().describe('One-off: when it closes (ISO 8601)'),
  cron: z.string().max(200).optional().describe('Recurring: five-field cron expression of each opening, in tz'),
  tz: z.string().max(100).default('UTC'),
  duration: durationText.optional().describe('Recurring: how long each occurrence stays open, e.g. 2h'),
  reason: z.string().max(1000).default(''),
});
export const muteWindowView = z.object({
  id: z.string(),
  kind: muteKind,
  name: z.string(),
  reason: z.string(),
  matchers: z.array(matcherView),
  starts_at: z.string().nullable(),
  ends_at: z.string().nullable(),
  cron: z.string().nullable(),
  tz: z.string(),
  /** Length of each occurrence of a recurring window, in seconds. */
  duration_seconds: z.number().int().nullable(),
  state: z.enum(['open', 'scheduled', 'over']),
  /** When it next opens or closes, null when it never changes again. */
  next_change: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type MuteWindowView = z.infer<typeof muteWindowView>;
export const muteWindowList = z.object({ windows: z.array(muteWindowView) });
export const muteWindowParams = z.object({ id: z.uuid() });
