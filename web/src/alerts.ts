/**
 * Client and helpers of the Alerts and Silences pages: alert instances of the one alert manager
 * (every source: jobs, log rules, fraud), their history, acknowledgement and silences.
 *
 * Pure helpers (grouping, matchers, formatting) are separate from the requests so they are tested
 * without a server. Answers are parsed with the contract's schemas: a shape that drifted fails
 * loudly in the page's error note instead of drawing wrong values.
 */
import type { z } from 'zod';
import {
  alertHistory,
  alertList,
  muteWindowList,
  muteWindowView,
  silenceList,
  silenceView,
  type AlertInstanceState,
  type AlertSource,
  type AlertView,
  type MuteWindowView,
  type SilenceView,
  type muteWindowInput,
  type silenceInput,
} from '@contracts/alerting.js';
import { ApiError, errorMessage, request } from './api';
import { formatPeriod } from './format';

export type { AlertView, MuteWindowView, SilenceView };
export type MuteWindowInput = z.input<typeof muteWindowInput>;
export type AlertHistory = z.infer<typeof alertHistory>;
export type SilenceInput = z.input<typeof silenceInput>;

const alertPath = (fingerprint: string) => `/api/v1/alerts/${encodeURIComponent(fingerprint)}`;

export interface AlertFilter {
  state?: AlertInstanceState;
  source?: AlertSource;
  rule_id?: string;
}

/** The query string of `GET /api/v1/alerts` for a filter (only the parts that are set). */
export function alertListPath(filter: AlertFilter): string {
  const params = new URLSearchParams();
  if (filter.state) params.set('state', filter.state);
  if (filter.source) params.set('source', filter.source);
  if (filter.rule_id) params.set('rule_id', filter.rule_id);
  const query = params.toString();
  return query ? `/api/v1/alerts?${query}` : '/api/v1/alerts';
}

export const alertsApi = {
  list: async (filter: AlertFilter): Promise<AlertView[]> => alertList.parse(await request<unknown>('GET', alertListPath(filter))).alerts,
  history: async (fingerprint: string): Promise<AlertHistory> => alertHistory.parse(await request<unknown>('GET', alertPath(fingerprint))),
  ack: (fingerprint: string) => request<unknown>('POST', `${alertPath(fingerprint)}/ack`),
  listSilences: async (): Promise<SilenceView[]> => silenceList.parse(await request<unknown>('GET', '/api/v1/silences')).silences,
  createSilence: async (input: SilenceInput): Promise<SilenceView> => silenceView.parse(await request<unknown>('POST', '/api/v1/silences', input)),
  expireSilence: (id: string) => request<unknown>('DELETE', `/api/v1/silences/${encodeURIComponent(id)}`),
  listMuteWindows: async (): Promise<MuteWindowView[]> => muteWindowList.parse(await request<unknown>('GET', '/api/v1/mute-windows')).windows,
  createMuteWindow: async (input: MuteWindowInput): Promise<MuteWindowView> => muteWindowView.parse(await request<unknown>('POST', '/api/v1/mute-windows', input)),
  deleteMuteWindow: (id: string) => request<unknown>('DELETE', `/api/v1/mute-windows/${encodeURIComponent(id)}`),
};

// --- the list, grouped --------------------------------------------------------------------------

export const SOURCE_LABEL: Record<AlertSource, string> = { job: 'Jobs', log: 'Logs', fraud: 'Fraud' };

/** Worst first; a state this dashboard does not know yet (the manager may add one) comes last. */
const STATE_ORDER: Readonly<Record<string, number>> = { firing: 0, pending: 1, resolved: 2 };
const SEVERITY_ORDER: Readonly<Record<string, number>> = { critical: 0, warning: 1, info: 2 };
const rank = (order: Readonly<Record<string, number>>, key: string): number => order[key] ?? Object.keys(order).length;

export interface AlertGroup {
  /** The notification group (source + rule + group-by values), as the manager keys it. */
  key: string;
  /** The group-by labels shared by every member, e.g. `section="/api"`; empty for one group per rule. */
  shared: Record<string, string>;
  alerts: AlertView[];
}

export interface RuleAlerts {
  /** source + rule id: a check and a log rule may share an id space, not a key. */
  key: string;
  source: AlertSource;
  ruleId: string;
  ruleName: string;
  firing: number;
  pending: number;
  groups: AlertGroup[];
}

/** The labels every alert of the list has with the same value. */
function sharedLabels(labelSets: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = labelSets;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([name, value]) => rest.every((labels) => labels[name] === value)));
}

/** Worst first: firing before pending before resolved, then critical first, then the most recent change. */
export function compareAlerts(a: AlertView, b: AlertView): number {
  return rank(STATE_ORDER, a.state) - rank(STATE_ORDER, b.state) || rank(SEVERITY_ORDER, a.severity) - rank(SEVERITY_ORDER, b.severity) || Date.parse(b.since) - Date.parse(a.since);
}

/**
 * The list as the page shows it: by rule (or check), then by notification group, worst first. A
 * rule with a firing instance comes before one with only pending or resolved ones.
 */
