import { z } from 'zod';

/**
 * Wire shapes of the jobs domain: Vigil's own check API (`/api/v1/checks…`, `/api/v1/maintenance…`),
 * the Healthchecks-compatible management API (v3, v2, v1 under `/hc`), the ping protocol (`/ping/…`)
 * and status badges. The server validates requests and serializes answers with these; the web app
 * takes its types from them.
 *
 * Answers are serialized through these schemas, so an object schema lists its keys in the order the
 * server writes them: the Healthchecks answers must stay byte-identical to what Healthchecks tools
 * read (test/jobs-healthchecks-tooling.test.ts, test/jobs-ping-protocol.test.ts).
 */

// ---------------------------------------------------------------------------------------------
// Enums of the domain (the jobs tables and lifecycle take their types from these)
// ---------------------------------------------------------------------------------------------

/** A check's stored status. */
export const checkStatus = z.enum(['new', 'up', 'down', 'paused']);
/** A check's status as shown: the stored one, or "late" once its expected ping is overdue. */
export const shownCheckStatus = z.enum(['new', 'up', 'late', 'down', 'paused']);
/** What a ping was taken as ("ign": ignored by the check's body filter). */
export const pingKind = z.enum(['success', 'start', 'fail', 'log', 'ign']);
export const runOutcome = z.enum(['running', 'success', 'fail', 'too_long', 'too_short']);
export const checkKind = z.enum(['simple', 'cron']);
export const scheduleSyntax = z.enum(['cron', 'oncalendar']);

// ---------------------------------------------------------------------------------------------
// Vigil's check API (/api/v1/checks…)
// ---------------------------------------------------------------------------------------------

const MAX_PERIOD_S = 366 * 86400;
const seconds = (field: string) =>
  z.number({ error: `${field} must be a number of seconds` }).int(`${field} must be whole seconds`).min(1, `${field} must be at least 1 second`).max(MAX_PERIOD_S, `${field} must be at most 366 days`);
const optionalSeconds = (field: string) => seconds(field).nullable();

/** What a user may set on a check (the native API's field names). Every field optional: used for create and update. */
export const checkInputSchema = z.object({
  name: z.string().max(200).optional(),
  slug: z.string().regex(/^[a-z0-9_-]*$/, 'slug may contain only lowercase letters, digits, "-" and "_"').max(100).optional(),
  tags: z.array(z.string().regex(/^\S+$/, 'tags cannot contain spaces').max(100)).max(50).optional(),
  description: z.string().max(10_000).optional(),
  kind: checkKind.optional(),
  timeout: seconds('timeout').optional(),
  grace: seconds('grace').optional(),
  schedule: z.string().max(200).optional(),
  tz: z.string().max(100).optional(),
  manual_resume: z.boolean().optional(),
  methods: z.enum(['', 'POST']).optional(),
  channels: z.string().max(10_000).optional(),
  max_runtime: optionalSeconds('max_runtime').optional(),
  min_runtime: optionalSeconds('min_runtime').optional(),
  failure_threshold: z.number().int().min(1).max(1000).optional(),
  realert: optionalSeconds('realert').optional(),
  filter_http_body: z.boolean().optional(),
  filter_default_fail: z.boolean().optional(),
  start_kw: z.string().max(200).optional(),
  success_kw: z.string().max(200).optional(),
  failure_kw: z.string().max(200).optional(),
});

/** A check as Vigil's API answers it (and as live updates carry it): its settings, and what the server knows of its runs. */
export const checkViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  tags: z.array(z.string()),
  description: z.string(),
  kind: checkKind,
  /** Period of a simple check, in seconds. */
  timeout: z.number().int(),
  /** Grace, in seconds. */
  grace: z.number().int(),
  schedule: z.string(),
  tz: z.string(),
  max_runtime: z.number().int().nullable(),
  min_runtime: z.number().int().nullable(),
  failure_threshold: z.number().int(),
  realert: z.number().int().nullable(),
  manual_resume: z.boolean(),
  methods: z.string(),
  /** "*" (every channel of the organisation), "" (none) or comma-separated channel ids. */
  channels: z.string(),
  status: shownCheckStatus,
  running: z.boolean(),
  status_reason: z.string(),
  last_ping_at: z.string().nullable(),
  next_expected_at: z.string().nullable(),
  last_duration_ms: z.number().nullable(),
  n_pings: z.number().int(),
  created_at: z.string(),
  ping_url: z.string(),
  /** `/ping/<ping-key>/<slug>` form of the ping URL, when the check has a slug. */
  slug_ping_url: z.string().nullable(),
  schedule_text: z.string(),
  /** Which syntax a scheduled check's expression is in; null for a check with a fixed period. */
  schedule_syntax: scheduleSyntax.nullable(),
  /** The check's status badge (SVG); `.json` and `.shields` forms beside it. */
  badge_url: z.string(),
  filter_http_body: z.boolean(),
  filter_default_fail: z.boolean(),
  start_kw: z.string(),
  success_kw: z.string(),
  failure_kw: z.string(),
  /** Durations (ms) of the last runs, oldest first. */
  recent_durations: z.array(z.number()),
});

