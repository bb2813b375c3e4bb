/**
 * Client and helpers of the Rules pages: log-traffic alert rules (`/api/v1/rules`), the editor's
 * form ⇄ `RuleInput` conversion, the grouping timers explained in words, and the geometry of the
 * preview chart.
 *
 * The form keeps what the user typed (text), so a half-typed threshold is not lost to a number
 * parse; `formToRule` turns it into the request body and names the fields it cannot read with the
 * server's field names, so local and server refusals show in the same place.
 */
import type { z } from 'zod';
import {
  durationTextMs,
  ruleList,
  rulePreview,
  ruleView,
  type ChannelSelection,
  type RuleInput,
  type RuleMetric,
  type RuleOp,
  type RulePreview,
  type RuleView,
  type ruleGroupBy,
  type noDataPolicy,
  type Severity,
} from '@contracts/alerting.js';
import { request, type FieldError } from './api';
import { formatPeriod } from './format';

export type { RuleInput, RulePreview, RuleView };
export type RuleGroupBy = z.infer<typeof ruleGroupBy>;
type NoData = z.infer<typeof noDataPolicy>;
type StatusClass = NonNullable<RuleInput['status_class']>;

const rulePath = (id: string) => `/api/v1/rules/${encodeURIComponent(id)}`;

export const rulesApi = {
  list: async (): Promise<RuleView[]> => ruleList.parse(await request<unknown>('GET', '/api/v1/rules')).rules,
  get: async (id: string): Promise<RuleView> => ruleView.parse(await request<unknown>('GET', rulePath(id))),
  create: async (input: RuleInput): Promise<RuleView> => ruleView.parse(await request<unknown>('POST', '/api/v1/rules', input)),
  update: async (id: string, input: RuleInput): Promise<RuleView> => ruleView.parse(await request<unknown>('PUT', rulePath(id), input)),
  remove: (id: string) => request<unknown>('DELETE', rulePath(id)),
  preview: async (rule: RuleInput, range: { from?: string; to?: string }, signal?: AbortSignal): Promise<RulePreview> =>
    rulePreview.parse(await request<unknown>('POST', '/api/v1/rules/preview', { rule, ...range }, signal)),
};

// --- metrics ------------------------------------------------------------------------------------

export const METRICS: { id: RuleMetric; label: string; unit: string }[] = [
  { id: 'requests', label: 'Requests in the window', unit: 'requests' },
  { id: 'requests_per_second', label: 'Requests per second (average over the window)', unit: 'req/s' },
  { id: 'error_rate', label: 'Error rate (5xx / requests with a status, 0 to 1)', unit: '' },
  { id: 'status_class_count', label: 'Requests of one status class', unit: 'requests' },
  { id: 'bytes', label: 'Bytes sent in the window', unit: 'bytes' },
  { id: 'bytes_per_second', label: 'Bytes sent per second', unit: 'B/s' },
  { id: 'duration_avg', label: 'Mean request duration', unit: 'ms' },
  { id: 'duration_percentile', label: 'Request duration percentile', unit: 'ms' },
  { id: 'matching_events', label: 'Events matching the filters', unit: 'events' },
];

export const OPS: RuleOp[] = ['>', '>=', '<', '<=', '==', '!='];
export const GROUP_BY: RuleGroupBy[] = ['service', 'section', 'status_class', 'method', 'host'];
export const STATUS_CLASSES: StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx'];
export const SEVERITIES: Severity[] = ['critical', 'warning', 'info'];
export const NO_DATA: { id: NoData; label: string }[] = [
  { id: 'ok', label: 'No data is fine (the instance resolves)' },
  { id: 'alerting', label: 'No data is a problem (alert: an absence rule)' },
  { id: 'keep', label: 'Keep the last state' },
];

/** "requests_per_second over 2m > 10, by section": the condition in one line. */
export function conditionText(rule: Pick<RuleView, 'metric' | 'percentile' | 'status_class' | 'window' | 'op' | 'threshold' | 'group_by'>): string {
  const metric = rule.metric === 'duration_percentile' ? `p${rule.percentile ?? '?'} duration` : rule.metric === 'status_class_count' ? `${rule.status_class ?? '?'} count` : rule.metric;
  const by = rule.group_by.length > 0 ? `, per ${rule.group_by.join(' and ')}` : '';
  return `${metric} over ${rule.window} ${rule.op} ${rule.threshold}${by}`;
}

// --- durations ----------------------------------------------------------------------------------

