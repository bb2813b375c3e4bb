/**
 * Client and helpers of the fraud pages (issue 10): criteria, their versions and audit, the
 * organisation's lists, the checker and schema the code editor uses, backtests, and the alert inbox.
 *
 * The criterion form builder keeps what the user chose as text (a half-typed threshold is not lost
 * to a number parse) and writes the CEL from it with `conditionsToCel`: the builder only ever
 * *writes* an expression; the server's checker is the judge of what it wrote, as of what is typed
 * in the code editor. Literals are written in the type of the field they are compared with (CEL
 * does not compare a double field with an int literal at check time), so `5000` for
 * `declared_value_usd` is written `5000.0`.
 */
import { z } from 'zod';
import type { Severity } from '@contracts/alerting.js';
import {
  backtestResult,
  criterionList,
  criterionVersionList,
  criterionView,
  expressionCheck,
  fraudAlertList,
  fraudAlertView,
  fraudAuditList,
  fraudListSummaryList,
  fraudListView,
  fraudSchema,
  SHIPMENT_CEL_FIELDS,
  type BacktestResult,
  type CriterionInput,
  type CriterionSpec,
  type CriterionView,
  type ExpressionCheck,
  type FraudAlertView,
  type FraudSchema,
  type FraudVerdict,
  type backtestRequest,
  type fraudGroupBy,
  type fraudListInput,
  type fraudListPatch,
} from '@contracts/fraud.js';
import { shipmentView } from '@contracts/shipments.js';
import { request } from './api';

export type { BacktestResult, CriterionInput, CriterionView, ExpressionCheck, FraudAlertView, FraudSchema, FraudVerdict };
export type FraudGroupBy = z.infer<typeof fraudGroupBy>;
export type FraudListView = z.infer<typeof fraudListView>;
export type FraudListSummary = z.infer<typeof fraudListSummaryList>['lists'][number];
export type CriterionVersion = z.infer<typeof criterionVersionList>['versions'][number];
export type FraudAuditEntry = z.infer<typeof fraudAuditList>['entries'][number];
export type ShipmentView = z.infer<typeof shipmentView>;

/** The inbox's filter (the query parameters of `GET /api/v1/fraud/alerts`). */
export interface FraudAlertFilter {
  criterion_id?: string;
  status?: 'open' | 'acknowledged' | 'reviewed' | 'all';
  verdict?: FraudVerdict;
  shadow?: 'true' | 'false' | 'all';
}

/** Alerts the inbox shows at first, and the most it shows ("Show more" adds a page, up to the API's 1000). */
export const INBOX_PAGE = 200;
export const INBOX_MAX = 1000;

/** `/api/v1/fraud/alerts?…` with only the filters that are set. */
export function fraudAlertPath(filter: FraudAlertFilter, limit = INBOX_PAGE): string {
  const params = new URLSearchParams();
  for (const key of ['criterion_id', 'status', 'verdict', 'shadow'] as const) {
    const value = filter[key];
    if (value !== undefined && value !== '') params.set(key, value);
  }
  params.set('limit', String(limit));
  return `/api/v1/fraud/alerts?${params.toString()}`;
}

const criterionPath = (id: string) => `/api/v1/fraud/criteria/${encodeURIComponent(id)}`;
const listPath = (name: string) => `/api/v1/fraud/lists/${encodeURIComponent(name)}`;
const alertPath = (id: string) => `/api/v1/fraud/alerts/${encodeURIComponent(id)}`;
const alertDetail = z.object({ alert: fraudAlertView, shipment: shipmentView.nullable() });