export const checkListSchema = z.object({ checks: z.array(checkViewSchema) });
export const checkIdParams = z.object({ id: z.string().uuid('must be a check id (uuid)') });
export const checkListQuery = z.object({ tag: z.union([z.string(), z.array(z.string())]).optional() });
export const historyPageQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

export const runSchema = z.object({
  id: z.number(),
  rid: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  outcome: runOutcome,
  exit_status: z.number().int().nullable(),
  duration_ms: z.number().nullable(),
  output_tail: z.string().nullable(),
});
export const runListSchema = z.object({ runs: z.array(runSchema) });

export const pingSchema = z.object({
  n: z.number().int(),
  kind: pingKind,
  created_at: z.string(),
  method: z.string(),
  scheme: z.string(),
  remote_addr: z.string(),
  user_agent: z.string(),
  exit_status: z.number().int().nullable(),
  rid: z.string().nullable(),
  body: z.string().nullable(),
  /** The body's full size in bytes; `body` keeps only its tail. */
  body_size: z.number().int(),
  duration_ms: z.number().nullable(),
});
export const pingListSchema = z.object({ pings: z.array(pingSchema) });

/** A status change and why it happened. */
export const flipSchema = z.object({
  created_at: z.string(),
  old_status: z.string(),
  new_status: z.string(),
  reason: z.string(),
});
export const flipListSchema = z.object({ flips: z.array(flipSchema) });

export const schedulePreviewQuery = z.object({
  schedule: z.string().min(1).max(200),
  tz: z.string().max(100).default('UTC'),
  grace: z.coerce.number().int().min(0).max(366 * 86400).default(0),
});
/** A schedule as the server reads it: its syntax, in words, and its next times (ISO). */
export const schedulePreviewSchema = z.object({ syntax: scheduleSyntax, text: z.string(), next: z.array(z.string()) });

// ---------------------------------------------------------------------------------------------
// Maintenance windows (/api/v1/maintenance…)
// ---------------------------------------------------------------------------------------------

/** A one-off window (starts_at..ends_at) or a recurring one (cron in tz opening a window of `duration` seconds). */
export const maintenanceInputSchema = z.object({
  check_id: z.string().uuid().nullable().optional(),
  starts_at: z.string().datetime({ offset: true }).optional(),
  ends_at: z.string().datetime({ offset: true }).optional(),
  cron: z.string().max(200).optional(),
  duration: z.number().int().min(1).max(31 * 86400).optional(),
  tz: z.string().max(100).optional(),
  reason: z.string().max(1000).optional(),
});

/** A maintenance window; `check_id` null means every check of the organisation. */
export const maintenanceWindowSchema = z.object({
  id: z.string(),
  check_id: z.string().nullable(),
  starts_at: z.string().nullable(),
  ends_at: z.string().nullable(),
  cron: z.string().nullable(),
  /** Length of each recurring window, in seconds. */
  duration: z.number().int().nullable(),
  tz: z.string(),
  reason: z.string(),
  created_at: z.string(),
});
export const maintenanceListSchema = z.object({ windows: z.array(maintenanceWindowSchema) });
export const maintenanceIdParams = z.object({ id: z.string().uuid() });

// ---------------------------------------------------------------------------------------------
// Healthchecks' management API (/api/v3, /api/v2, /hc/api/v1…)
// ---------------------------------------------------------------------------------------------

/** Healthchecks' error body: `{"error": "..."}`. */
export const hcErrorSchema = z.object({ error: z.string() });

export const HC_UNIQUE_FIELDS = ['name', 'slug', 'tags', 'timeout', 'grace'] as const;
export type HcUniqueField = (typeof HC_UNIQUE_FIELDS)[number];