/** "1h30m" → 5 400 000 ms, by the contract's parser; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  return durationTextMs(text) ?? undefined;
}

/** A duration text in words ("2 minutes"); the text itself when it does not parse. */
export function durationWords(text: string): string {
  const ms = parseDuration(text);
  if (ms === undefined) return text;
  if (ms > 0 && ms < 1000) return `${ms} ms`;
  return formatPeriod(ms / 1000);
}

// --- the form -----------------------------------------------------------------------------------

export interface RuleForm {
  name: string;
  description: string;
  metric: RuleMetric;
  percentile: string;
  status_class: StatusClass;
  /** Lists as typed, comma-separated ("api, web"); attributes one `key=value` a line. */
  filters: { service: string; section: string; status: string; method: string; host: string; attributes: string; message: string };
  group_by: RuleGroupBy[];
  window: string;
  op: RuleOp;
  threshold: string;
  for: string;
  keep_firing_for: string;
  no_data: NoData;
  severity: Severity;
  /** One `name=value` a line. */
  labels: string;
  message: string;
  /** '*' = every channel of the organisation; else the chosen channel ids. */
  channels: ChannelSelection;
  enabled: boolean;
  group_wait: string;
  group_interval: string;
  repeat_interval: string;
}

/** A new rule: the classic one's shape (requests per second over 2 minutes above 10). */
export const NEW_RULE_FORM: RuleForm = {
  name: '',
  description: '',
  metric: 'requests_per_second',
  percentile: '95',
  status_class: '5xx',
  filters: { service: '', section: '', status: '', method: '', host: '', attributes: '', message: '' },
  group_by: [],
  window: '2m',
  op: '>',
  threshold: '10',
  for: '0s',
  keep_firing_for: '0s',
  no_data: 'ok',
  severity: 'warning',
  labels: '',
  message: '',
  channels: '*',
  enabled: true,
  group_wait: '30s',
  group_interval: '5m',
  repeat_interval: '4h',
};

const listText = (value: string | number | (string | number)[] | undefined): string => (value === undefined ? '' : Array.isArray(value) ? value.join(', ') : String(value));
const pairsText = (pairs: Record<string, string> | undefined): string =>
  Object.entries(pairs ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

/** The form of a stored rule (or any rule input), every field filled. */
export function ruleToForm(rule: RuleInput): RuleForm {
  const f = rule.filters ?? {};
  return {
    name: rule.name,
    description: rule.description ?? '',
    metric: rule.metric,
    percentile: rule.percentile === undefined ? NEW_RULE_FORM.percentile : String(rule.percentile),
    status_class: rule.status_class ?? NEW_RULE_FORM.status_class,
    filters: {
      service: listText(f.service),
      section: listText(f.section),
      status: listText(f.status),
      method: listText(f.method),
      host: listText(f.host),
      attributes: pairsText(f.attributes),
      message: f.message ?? '',
    },
    group_by: [...(rule.group_by ?? [])],
    window: rule.window,
    op: rule.op,
    threshold: String(rule.threshold),
    for: rule.for ?? '0s',
    keep_firing_for: rule.keep_firing_for ?? '0s',
    no_data: rule.no_data ?? 'ok',
    severity: rule.severity ?? 'warning',
    labels: pairsText(rule.labels),
    message: rule.message ?? '',
    channels: rule.channels ?? '*',
    enabled: rule.enabled ?? true,
    group_wait: rule.grouping?.group_wait ?? NEW_RULE_FORM.group_wait,
    group_interval: rule.grouping?.group_interval ?? NEW_RULE_FORM.group_interval,
    repeat_interval: rule.grouping?.repeat_interval ?? NEW_RULE_FORM.repeat_interval,
  };
}

/** The writable fields of a stored rule (for a PUT that only flips `enabled`). */
export function ruleInputOf(view: RuleView): RuleInput {
  const { id: _id, is_default: _default, error: _error, firing: _firing, pending: _pending, created_at: _created, updated_at: _updated, ...input } = view;
  return input;
}

/** "a, b" → "a"; "a, b" → ["a", "b"]; "" → undefined. */
function listOf(text: string): string | string[] | undefined {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return undefined;
  return items.length === 1 ? items[0] : items;
}

/** `key=value` lines into a map; the lines that have no `=` are returned apart. */
function pairsOf(text: string): { pairs: Record<string, string>; bad: string[] } {
  const pairs: Record<string, string> = {};
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    const key = at > 0 ? line.slice(0, at).trim() : '';
    if (!key) bad.push(line.trim());
    else pairs[key] = line.slice(at + 1).trim();
  }
  return { pairs, bad };
}