export const fraudApi = {
  listCriteria: async (): Promise<CriterionView[]> => criterionList.parse(await request<unknown>('GET', '/api/v1/fraud/criteria')).criteria,
  getCriterion: async (id: string): Promise<CriterionView> => criterionView.parse(await request<unknown>('GET', criterionPath(id))),
  createCriterion: async (input: CriterionInput): Promise<CriterionView> => criterionView.parse(await request<unknown>('POST', '/api/v1/fraud/criteria', input)),
  updateCriterion: async (id: string, patch: Partial<CriterionInput>): Promise<CriterionView> => criterionView.parse(await request<unknown>('PUT', criterionPath(id), patch)),
  deleteCriterion: (id: string) => request<unknown>('DELETE', criterionPath(id)),
  versions: async (id: string): Promise<CriterionVersion[]> => criterionVersionList.parse(await request<unknown>('GET', `${criterionPath(id)}/versions`)).versions,
  audit: async (criterionId: string): Promise<FraudAuditEntry[]> =>
    fraudAuditList.parse(await request<unknown>('GET', `/api/v1/fraud/audit?${new URLSearchParams({ criterion_id: criterionId }).toString()}`)).entries,
  check: async (expression: string, signal?: AbortSignal): Promise<ExpressionCheck> =>
    expressionCheck.parse(await request<unknown>('POST', '/api/v1/fraud/criteria/check', { expression }, signal)),
  schema: async (): Promise<FraudSchema> => fraudSchema.parse(await request<unknown>('GET', '/api/v1/fraud/schema')),
  backtest: async (body: z.input<typeof backtestRequest>): Promise<BacktestResult> => backtestResult.parse(await request<unknown>('POST', '/api/v1/fraud/backtest', body)),

  lists: async (): Promise<FraudListSummary[]> => fraudListSummaryList.parse(await request<unknown>('GET', '/api/v1/fraud/lists')).lists,
  getList: async (name: string): Promise<FraudListView> => fraudListView.parse(await request<unknown>('GET', listPath(name))),
  createList: async (input: z.input<typeof fraudListInput>): Promise<FraudListView> => fraudListView.parse(await request<unknown>('POST', '/api/v1/fraud/lists', input)),
  updateList: async (name: string, patch: z.input<typeof fraudListPatch>): Promise<FraudListView> => fraudListView.parse(await request<unknown>('PUT', listPath(name), patch)),
  deleteList: (name: string) => request<unknown>('DELETE', listPath(name)),

  alerts: async (filter: FraudAlertFilter, limit?: number) => fraudAlertList.parse(await request<unknown>('GET', fraudAlertPath(filter, limit))),
  alert: async (id: string) => alertDetail.parse(await request<unknown>('GET', alertPath(id))),
  acknowledge: (id: string) => request<unknown>('POST', `${alertPath(id)}/ack`),
  verdict: (id: string, verdict: FraudVerdict, note: string) => request<unknown>('PUT', `${alertPath(id)}/verdict`, { verdict, note }),
};

// --- criteria as listed -------------------------------------------------------------------------

/** "paused: division by zero", "shadow", "active": the status in words, with the pause's reason. */
export function statusText(c: Pick<CriterionView, 'status' | 'paused_reason'>): string {
  if (c.status === 'paused') return c.paused_reason ? `paused: ${c.paused_reason}` : 'paused';
  return c.status;
}

/** "75 % (3 of 4 reviewed)", or "—" before any review. */
export function precisionText(stats: CriterionView['stats']): string {
  const reviewed = stats.fraud + stats.false_positive + stats.benign;
  if (stats.precision === null || reviewed === 0) return '—';
  return `${Math.round(stats.precision * 100)} % (${stats.fraud} of ${reviewed} reviewed)`;
}

export const VERDICT_LABEL: Record<FraudVerdict, string> = { fraud: 'Fraud', false_positive: 'False positive', benign: 'Benign' };
export const SEVERITIES: Severity[] = ['critical', 'warning', 'info'];
export const GROUP_BY: FraudGroupBy[] = ['sender_id', 'recipient_address', 'destination_country', 'origin_country', 'sales_channel', 'ip_country'];

/** An inbox row's state: reviewed (its verdict), acknowledged, or open. */
export function alertState(a: Pick<FraudAlertView, 'verdict' | 'acknowledged_at'>): 'open' | 'acknowledged' | 'reviewed' {
  if (a.verdict) return 'reviewed';
  return a.acknowledged_at ? 'acknowledged' : 'open';
}

/** A value the expression read, for a table cell: strings as they are, the rest as JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '—';
  return JSON.stringify(value);
}

/** One audit change: `name = x` when the field had no value before (a creation), else `field: from → to`. */
export function changeText(field: string, change: { from?: unknown; to?: unknown }): string {
  const shown = (v: unknown) => (v === '' ? '""' : v === null ? '—' : valueText(v));
  if (change.from === null || change.from === undefined) return `${field} = ${shown(change.to)}`;
  return `${field}: ${shown(change.from)} → ${shown(change.to)}`;
}

// --- the criterion's settings form ---------------------------------------------------------------

/** The editor's form holds exactly what the API takes (its defaults applied). */
export type CriterionForm = CriterionSpec;

