/**
 * The Logs page's model: the event shape and search parameters (shared with the archive search,
 * which answers the same shape), the filters as they live in the URL (so a link reproduces the
 * view), and the merge of live-tail answers into the rows shown.
 */
import { logVolumeAnswer, type LogEventAnswer, type LogSearchAnswer, type LogVolumeAnswer } from '@contracts/logs.js';
import { request } from './api';
import { formatDateTime } from './format';

/**
 * One stored event as `GET /api/v1/logs` returns it (the contract's `logEvent`); `GET
 * /api/v1/archive/logs` answers the same shape with a nullable id (see `ArchivedEvent` in archive.ts).
 */
export type StoredEvent = LogEventAnswer;

/** The filters on an event's fields that both searches take, beside the time range. */
const FIELD_FILTERS = ['q', 'service', 'status', 'section'] as const;
export type FieldFilters = Record<(typeof FIELD_FILTERS)[number], string>;
export const NO_FIELD_FILTERS: FieldFilters = { q: '', service: '', status: '', section: '' };

/** The parameters of both event searches (`/api/v1/logs` and `/api/v1/archive/logs`). */
export interface EventSearch extends Partial<FieldFilters> {
  /** ISO instants; `to` exclusive. */
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export interface SearchParams extends EventSearch {
  /** Only events stored after this one (the tail's "what arrived since"); the hot search only. */
  afterId?: string;
}

/**
 * The query string of a search, parameters in a fixed order, empty ones left out. Values go as
 * typed: the server validates them and names the one it refuses.
 */
export function searchQuery(params: SearchParams): string {
  const query = new URLSearchParams();
  const ordered: [string, string | number | undefined][] = [
    ['from', params.from],
    ['to', params.to],
    ...FIELD_FILTERS.map((name): [string, string | undefined] => [name, params[name]]),
    ['limit', params.limit],
    ['cursor', params.cursor],
    ['after_id', params.afterId],
  ];
  for (const [name, value] of ordered) if (value !== undefined && value !== '') query.set(name, String(value));
  return query.toString();
}

export const searchLogs = (params: SearchParams): Promise<LogSearchAnswer> => request<LogSearchAnswer>('GET', `/api/v1/logs?${searchQuery(params)}`);

/** `GET /api/v1/logs/volume`: how many events a search matches, in total and per bucket. */
export type LogVolume = LogVolumeAnswer;

/** The volume of a search (its filters; paging parameters are ignored); `step` in seconds, or the server picks. */
export async function logVolume(params: SearchParams, step?: number): Promise<LogVolume> {
  const query = new URLSearchParams(searchQuery({ ...params, limit: undefined, cursor: undefined, afterId: undefined }));
  if (step !== undefined) query.set('step', String(step));
  // Parsed: a shape that drifted would draw wrong bars and counts rather than fail.
  return logVolumeAnswer.parse(await request<unknown>('GET', `/api/v1/logs/volume?${query.toString()}`));
}

/** `404`: an HTTP status, the only status filter the hot search takes. */
export const isHttpStatus = (value: string): boolean => /^[1-5]\d\d$/.test(value);

// ---- Filters in the URL ----

/** The range presets, each with the width (seconds) of its volume bars: 48 to 60 bars of a round width. */
export const RANGE_PRESETS = [
  { key: '15m', label: 'Last 15 minutes', ms: 15 * 60_000, volumeStep: 15 },
  { key: '1h', label: 'Last hour', ms: 3_600_000, volumeStep: 60 },
  { key: '24h', label: 'Last 24 hours', ms: 86_400_000, volumeStep: 1800 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, volumeStep: 3 * 3600 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, volumeStep: 12 * 3600 },
] as const;

/** The volume bars' width for `filters`: the preset's, or undefined (the server picks) for a custom range. */
export const volumeStepOf = (filters: LogFilters): number | undefined => RANGE_PRESETS.find((p) => p.key === filters.range)?.volumeStep;

export type RangePreset = (typeof RANGE_PRESETS)[number]['key'];
export const DEFAULT_RANGE: RangePreset = '1h';

export interface LogFilters extends FieldFilters {
  range: RangePreset | 'custom';
  /** ISO instants of a custom range; `to` absent means "until now". */
  from?: string;
  to?: string;
  /** The live tail, where the range ends now; the URL says `live=off` when it was turned off. */
  live: boolean;
}

const isPreset = (value: string | null): value is RangePreset => RANGE_PRESETS.some((p) => p.key === value);
const isInstant = (value: string | null): value is string => value !== null && !Number.isNaN(Date.parse(value));

export function filtersFromQuery(query: URLSearchParams): LogFilters {
  const from = query.get('from');
  const to = query.get('to');
  const range = query.get('range');
  const custom = isInstant(from) || isInstant(to);
  return {
    range: custom ? 'custom' : isPreset(range) ? range : DEFAULT_RANGE,
    ...(custom && isInstant(from) ? { from: new Date(from).toISOString() } : {}),
    ...(custom && isInstant(to) ? { to: new Date(to).toISOString() } : {}),
    q: query.get('q') ?? '',
    service: query.get('service') ?? '',
    status: query.get('status') ?? '',
    section: query.get('section') ?? '',
    live: query.get('live') !== 'off',
  };
}

const LOGS_PARAMS = ['range', 'from', 'to', ...FIELD_FILTERS, 'live'] as const;
/** The logs page's query parameters as the URL spells them (`range=1h&service=api&live=off`). */
export type LogsSearch = Partial<Record<(typeof LOGS_PARAMS)[number], string>>;
export const isLogsParam = (name: string): name is keyof LogsSearch => (LOGS_PARAMS as readonly string[]).includes(name);

/** The page's query for `filters`: parameters in a fixed order, empty ones left out. */
export function logsSearch(filters: LogFilters): LogsSearch {
  const search: LogsSearch = {};
  if (filters.range === 'custom') {
    if (filters.from) search.from = filters.from;
    if (filters.to) search.to = filters.to;
  } else {
    search.range = filters.range;
  }
  for (const name of FIELD_FILTERS) {
    const value = filters[name].trim();
    if (value) search[name] = value;
  }
  if (!filters.live) search.live = 'off';
  return search;
}

/** The page's address for `filters` (see `logsSearch`). */
export function logsHref(filters: LogFilters): string {
  return `/logs?${new URLSearchParams(logsSearch(filters)).toString()}`;
}

/** A range that ends "now" keeps moving: the live tail only makes sense there. */
export const rangeEndsNow = (filters: LogFilters): boolean => filters.range !== 'custom' || !filters.to;

/** The instants to search between, for a preset relative to `now`. */
function rangeBounds(filters: LogFilters, now: number): { from?: string; to?: string } {
  if (filters.range === 'custom') return { ...(filters.from ? { from: filters.from } : {}), ...(filters.to ? { to: filters.to } : {}) };
  const preset = RANGE_PRESETS.find((p) => p.key === filters.range) ?? RANGE_PRESETS[1];
  return { from: new Date(now - preset.ms).toISOString() };
}

/** The search parameters of `filters` (bounds resolved at `now`), without paging. */
export function searchParamsOf(filters: LogFilters, now: number): SearchParams {
  return { ...rangeBounds(filters, now), q: filters.q, service: filters.service, status: filters.status, section: filters.section };
}

/** Filters beyond the time range: an empty answer then means "nothing matches", not "nothing sent". */
export const narrowed = (filters: LogFilters): boolean => FIELD_FILTERS.some((name) => filters[name] !== '');

export function describeRange(filters: LogFilters): string {
  if (filters.range !== 'custom') return `in the ${(RANGE_PRESETS.find((p) => p.key === filters.range)?.label ?? 'selected range').toLowerCase()}`;
  const at = formatDateTime;
  if (filters.from && filters.to) return `between ${at(filters.from)} and ${at(filters.to)}`;
  if (filters.from) return `since ${at(filters.from)}`;
  return filters.to ? `before ${at(filters.to)}` : 'at any time';
}

// ---- Rows ----

/** Compares decimal id strings as the integers they are (they outgrow a double's exact range). */
function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export function maxId(events: readonly StoredEvent[], start?: string): string | undefined {
  let max = start;
  for (const e of events) if (max === undefined || compareIds(e.id, max) > 0) max = e.id;
  return max;
}

/** The search API's order: newest event time first, then newest id (the keyset cursor's order). */
function newestFirst(a: StoredEvent, b: StoredEvent): number {
  const byTime = Date.parse(b.timestamp) - Date.parse(a.timestamp);
  return byTime !== 0 ? byTime : compareIds(b.id, a.id);
}

/**
 * `incoming` merged into `rows` without duplicates, in the API's order, cut to `cap` rows and to
 * events at or after `notBefore` (a sliding "last hour" drops what fell out of it). `trimmed`
 * says rows were cut from the bottom: the "load older" cursor no longer follows the last row.
 */
export function mergeNewest(rows: readonly StoredEvent[], incoming: readonly StoredEvent[], cap: number, notBefore?: number): { rows: StoredEvent[]; trimmed: boolean } {
  const known = new Set(rows.map((r) => r.id));
  const fresh = incoming.filter((e) => !known.has(e.id));
  let merged = fresh.length ? [...fresh, ...rows].sort(newestFirst) : [...rows];
  if (notBefore !== undefined) merged = merged.filter((e) => Date.parse(e.timestamp) >= notBefore);
  const trimmed = merged.length > cap;
  return { rows: trimmed ? merged.slice(0, cap) : merged, trimmed };
}