export function groupAlerts(alerts: readonly AlertView[]): RuleAlerts[] {
  const rules = new Map<string, RuleAlerts & { byGroup: Map<string, AlertView[]> }>();
  for (const alert of [...alerts].sort(compareAlerts)) {
    const key = `${alert.source}:${alert.rule_id}`;
    let rule = rules.get(key);
    if (!rule) {
      rule = { key, source: alert.source, ruleId: alert.rule_id, ruleName: alert.rule_name, firing: 0, pending: 0, groups: [], byGroup: new Map() };
      rules.set(key, rule);
    }
    if (alert.state === 'firing') rule.firing++;
    if (alert.state === 'pending') rule.pending++;
    const members = rule.byGroup.get(alert.group_key) ?? [];
    members.push(alert);
    rule.byGroup.set(alert.group_key, members);
  }
  // Map order is insertion order: rules and groups appear in the order of their worst member.
  return [...rules.values()].map(({ byGroup, ...rule }) => ({
    ...rule,
    groups: [...byGroup].map(([key, members]) => ({ key, shared: members.length > 1 ? sharedLabels(members.map(ownLabels)) : {}, alerts: members })),
  }));
}

// --- values -------------------------------------------------------------------------------------

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

/** A metric value for people: up to three decimals, thousands separated; "no data" for null. */
export function formatValue(value: number | null): string {
  if (value === null) return 'no data';
  return number.format(value);
}

/**
 * The labels worth showing on an instance's row: the manager adds `rule`, `source` and `severity`
 * to every instance (so silences can match them), which the page already shows elsewhere.
 */
export function ownLabels(alert: Pick<AlertView, 'labels' | 'rule_name' | 'source' | 'severity'>): Record<string, string> {
  const shown = { rule: alert.rule_name, source: alert.source, severity: alert.severity } as Record<string, string>;
  return Object.fromEntries(Object.entries(alert.labels).filter(([name, value]) => shown[name] !== value));
}

/** "12.5 > 10" style: the value against the threshold, or just the value (job alerts have none). */
export function valueVsThreshold(alert: Pick<AlertView, 'value' | 'threshold'>): string {
  if (alert.threshold === null) return alert.value === null ? '—' : formatValue(alert.value);
  return `${formatValue(alert.value)} (threshold ${formatValue(alert.threshold)})`;
}

/** `name="value"` as amtool writes a matcher; quotes and backslashes in the value are escaped. */
export function matcherText(m: { name: string; op: string; value: string }): string {
  return `${m.name}${m.op}"${m.value.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The matchers that silence exactly this instance: one per label, and the rule by name when the
 * labels do not say it (the manager matches silences against the labels plus `rule`, so a silence
 * of `section="/api"` alone would also silence every other rule's `/api` alerts).
 */
export function silenceMatchersFor(alert: Pick<AlertView, 'labels' | 'rule_name'>): string[] {
  const matchers = Object.entries(alert.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => matcherText({ name, op: '=', value }));
  if (!('rule' in alert.labels)) matchers.unshift(matcherText({ name: 'rule', op: '=', value: alert.rule_name }));
  return matchers;
}

/**
 * Matchers typed one per line (or separated by commas outside quotes, as amtool and the URL of
 * Alertmanager's silence form write them). The server parses each one and names a bad one.
 */
export function splitMatchers(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  // `{a="b", c="d"}` as Prometheus writes a label set.
  const body = text.trim().replace(/^\{([^]*)\}$/, '$1');
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && quoted) {
      current += c + (body[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === ',' || c === '\n' || c === '\r')) {
      if (current.trim()) out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

// --- silences -----------------------------------------------------------------------------------

const SILENCE_STATE_ORDER: Record<SilenceView['state'], number> = { active: 0, pending: 1, expired: 2 };

/** Active ones first (ending soonest first), then pending (starting soonest), then expired (most recent first). */
export function sortSilences(silences: readonly SilenceView[]): SilenceView[] {
  return [...silences].sort((a, b) => {
    const byState = SILENCE_STATE_ORDER[a.state] - SILENCE_STATE_ORDER[b.state];
    if (byState !== 0) return byState;
    if (a.state === 'active') return Date.parse(a.ends_at) - Date.parse(b.ends_at);
    if (a.state === 'pending') return Date.parse(a.starts_at) - Date.parse(b.starts_at);
    return Date.parse(b.ends_at) - Date.parse(a.ends_at);
  });
}

/** How long a silence lasts, in words: "2 hours". */
export const silenceLength = (s: Pick<SilenceView, 'starts_at' | 'ends_at'>): string => formatPeriod((Date.parse(s.ends_at) - Date.parse(s.starts_at)) / 1000);

/** The silence durations offered in one click. */
export const SILENCE_DURATIONS = ['1h', '2h', '4h', '8h', '1d', '7d'] as const;

/** The instance an `alert` live event is about (`{fingerprint, state}` at least), or undefined. */
export function alertEventFingerprint(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const fingerprint = (data as Record<string, unknown>).fingerprint;
  return typeof fingerprint === 'string' ? fingerprint : undefined;
}

/**
 * What to say when a list cannot load. A 404 from a list endpoint means this server has no such
 * route (an older version behind the dashboard): said plainly rather than as "not found".
 */
export function loadErrorMessage(error: unknown, what: string): string | undefined {
  if (!error) return undefined;
  if (error instanceof ApiError && error.status === 404) return `${what} are not available from this server (HTTP 404): it may run an older version of Vigil.`;
  return errorMessage(error);
}