/** Status filter items: 404 stays a number, "5xx" a class. */
function statusOf(text: string): NonNullable<RuleInput['filters']>['status'] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.toLowerCase()));
  if (items.length === 0) return undefined;
  return items.length === 1 ? items[0] : items;
}

const numberOf = (text: string): number | undefined => (text.trim() === '' || !Number.isFinite(Number(text)) ? undefined : Number(text));

/**
 * The request body of a form, and the fields it could not read (named as the server names them:
 * `threshold`, `percentile`, `labels`, `filters.attributes`). Everything else is the server's to
 * judge: it answers 400 naming the field, shown at the same place.
 */
export function formToRule(form: RuleForm): { input: RuleInput; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const threshold = numberOf(form.threshold);
  if (threshold === undefined) errors.push({ field: 'threshold', message: 'give a number, e.g. 10 or 0.02' });
  let percentile: number | undefined;
  if (form.metric === 'duration_percentile') {
    percentile = numberOf(form.percentile);
    if (percentile === undefined) errors.push({ field: 'percentile', message: 'give a percentile between 0 and 100, e.g. 95' });
  }
  const labels = pairsOf(form.labels);
  if (labels.bad.length > 0) errors.push({ field: 'labels', message: `write one name=value a line (not "${labels.bad[0]}")` });
  const attributes = pairsOf(form.filters.attributes);
  if (attributes.bad.length > 0) errors.push({ field: 'filters.attributes', message: `write one key=value a line (not "${attributes.bad[0]}")` });

  const f = form.filters;
  const filters: NonNullable<RuleInput['filters']> = {};
  const service = listOf(f.service);
  if (service !== undefined) filters.service = service;
  const section = listOf(f.section);
  if (section !== undefined) filters.section = section;
  const status = statusOf(f.status);
  if (status !== undefined) filters.status = status;
  const method = listOf(f.method.toUpperCase());
  if (method !== undefined) filters.method = method;
  const host = listOf(f.host);
  if (host !== undefined) filters.host = host;
  if (Object.keys(attributes.pairs).length > 0) filters.attributes = attributes.pairs;
  if (f.message.trim()) filters.message = f.message.trim();

  const input: RuleInput = {
    name: form.name.trim(),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    metric: form.metric,
    ...(percentile !== undefined ? { percentile } : {}),
    ...(form.metric === 'status_class_count' ? { status_class: form.status_class } : {}),
    filters,
    group_by: form.group_by,
    window: form.window.trim(),
    op: form.op,
    // NaN would be sent as null: the error above is shown before any request.
    threshold: threshold ?? 0,
    for: form.for.trim() || '0s',
    keep_firing_for: form.keep_firing_for.trim() || '0s',
    no_data: form.no_data,
    severity: form.severity,
    labels: labels.pairs,
    ...(form.message.trim() ? { message: form.message } : {}),
    channels: form.channels,
    enabled: form.enabled,
    grouping: { group_wait: form.group_wait.trim(), group_interval: form.group_interval.trim(), repeat_interval: form.repeat_interval.trim() },
  };
  return { input, errors };
}

/** The messages about `field` or anything under it (`labels` covers `labels.team`), joined. */
export function messagesFor(errors: readonly FieldError[], ...fields: string[]): string | undefined {
  const hit = errors.filter((e) => fields.some((f) => e.field === f || e.field.startsWith(`${f}.`) || e.field.startsWith(`rule.${f}`)));
  return hit.length > 0 ? hit.map((e) => e.message).join('; ') : undefined;
}

// --- the timing, in words -------------------------------------------------------------------------

const PLAIN_GROUP_BY: Record<RuleGroupBy, string> = { service: 'service', section: 'section', status_class: 'status class', method: 'method', host: 'host' };

/**
 * What `for`, keep-firing-for and the grouping timers mean for this rule, in plain words, one
 * sentence each. Durations that do not parse are left out (their field shows the error).
 */