export const NEW_CRITERION_FORM: CriterionForm = {
  name: '',
  description: '',
  expression: '',
  // A new criterion starts disabled: backtest it first, then enable it (or save it in shadow mode).
  enabled: false,
  shadow: false,
  severity: 'warning',
  channels: '*',
  group_by: ['sender_id'],
  group_wait: '30s',
  group_interval: '15m',
};

export function criterionToForm(c: CriterionView): CriterionForm {
  return {
    name: c.name,
    description: c.description,
    expression: c.expression,
    enabled: c.enabled,
    shadow: c.shadow,
    severity: c.severity,
    channels: c.channels,
    group_by: c.group_by,
    group_wait: c.group_wait,
    group_interval: c.group_interval,
  };
}

/** The request body of the form (the server judges every field and names the ones it refuses). */
export function formToCriterion(form: CriterionForm): CriterionInput {
  return {
    name: form.name.trim(),
    description: form.description.trim(),
    expression: form.expression,
    enabled: form.enabled,
    shadow: form.shadow,
    severity: form.severity,
    channels: form.channels,
    group_by: form.group_by,
    group_wait: form.group_wait.trim(),
    group_interval: form.group_interval.trim(),
  };
}

/** The messages about `field` (or a path under it), joined. */
export function messageFor(errors: readonly { field: string; message: string }[], field: string): string | undefined {
  const hit = errors.filter((e) => e.field === field || e.field.startsWith(`${field}.`) || e.field.startsWith(`${field}[`));
  return hit.length > 0 ? hit.map((e) => e.message).join('; ') : undefined;
}

// --- the form builder: conditions → CEL ----------------------------------------------------------

/** A shipment field the builder offers, with its CEL type (from the schema when loaded). */
export interface BuilderField {
  /** Without the `shipment.` prefix: `declared_value_usd`. */
  name: string;
  type: 'string' | 'double' | 'int' | 'timestamp' | 'other';
}

/** The shipment fields of the contract the builder offers (scalars), used until the server's schema (`GET /api/v1/fraud/schema`) arrives. */
export const DEFAULT_FIELDS: BuilderField[] = SHIPMENT_CEL_FIELDS.flatMap((f) => (f.type === 'string' || f.type === 'double' || f.type === 'int' ? [{ name: f.name, type: f.type }] : []));

/** The builder's fields from the server's schema (`shipment.*` of a scalar type). */
export function builderFields(schema: FraudSchema | undefined): BuilderField[] {
  if (!schema) return DEFAULT_FIELDS;
  const fields: BuilderField[] = [];
  for (const f of schema.fields) {
    if (!f.name.startsWith('shipment.')) continue;
    const name = f.name.slice('shipment.'.length);
    if (name.includes('.') || name === 'attributes') continue;
    const t = f.type.toLowerCase();
    const type: BuilderField['type'] = t === 'string' ? 'string' : t === 'double' ? 'double' : t === 'int' ? 'int' : t.startsWith('timestamp') || t === 'google.protobuf.timestamp' ? 'timestamp' : 'other';
    if (type !== 'other' && type !== 'timestamp') fields.push({ name, type });
  }
  return fields.length > 0 ? fields : DEFAULT_FIELDS;
}

export const COMPARE_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
/** Entities velocity is counted per (the fields shipments are grouped by). */
export const VELOCITY_KEYS = ['sender_id', 'recipient_address', 'sender_email', 'sender_phone', 'recipient_phone', 'ip_country'] as const;
export const COUNTRY_FIELDS = ['destination_country', 'origin_country', 'ip_country'] as const;

export type Condition =
  | { kind: 'compare'; field: string; op: CompareOp; value: string }
  | { kind: 'in_list'; field: string; list: string; negate: boolean }
  | { kind: 'in_countries'; field: string; countries: string; negate: boolean }
  | { kind: 'count'; key: string; window: string; threshold: string }
  | { kind: 'distinct'; key: string; field: string; window: string; threshold: string }
  | { kind: 'first'; key: string; field: string }
  | { kind: 'above_avg'; key: string; field: string; window: string; factor: string };
export type ConditionKind = Condition['kind'];

export const CONDITION_KINDS: { kind: ConditionKind; label: string }[] = [
  { kind: 'compare', label: 'Field compared with a value' },
  { kind: 'in_list', label: 'Field in one of my lists' },
  { kind: 'in_countries', label: 'Country in…' },
  { kind: 'count', label: 'More than N shipments per entity within a window' },
  { kind: 'distinct', label: 'Distinct values per entity within a window' },
  { kind: 'first', label: 'First time an entity ships with this value' },
  { kind: 'above_avg', label: "Value above k× the entity's average" },
];

