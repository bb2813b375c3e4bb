/**
 * A rule's spec beyond its zod shape: the checks that need more than one field (400 naming the
 * field), durations in milliseconds, which data the rule needs (the per-second counts, or the raw
 * events for what the counts cannot answer), and its message template. Pure.
 */
import { durationTextMs, type RuleFilters, type RuleSpec } from '../../contracts/alerting.js';
import type { Routing } from '../alerting/index.js';
import { badRequest } from '../../platform/errors.js';

/** The milliseconds of a duration of a validated spec (the contract's parser; the contract refused any other text). */
export function durationMs(text: string): number {
  const ms = durationTextMs(text);
  if (ms === null) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return ms;
}

/** Longest window a rule may have (24 h): windows are kept in memory per group, second by second. */
export const MAX_WINDOW_S = 86_400;
/** Longest `for` / keep_firing_for. */
const MAX_HOLD_MS = 7 * 86_400_000;

/** The placeholders a message template may use, besides {{labels.<name>}}. */
const PLACEHOLDERS = new Set(['value', 'threshold', 'op', 'metric', 'window', 'rule', 'for']);
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Whether the rule needs the raw events of each second (log_events) rather than the per-second
 * counts (traffic_counts): the counts have no host, attributes, message, exact status or durations
 * beyond their sum, and count only request events.
 */
export function needsRawEvents(spec: RuleSpec): boolean {
  const f: RuleFilters = spec.filters;
  const statuses = f.status === undefined ? [] : Array.isArray(f.status) ? f.status : [f.status];
  return (
    spec.metric === 'duration_percentile' ||
    spec.metric === 'matching_events' ||
    f.host !== undefined ||
    f.attributes !== undefined ||
    f.message !== undefined ||
    statuses.some((s) => typeof s === 'number') ||
    spec.group_by.includes('host')
  );
}

type FieldProblem = { field: string; message: string };

/**
 * Checks what zod's shape cannot: throws a 400 (`bad_request`) whose details name each field.
 * Called on create, update and preview.
 */
export function validateSpec(spec: RuleSpec): void {
  const problems: FieldProblem[] = [];
  const windowMs = durationMs(spec.window);
  if (windowMs < 1000 || windowMs > MAX_WINDOW_S * 1000) problems.push({ field: 'window', message: 'must be between 1s and 24h' });
  else if (windowMs % 1000 !== 0) problems.push({ field: 'window', message: 'must be a whole number of seconds (rules are evaluated every second of event time)' });
  if (durationMs(spec.for) > MAX_HOLD_MS) problems.push({ field: 'for', message: 'must be at most 7d' });
  if (durationMs(spec.keep_firing_for) > MAX_HOLD_MS) problems.push({ field: 'keep_firing_for', message: 'must be at most 7d' });
  if (spec.metric === 'duration_percentile' && spec.percentile === undefined) problems.push({ field: 'percentile', message: 'is required for metric duration_percentile (e.g. 95)' });
  if (spec.metric !== 'duration_percentile' && spec.percentile !== undefined) problems.push({ field: 'percentile', message: 'is only for metric duration_percentile' });
  if (spec.metric === 'status_class_count' && spec.status_class === undefined) problems.push({ field: 'status_class', message: 'is required for metric status_class_count (e.g. "5xx")' });
  if (spec.metric !== 'status_class_count' && spec.status_class !== undefined) problems.push({ field: 'status_class', message: 'is only for metric status_class_count' });
  if (new Set(spec.group_by).size !== spec.group_by.length) problems.push({ field: 'group_by', message: 'names a dimension twice' });
  for (const [name, ms] of Object.entries(spec.grouping)) if (durationMs(ms) > MAX_HOLD_MS) problems.push({ field: `grouping.${name}`, message: 'must be at most 7d' });
  if (spec.message !== undefined) {
    for (const m of spec.message.matchAll(PLACEHOLDER)) {
      const name = m[1] ?? '';
      if (PLACEHOLDERS.has(name)) continue;
      const label = /^labels\.(.+)$/.exec(name)?.[1];
      if (label !== undefined && ((spec.group_by as string[]).includes(label) || label in spec.labels)) continue;
      problems.push({
        field: 'message',
        message:
          label !== undefined
            ? `placeholder {{${name}}}: the rule has no label ${JSON.stringify(label)} (group_by or labels)`
            : `unknown placeholder {{${name}}}; use {{value}}, {{threshold}}, {{op}}, {{metric}}, {{window}}, {{for}}, {{rule}} or {{labels.<name>}}`,
      });
    }
  }
  if (problems.length) throw badRequest(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

/** A metric value as a person reads it: error rates in percent, others with at most 3 decimals. */
export function formatValue(metric: RuleSpec['metric'], value: number | null): string {
  if (value === null) return 'no data';
  if (metric === 'error_rate') return `${round(value * 100)} %`;
  if (metric === 'duration_avg' || metric === 'duration_percentile') return `${round(value)} ms`;
  return String(round(value));
}

const round = (n: number): string => String(Math.round(n * 1000) / 1000);

const metricName = (spec: RuleSpec): string =>
  spec.metric === 'duration_percentile' ? `duration p${spec.percentile ?? ''}` : spec.metric === 'status_class_count' ? `${spec.status_class ?? ''} count` : spec.metric;

/** The instance's one-line summary: the spec's template, or "error_rate 3.1 % > 2 % over 5m for section=/api". */
export function renderSummary(spec: RuleSpec, labels: Record<string, string>, value: number | null): string {
  const vars: Record<string, string> = {
    value: formatValue(spec.metric, value),
    threshold: formatValue(spec.metric, spec.threshold),
    op: spec.op,
    metric: metricName(spec),
    window: spec.window,
    for: spec.for,
    rule: spec.name,
  };
  if (spec.message !== undefined) {
    return spec.message.replace(PLACEHOLDER, (_, name: string) => {
      if (name in vars) return vars[name] ?? '';
      const label = /^labels\.(.+)$/.exec(name)?.[1];
      return label !== undefined ? (labels[label] ?? '') : '';
    });
  }
  const groups = spec.group_by.map((d) => `${d}=${labels[d] ?? ''}`).join(', ');
  return `${vars.metric} ${vars.value} ${spec.op} ${vars.threshold} over ${spec.window}${groups ? ` for ${groups}` : ''}`;
}

/** How the alert manager groups and routes a rule's instances (one group per rule: groupBy []). */
export function routingOf(spec: RuleSpec): Routing {
  return {
    channels: spec.channels,
    groupBy: [],
    groupWaitMs: durationMs(spec.grouping.group_wait),
    groupIntervalMs: durationMs(spec.grouping.group_interval),
    repeatIntervalMs: durationMs(spec.grouping.repeat_interval),
  };
}