export function explainTiming(form: Pick<RuleForm, 'group_by' | 'for' | 'keep_firing_for' | 'group_wait' | 'group_interval' | 'repeat_interval' | 'window'>): string[] {
  const words = (text: string) => durationWords(text.trim());
  const ms = (text: string) => parseDuration(text.trim());
  const lines: string[] = [];
  const groups = form.group_by.map((g) => PLAIN_GROUP_BY[g]);
  lines.push(
    groups.length > 0
      ? `One alert per ${groups.join(' and ')}; alerts with the same ${groups.join(' and ')} are notified together.`
      : 'One alert for the whole rule; every notification of this rule is about that one alert group.',
  );
  const forMs = ms(form.for);
  if (forMs !== undefined) {
    lines.push(
      forMs === 0
        ? 'It fires as soon as the condition holds (in event time: the timestamps of the logs).'
        : `The condition must hold for ${words(form.for)} of event time before the alert fires; meanwhile it is pending.`,
    );
  }
  const keep = ms(form.keep_firing_for);
  if (keep !== undefined && keep > 0) lines.push(`Once firing, it resolves only after the condition has been false for ${words(form.keep_firing_for)}, so a brief dip does not resolve it.`);
  const wait = ms(form.group_wait);
  if (wait !== undefined) {
    lines.push(
      wait === 0
        ? 'Group wait 0: the first notification leaves as soon as an alert fires.'
        : `Group wait ${words(form.group_wait)}: when a group starts firing, Vigil waits this long for more alerts of the group, so a burst is one notification.`,
    );
  }
  if (ms(form.group_interval) !== undefined)
    lines.push(`Group interval ${words(form.group_interval)}: after that, a group whose alerts change (another fires, one resolves) is notified at most once per ${words(form.group_interval)}.`);
  if (ms(form.repeat_interval) !== undefined) lines.push(`Repeat interval ${words(form.repeat_interval)}: while nothing changes and it still fires, the reminder comes every ${words(form.repeat_interval)}.`);
  if (forMs !== undefined && wait !== undefined) {
    lines.push(`So the first notification leaves about ${formatPeriod((forMs + wait) / 1000)} after the condition starts, plus the time logs take to arrive.`);
  }
  return lines;
}

// --- the preview chart --------------------------------------------------------------------------

export const PREVIEW_RANGES = [
  { id: '1h', label: 'Last hour' },
  { id: '6h', label: 'Last 6 hours' },
  { id: '24h', label: 'Last 24 hours' },
  { id: 'custom', label: 'Custom' },
] as const;
export type PreviewRangeId = (typeof PREVIEW_RANGES)[number]['id'];

/** The preview request's range: `now-1h` (the server resolves now: its watermark), or the custom instants. */
export function previewRange(id: PreviewRangeId, custom: { from?: string; to?: string } = {}): { from?: string; to?: string } {
  if (id !== 'custom') return { from: `now-${id}` };
  return { ...(custom.from ? { from: custom.from } : {}), ...(custom.to ? { to: custom.to } : {}) };
}

export interface ChartSeries {
  label: string;
  /** SVG polyline runs: a gap (no data) breaks the line. */
  runs: string[];
  /** Fired → resolved spans, as x ranges. */
  spans: { x1: number; x2: number; firedAt: string; resolvedAt: string | null }[];
}

export interface ChartGeometry {
  width: number;
  height: number;
  pad: number;
  /** y of the threshold line. */
  thresholdY: number;
  yMax: number;
  yMin: number;
  series: ChartSeries[];
}

/** A series' name from its labels: `section=/api, service=shop`, or the rule's single series. */
export const seriesName = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || 'all traffic';

/**
 * Where to draw the preview: one shared scale for all series (so groups compare), from 0 (or the
 * lowest value when negative) to above both the highest value and the threshold, so the threshold
 * line is always inside the chart.
 */
export function previewGeometry(preview: RulePreview, width: number, height: number, pad = 24): ChartGeometry {
  const from = Date.parse(preview.from);
  const to = Math.max(Date.parse(preview.to), from + 1);
  const values = preview.series.flatMap((s) => s.points.flatMap((p) => (p.value === null ? [] : [p.value])));
  const yMin = Math.min(0, preview.threshold, ...values);
  const top = Math.max(preview.threshold, ...values, yMin + 1e-9);
  const yMax = top + (top - yMin) * 0.1 || 1;
  const x = (iso: string) => pad + ((Math.min(Math.max(Date.parse(iso), from), to) - from) / (to - from)) * (width - 2 * pad);
  const y = (v: number) => height - pad - ((v - yMin) / (yMax - yMin)) * (height - 2 * pad);
  return {
    width,
    height,
    pad,
    yMin,
    yMax,
    thresholdY: y(preview.threshold),
    series: preview.series.map((s) => {
      const runs: string[] = [];
      let run: string[] = [];
      for (const p of s.points) {
        if (p.value === null) {
          if (run.length > 0) runs.push(run.join(' '));
          run = [];
        } else {
          run.push(`${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`);
        }
      }
      if (run.length > 0) runs.push(run.join(' '));
      return {
        label: seriesName(s.labels),
        runs,
        spans: s.firings.map((f) => ({ x1: x(f.fired_at), x2: x(f.resolved_at ?? preview.to), firedAt: f.fired_at, resolvedAt: f.resolved_at })),
      };
    }),
  };
}