/** A new condition of `kind`, prefilled with the issue's examples. */
export function newCondition(kind: ConditionKind, lists: readonly string[] = []): Condition {
  switch (kind) {
    case 'compare':
      return { kind, field: 'declared_value_usd', op: '>', value: '5000' };
    case 'in_list':
      return { kind, field: 'sender_id', list: lists[0] ?? '', negate: false };
    case 'in_countries':
      return { kind, field: 'destination_country', countries: 'NG, KP', negate: false };
    case 'count':
      return { kind, key: 'sender_id', window: '1h', threshold: '20' };
    case 'distinct':
      return { kind, key: 'recipient_address', field: 'sender_id', window: '7d', threshold: '5' };
    case 'first':
      return { kind, key: 'sender_id', field: 'destination_country' };
    case 'above_avg':
      return { kind, key: 'sender_id', field: 'declared_value_usd', window: '90d', factor: '10' };
  }
}

/** A CEL string literal (single-quoted, escaped). */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** A number typed by the user as a CEL literal of `type` ("5000" → "5000.0" for a double), or undefined when it is no number. */
export function celNumber(text: string, type: 'double' | 'int'): string | undefined {
  const t = text.trim();
  if (!/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  if (type === 'int') return /\./.test(t) ? undefined : String(Number.parseInt(t, 10));
  return t.includes('.') ? t : `${t}.0`;
}

/** Windows as the velocity functions take them: a number and a unit (s, m, h, d). */
const WINDOW = /^\d+[smhd]$/;

export interface BuiltCel {
  expression: string;
  /** One message per condition the builder could not write (index 0-based), e.g. a threshold that is no number. */
  problems: { index: number; message: string }[];
}

/** The velocity function `name` as the engine spells it. */
const velocity = (name: 'count' | 'sum' | 'avg' | 'distinct' | 'first', ...args: string[]) => `velocity.${name}(${args.map(celString).join(', ')})`;

/** One condition as CEL, or a message saying what is missing. */
export function conditionToCel(c: Condition, fields: readonly BuilderField[]): { cel: string } | { problem: string } {
  const typeOf = (name: string) => fields.find((f) => f.name === name)?.type ?? 'string';
  const windowOk = (w: string) => WINDOW.test(w.trim());
  switch (c.kind) {
    case 'compare': {
      const type = typeOf(c.field);
      if (type === 'double' || type === 'int') {
        const n = celNumber(c.value, type);
        if (n === undefined) return { problem: `${c.field}: give ${type === 'int' ? 'a whole number' : 'a number'}, e.g. 5000` };
        return { cel: `shipment.${c.field} ${c.op} ${n}` };
      }
      return { cel: `shipment.${c.field} ${c.op} ${celString(c.value)}` };
    }
    case 'in_list': {
      if (!c.list) return { problem: 'choose a list (create one on the Lists page)' };
      const cel = `shipment.${c.field} in lists.${c.list}`;
      return { cel: c.negate ? `!(${cel})` : cel };
    }
    case 'in_countries': {
      const codes = c.countries
        .split(/[\s,;]+/)
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean);
      if (codes.length === 0) return { problem: 'give at least one country code, e.g. NG, KP' };
      const bad = codes.find((code) => !/^[A-Z]{2}$/.test(code));
      if (bad) return { problem: `"${bad}" is not a two-letter country code (ISO 3166-1 alpha-2, e.g. NG)` };
      const cel = `shipment.${c.field} in [${[...new Set(codes)].map(celString).join(', ')}]`;
      return { cel: c.negate ? `!(${cel})` : cel };
    }
    case 'count': {
      if (!windowOk(c.window)) return { problem: `window "${c.window}": write a number and a unit, e.g. 1h, 30m, 7d` };
      const n = celNumber(c.threshold, 'int');
      if (n === undefined) return { problem: 'give a whole number of shipments, e.g. 20' };
      return { cel: `${velocity('count', c.key, c.window.trim())} > ${n}` };
    }
    case 'distinct': {
      if (!windowOk(c.window)) return { problem: `window "${c.window}": write a number and a unit, e.g. 1h, 30m, 7d` };
      const n = celNumber(c.threshold, 'int');
      if (n === undefined) return { problem: 'give a whole number of distinct values, e.g. 5' };
      return { cel: `${velocity('distinct', c.key, c.field, c.window.trim())} >= ${n}` };
    }
    case 'first':
      return { cel: velocity('first', c.key, c.field) };
    case 'above_avg': {
      if (!windowOk(c.window)) return { problem: `window "${c.window}": write a number and a unit, e.g. 90d` };
      const k = celNumber(c.factor, 'double');
      if (k === undefined) return { problem: 'give a factor, e.g. 10' };
      const avg = velocity('avg', c.key, c.field, c.window.trim());
      // The average is 0.0 when the entity has no earlier shipment: without the guard every first
      // shipment with any value would be "above k× its average".
      return { cel: `${avg} > 0.0 && shipment.${c.field} > ${k} * ${avg}` };
    }
  }
}