/** Healthchecks' fields: a null is taken as "not given" (the Ansible collection sends `"timeout": null` with a schedule). */
const HC_NULLABLE_FIELDS = new Set(['name', 'slug', 'tags', 'desc', 'timeout', 'grace', 'schedule', 'tz', 'manual_resume', 'methods', 'channels', 'unique', 'subject', 'subject_fail', 'start_kw', 'success_kw', 'failure_kw', 'filter_subject', 'filter_body', 'filter_http_body', 'filter_default_fail']);

/** A check as Healthchecks tools send it (create, update); `api_key` may come in the body. */
export const hcCheckInputSchema = z.preprocess(
  (value) => (value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).filter(([k, v]) => !(v === null && HC_NULLABLE_FIELDS.has(k)))) : value),
  z.object({
    api_key: z.string().optional(),
    name: z.string().max(200).optional(),
    slug: z.string().max(100).optional(),
    tags: z.string().max(500).optional(),
    desc: z.string().max(10_000).optional(),
    timeout: z.number().int().optional(),
    grace: z.number().int().optional(),
    schedule: z.string().max(200).optional(),
    tz: z.string().max(100).optional(),
    manual_resume: z.boolean().optional(),
    methods: z.enum(['', 'POST']).optional(),
    channels: z.string().max(10_000).optional(),
    unique: z.array(z.enum(HC_UNIQUE_FIELDS)).optional(),
    // E-mail filtering has no meaning here (Vigil takes no pings by e-mail): accepted when off.
    subject: z.literal('', { error: 'Vigil receives no pings by e-mail; use start_kw / success_kw / failure_kw with filter_http_body' }).optional(),
    subject_fail: z.literal('', { error: 'Vigil receives no pings by e-mail; use failure_kw with filter_http_body' }).optional(),
    filter_subject: z.literal(false, { error: 'Vigil receives no pings by e-mail; use filter_http_body' }).optional(),
    filter_body: z.literal(false, { error: 'Vigil receives no pings by e-mail; use filter_http_body' }).optional(),
    filter_http_body: z.boolean().optional(),
    filter_default_fail: z.boolean().optional(),
    start_kw: z.string().max(200).optional(),
    success_kw: z.string().max(200).optional(),
    failure_kw: z.string().max(200).optional(),
    max_runtime: z.number().int().nullable().optional(),
    min_runtime: z.number().int().nullable().optional(),
    failure_threshold: z.number().int().optional(),
    realert: z.number().int().nullable().optional(),
  }),
);

/**
 * A check as Healthchecks shows it to a read-write key, plus Vigil's extra fields (`max_runtime`…).
 * A simple check has `timeout`, a scheduled one `schedule` and `tz`; `last_duration` only once a run finished.
 */
export const hcCheckSchema = z.object({
  name: z.string(),
  slug: z.string(),
  tags: z.string(),
  desc: z.string(),
  grace: z.number().int(),
  n_pings: z.number().int(),
  /** new, up, grace, down, paused; API v1 also "started". */
  status: z.string(),
  started: z.boolean(),
  last_ping: z.string().nullable(),
  next_ping: z.string().nullable(),
  manual_resume: z.boolean(),
  methods: z.string(),
  subject: z.string(),
  subject_fail: z.string(),
  start_kw: z.string(),
  success_kw: z.string(),
  failure_kw: z.string(),
  filter_subject: z.boolean(),
  filter_body: z.boolean(),
  filter_http_body: z.boolean(),
  filter_default_fail: z.boolean(),
  badge_url: z.string(),
  last_duration: z.number().int().optional(),
  uuid: z.string(),
  ping_url: z.string(),
  update_url: z.string(),
  pause_url: z.string(),
  resume_url: z.string(),
  channels: z.string(),
  timeout: z.number().int().optional(),
  schedule: z.string().optional(),
  tz: z.string().optional(),
  max_runtime: z.number().int().nullable(),
  min_runtime: z.number().int().nullable(),
  failure_threshold: z.number().int(),
  realert: z.number().int().nullable(),
});
export const hcCheckListSchema = z.object({ checks: z.array(hcCheckSchema) });
export const hcCheckListQuery = z.object({ tag: z.union([z.string(), z.array(z.string())]).optional(), slug: z.string().optional() });

export const hcChannelListSchema = z.object({ channels: z.array(z.object({ id: z.string(), name: z.string(), kind: z.string() })) });