/**
 * The conditions joined with `&&` (all) or `||` (any), each parenthesised when it could bind
 * otherwise than meant. Conditions the builder cannot write are left out and reported.
 */
export function conditionsToCel(conditions: readonly Condition[], join: 'all' | 'any', fields: readonly BuilderField[] = DEFAULT_FIELDS): BuiltCel {
  const parts: string[] = [];
  const problems: BuiltCel['problems'] = [];
  conditions.forEach((c, index) => {
    const out = conditionToCel(c, fields);
    if ('problem' in out) problems.push({ index, message: out.problem });
    else parts.push(out.cel);
  });
  const compound = (cel: string) => cel.includes('&&') || cel.includes('||');
  const wrap = (cel: string) => (parts.length > 1 && compound(cel) ? `(${cel})` : cel);
  return { expression: parts.map(wrap).join(join === 'all' ? ' && ' : ' || '), problems };
}

/** `text` split at the top-level occurrences of `sep` (outside parentheses, brackets and string literals). */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Whether `text` is one parenthesised group: "(a && b)", not "(a) && (b)" (string literals skipped). */
function enclosed(text: string): boolean {
  if (!text.startsWith('(') || !text.endsWith(')')) return false;
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0 && i < text.length - 1) return false;
  }
  return depth === 0;
}

/** The value of a CEL string literal as the builder writes them; undefined for anything else. */
function stringValue(literal: string): string | undefined {
  const m = /^'((?:[^'\\]|\\.)*)'$/.exec(literal.trim());
  return m ? m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)) : undefined;
}

const S = String.raw`'(?:[^'\\]|\\.)*'`;
const OPS_RE = '>=|<=|==|!=|>|<';

/** One condition as the builder writes it, read back; undefined when `cel` is not in that shape. */
function conditionOf(cel: string): Condition | undefined {
  let m: RegExpExecArray | null;
  const text = cel.trim();
  if ((m = new RegExp(String.raw`^velocity\.count\((${S}), (${S})\) > (\d+)$`).exec(text)))
    return { kind: 'count', key: stringValue(m[1]!)!, window: stringValue(m[2]!)!, threshold: m[3]! };
  if ((m = new RegExp(String.raw`^velocity\.distinct\((${S}), (${S}), (${S})\) >= (\d+)$`).exec(text)))
    return { kind: 'distinct', key: stringValue(m[1]!)!, field: stringValue(m[2]!)!, window: stringValue(m[3]!)!, threshold: m[4]! };
  if ((m = new RegExp(String.raw`^velocity\.first\((${S}), (${S})\)$`).exec(text))) return { kind: 'first', key: stringValue(m[1]!)!, field: stringValue(m[2]!)! };
  if ((m = new RegExp(String.raw`^velocity\.avg\((${S}), (${S}), (${S})\) > 0\.0 && shipment\.(\w+) > ([\d.]+) \* velocity\.avg\(`).exec(text)))
    return { kind: 'above_avg', key: stringValue(m[1]!)!, field: stringValue(m[2]!)!, window: stringValue(m[3]!)!, factor: m[5]!.replace(/\.0$/, '') };
  const negated = /^!\((.*)\)$/.exec(text);
  const inner = negated ? negated[1]! : text;
  if ((m = /^shipment\.(\w+) in lists\.(\w+)$/.exec(inner))) return { kind: 'in_list', field: m[1]!, list: m[2]!, negate: Boolean(negated) };
  if ((m = /^shipment\.(\w+) in \[(.*)\]$/.exec(inner))) {
    const codes = splitTopLevel(m[2]!, ', ').map(stringValue);
    if (codes.some((c) => c === undefined)) return undefined;
    return { kind: 'in_countries', field: m[1]!, countries: codes.join(', '), negate: Boolean(negated) };
  }
  if (negated) return undefined;
  if ((m = new RegExp(String.raw`^shipment\.(\w+) (${OPS_RE}) (.+)$`).exec(text))) {
    const value = stringValue(m[3]!) ?? (/^-?\d+(\.\d+)?$/.test(m[3]!) ? m[3]!.replace(/\.0$/, '') : undefined);
    return value === undefined ? undefined : { kind: 'compare', field: m[1]!, op: m[2]! as CompareOp, value };
  }
  return undefined;
}