/** The badge URLs of one tag in every format: two-state, and three-state (`…3`, also "late"). */
export const hcBadgeUrlsSchema = z.object({
  svg: z.string(),
  svg3: z.string(),
  json: z.string(),
  json3: z.string(),
  shields: z.string(),
  shields3: z.string(),
});
/** Badge URLs by tag (`*`: all checks). */
export const hcBadgeListSchema = z.object({ badges: z.record(z.string(), hcBadgeUrlsSchema) });

export const hcPingSchema = z.object({
  type: pingKind,
  date: z.string(),
  n: z.number().int(),
  scheme: z.string(),
  remote_addr: z.string(),
  method: z.string(),
  ua: z.string(),
  rid: z.string().nullable(),
  /** Seconds, two decimals; only on a ping that finished a run. */
  duration: z.number().optional(),
  exitstatus: z.number().int().optional(),
  body_url: z.string().nullable(),
});
export const hcPingListSchema = z.object({ pings: z.array(hcPingSchema) });

export const hcFlipSchema = z.object({ timestamp: z.string().nullable(), up: z.union([z.literal(0), z.literal(1)]) });
export const hcFlipListSchema = z.object({ flips: z.array(hcFlipSchema) });

export const hcUuidParams = z.object({ uuid: z.string().uuid('invalid uuid') });
export const hcPingBodyParams = hcUuidParams.extend({ n: z.coerce.number().int().min(1) });
export const hcFlipsQuery = z.object({
  seconds: z.coerce.number().int().min(0).optional(),
  start: z.coerce.number().int().min(0).optional(),
  end: z.coerce.number().int().min(0).optional(),
});

// ---------------------------------------------------------------------------------------------
// Plain-text answers: the ping protocol, ping bodies, badge "not found", empty answers
// ---------------------------------------------------------------------------------------------

/** A text/plain answer; `description` says what it holds. */
const text = (description: string) => ({ description, content: { 'text/plain': { schema: z.string().describe(description) } } });

/** The ping protocol's answers: "OK", "Created" (a slug check made by `?create=1`), or what is wrong ("not found", "invalid uuid format", "ambiguous slug"…). */
export const pingAnswers = {
  200: text('OK: the ping is stored'),
  201: text('Created: the check named by the slug was created (?create=1), and the ping stored'),
  400: text('What is wrong with the URL: "invalid uuid format", "invalid url format", "invalid value for create"'),
  404: text('not found'),
  409: text('ambiguous slug: several checks of the organisation have this slug'),
  503: text('The database is unreachable; retry after Retry-After seconds'),
} as const;

/** A ping body as it was received (its kept tail). */
export const pingBodyAnswer = text('The ping body (its kept tail)');

/** An empty answer: a CORS preflight (204) or a trailing-slash redirect (301/308, `Location` names the target). */
export const emptyAnswer = z.null().describe('No body');

// ---------------------------------------------------------------------------------------------
// Status badges (/b/<2|3>/<key>.<fmt>, /badge/<key>/<signature>/<tag>.<fmt>)
// ---------------------------------------------------------------------------------------------

export const badgeStatus = z.enum(['up', 'late', 'down']);
export const BADGE_FORMATS = ['svg', 'json', 'shields'] as const;
export const badgeFormat = z.enum(BADGE_FORMATS);

/** The JSON badge: the status and how many checks are behind it. */
export const badgeSummarySchema = z.object({ status: badgeStatus, total: z.number().int(), grace: z.number().int(), down: z.number().int() });
/** A Shields.io endpoint document. */
export const shieldsDocumentSchema = z.object({ schemaVersion: z.literal(1), label: z.string(), message: badgeStatus, color: z.string() });

export const badgeAnswers = {
  200: {
    description: 'The badge: SVG image (.svg), JSON summary (.json) or Shields.io endpoint document (.shields)',
    content: {
      'image/svg+xml': { schema: z.string().describe('SVG badge') },
      'application/json': { schema: z.union([badgeSummarySchema, shieldsDocumentSchema]) },
    },
  },
  404: text('not found'),
} as const;
export const checkBadgeParams = z.object({ states: z.string(), file: z.string() });
export const allChecksBadgeParams = z.object({ key: z.string(), file: z.string() });
export const tagBadgeParams = z.object({ key: z.string(), signature: z.string(), file: z.string() });