/**
 * The builder's conditions of an expression it wrote (so a saved criterion opens in the form), or
 * undefined when the expression is not one it could have written — checked by writing them again
 * and comparing, so a hand-edited expression is never shown as something else.
 */
export function celToConditions(expression: string, fields: readonly BuilderField[] = DEFAULT_FIELDS): { join: 'all' | 'any'; conditions: Condition[] } | undefined {
  const text = expression.trim();
  if (!text) return undefined;
  for (const join of ['all', 'any'] as const) {
    let parts = splitTopLevel(text, join === 'all' ? ' && ' : ' || ').map((p) => p.trim());
    // One "above k× average" alone is not parenthesised: its two halves come back as two parts.
    if (join === 'all' && parts.length === 2 && /^velocity\.avg\(/.test(parts[0]!)) parts = [text];
    const unwrap = (p: string) => (enclosed(p) ? p.slice(1, -1) : p);
    const conditions = parts.map((p) => conditionOf(unwrap(p)));
    if (conditions.some((c) => c === undefined)) continue;
    const out = conditions as Condition[];
    const again = conditionsToCel(out, join, fields);
    if (again.problems.length === 0 && again.expression === text) return { join, conditions: out };
  }
  return undefined;
}

/** What a condition means, in words (shown beside it). */
export function conditionWords(c: Condition): string {
  switch (c.kind) {
    case 'compare':
      return `${c.field} ${c.op} ${c.value}`;
    case 'in_list':
      return `${c.field} ${c.negate ? 'not ' : ''}in the list ${c.list || '…'}`;
    case 'in_countries':
      return `${c.field} ${c.negate ? 'not ' : ''}in ${c.countries}`;
    case 'count':
      return `more than ${c.threshold} shipments per ${c.key} within ${c.window}`;
    case 'distinct':
      return `at least ${c.threshold} different ${c.field} per ${c.key} within ${c.window}`;
    case 'first':
      return `first shipment of this ${c.key} with this ${c.field}`;
    case 'above_avg':
      return `${c.field} above ${c.factor}× the ${c.key}'s average over ${c.window}`;
  }
}

// --- the code editor: problems and completions ------------------------------------------------------

/** "line 1, column 28: undeclared reference to 'shipment.foo'". */
export function problemText(p: { message: string; line: number | null; column: number | null }): string {
  if (p.line === null) return p.message;
  return `line ${p.line}${p.column === null ? '' : `, column ${p.column}`}: ${p.message}`;
}

export interface Completion {
  /** What is inserted. */
  text: string;
  /** Shown beside it: the type or the description. */
  detail: string;
  /** A method (`contains(`): completes the segment after the last dot, not the whole dotted word. */
  method?: boolean;
}

/** Receivers the schema writes methods on (`string.contains(string)`, `list.exists(x, c)`): not names to insert. */
const METHOD_RECEIVERS = new Set(['string', 'list', 'map', 'timestamp', 'duration', 'int', 'double']);

/** Every name the editor can offer: fields, functions and methods (up to their parenthesis) and lists. */
export function completionCandidates(schema: FraudSchema | undefined): Completion[] {
  const out: Completion[] = [];
  const fields = schema?.fields ?? DEFAULT_FIELDS.map((f) => ({ name: `shipment.${f.name}`, type: f.type, description: '' }));
  for (const f of fields) out.push({ text: f.name, detail: f.description ? `${f.type} — ${f.description}` : f.type });
  for (const fn of schema?.functions ?? []) {
    const name = /^[\w.]+(?=\()/.exec(fn.signature)?.[0];
    if (!name) continue;
    const detail = `${fn.signature} — ${fn.description}${fn.example ? ` e.g. ${fn.example}` : ''}`;
    const [receiver, method] = name.split('.', 2);
    if (method && receiver && METHOD_RECEIVERS.has(receiver)) out.push({ text: `${method}(`, detail, method: true });
    else out.push({ text: `${name}(`, detail });
  }
  for (const l of schema?.lists ?? []) out.push({ text: l.name, detail: `list of ${l.items} item${l.items === 1 ? '' : 's'}` });
  return out;
}

/**
 * The completions for the word before `cursor` (letters, digits, `_` and `.`): the candidates that
 * start with it, then the ones containing it; methods complete the segment after the word's last
 * dot (`shipment.description.con` → `contains(`). Each item says where its replacement starts.
 * None inside a string literal, and none for an empty word.
 */
export function completionsAt(text: string, cursor: number, candidates: readonly Completion[], max = 12): { items: (Completion & { from: number })[] } {
  const before = text.slice(0, cursor);
  const quotes = (before.match(/'/g)?.length ?? 0) + (before.match(/"/g)?.length ?? 0);
  const word = /[\w.]+$/.exec(before)?.[0] ?? '';
  if (word === '' || quotes % 2 === 1) return { items: [] };
  const dot = word.lastIndexOf('.');
  const segment = dot >= 0 ? word.slice(dot + 1) : '';
  const match = (c: Completion, typed: string, fromHere: number) => {
    const lower = typed.toLowerCase();
    const t = c.text.toLowerCase();
    if (typed === '' || c.text === typed || !t.includes(lower)) return [];
    return [{ ...c, from: fromHere, rank: t.startsWith(lower) ? 0 : 1 }];
  };
  const items = candidates.flatMap((c) => (c.method ? (dot > 0 ? match(c, segment, cursor - segment.length) : []) : match(c, word, cursor - word.length)));
  items.sort((a, b) => a.rank - b.rank);
  return { items: items.slice(0, max).map(({ rank: _rank, ...item }) => item) };
}

/** `text` with the word at `from..cursor` replaced by `insert`, and where the cursor goes. */
export function applyCompletion(text: string, from: number, cursor: number, insert: string): { text: string; cursor: number } {
  return { text: text.slice(0, from) + insert + text.slice(cursor), cursor: from + insert.length };
}

// --- backtest -----------------------------------------------------------------------------------

/** Bars of the per-day chart: each day's share of the busiest day's matches (0..1). */
export function dayBars(perDay: BacktestResult['per_day']): { day: string; matched: number; evaluated: number; share: number }[] {
  const top = Math.max(1, ...perDay.map((d) => d.matched));
  return perDay.map((d) => ({ ...d, share: d.matched / top }));
}

// --- lists --------------------------------------------------------------------------------------

/** Pasted items: one a line, trimmed, blank lines and repeats left out (first kept). */
export function itemsOf(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

// --- the inbox's address ------------------------------------------------------------------------

/** `/fraud/alerts?criterion=…&status=open&verdict=fraud&shadow=all&open=<alert id>`, as given (unknown values left out). */
export interface FraudAlertsSearch {
  criterion?: string;
  status?: NonNullable<FraudAlertFilter['status']>;
  verdict?: FraudVerdict;
  shadow?: NonNullable<FraudAlertFilter['shadow']>;
  open?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function fraudAlertsSearch(search: Record<string, unknown>): FraudAlertsSearch {
  const out: FraudAlertsSearch = {};
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const criterion = text(search.criterion);
  if (criterion && UUID.test(criterion)) out.criterion = criterion;
  const status = text(search.status);
  if (status === 'open' || status === 'acknowledged' || status === 'reviewed' || status === 'all') out.status = status;
  const verdict = text(search.verdict);
  if (verdict === 'fraud' || verdict === 'false_positive' || verdict === 'benign') out.verdict = verdict;
  const shadow = text(search.shadow);
  if (shadow === 'true' || shadow === 'false' || shadow === 'all') out.shadow = shadow;
  const open = text(search.open);
  if (open && UUID.test(open)) out.open = open;
  return out;
}

/** The API filter of the inbox's address. */
export function filterOfSearch(s: FraudAlertsSearch): FraudAlertFilter {
  return {
    ...(s.criterion ? { criterion_id: s.criterion } : {}),
    ...(s.status ? { status: s.status } : {}),
    ...(s.verdict ? { verdict: s.verdict } : {}),
    ...(s.shadow ? { shadow: s.shadow } : {}),
  };
}
