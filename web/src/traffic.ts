/**
 * Client and helpers of the Traffic page: `GET /api/v1/stats` (event-time statistics written by
 * the stream processor) and the formatting its charts and tables need.
 */
import { statsAnswer, type StatsAnswer, type StatsDimension, type StatsSeries } from '@contracts/stream.js';
import { request } from './api';
import { formatCount } from './format';

export type { StatsDimension, StatsSeries };

/** `GET /api/v1/stats`: the contract's answer. */
export type Stats = StatsAnswer;

/**
 * The range picker's choices: the last N of event time up to now. `refreshMs` is the least time
 * between two live refetches: a second where one point is a few seconds, longer where a point is
 * minutes or hours wide and a refetch would redraw the same chart.
 */
export const RANGES = [
  { id: '5m', label: '5 min', refreshMs: 1000 },
  { id: '15m', label: '15 min', refreshMs: 1000 },
  { id: '1h', label: '1 hour', refreshMs: 1000 },
  { id: '6h', label: '6 hours', refreshMs: 5000 },
  { id: '24h', label: '24 hours', refreshMs: 10_000 },
  { id: '7d', label: '7 days', refreshMs: 10_000 },
  { id: '30d', label: '30 days', refreshMs: 10_000 },
] as const;
export type Range = (typeof RANGES)[number];
export type RangeId = Range['id'];

/** The range a `?range=` value names; the last hour when it names none. */
export function rangeFromQuery(value: string | null): Range {
  return RANGES.find((r) => r.id === value) ?? RANGES[2];
}

/**
 * Statistics of the last `range` (the server resolves "now", so a browser clock that is off does
 * not shift the window), grouped by `by`.
 */
export async function fetchStats(range: RangeId, by: StatsDimension, signal?: AbortSignal): Promise<Stats> {
  const params = new URLSearchParams({ from: `now-${range}`, by });
  // Parsed: a shape that drifted would draw wrong charts rather than fail.
  return statsAnswer.parse(await request<unknown>('GET', `/api/v1/stats?${params.toString()}`, undefined, signal));
}

/** How a series key reads in a legend or table: events without a value are "(none)". */
export function seriesLabel(key: string, other = false): string {
  if (other) return 'other';
  return key === '' ? '(none)' : key;
}

const SECTION_COLOURS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#b7791f', '#5a67d8', '#e53e3e', '#2c7a7b'];
const OTHER_COLOUR = '#a0aec0';
/** Status classes keep their meaning across charts: green ok, red server error. */
const STATUS_COLOURS: Record<string, string> = { '1xx': '#718096', '2xx': '#2f855a', '3xx': '#3182ce', '4xx': '#d69e2e', '5xx': '#c53030', '': '#a0aec0' };

export function sectionColour(index: number, other: boolean): string {
  return other ? OTHER_COLOUR : (SECTION_COLOURS[index % SECTION_COLOURS.length] ?? OTHER_COLOUR);
}

export function statusColour(key: string): string {
  return STATUS_COLOURS[key] ?? OTHER_COLOUR;
}

/** Status classes in their natural order, "(none)" and "other" last. */
export function sortStatusSeries(series: StatsSeries[]): StatsSeries[] {
  const rank = (s: StatsSeries) => (s.other ? 99 : s.key === '' ? 98 : Number(s.key.charAt(0)) || 97);
  return [...series].sort((a, b) => rank(a) - rank(b));
}

/** Requests per second of a series (hits of each bucket over the step). */
export function perSecond(hits: number[], step: number): number[] {
  return hits.map((h) => h / step);
}

/** "0.25", "3.4", "120", "12.3k": a rate or count that fits a small tile. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(abs >= 1e10 ? 0 : 1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  if (abs >= 100 || Number.isInteger(value)) return formatCount(Math.round(value));
  if (abs >= 10) return value.toFixed(1);
  if (abs === 0) return '0';
  return abs >= 0.01 ? value.toFixed(2) : value.toPrecision(2);
}

/** A rate for a tile or table: like formatNumber, but "< 0.01" rather than a string of zeros. */
export function formatRate(value: number | null | undefined): string {
  if (value !== null && value !== undefined && value > 0 && value < 0.01) return '< 0.01';
  return formatNumber(value);
}

/** A share 0..1 as "12.5 %", "0.04 %"; "—" when there is nothing to divide. */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  const pct = share * 100;
  if (pct === 0) return '0 %';
  if (pct >= 10) return `${pct.toFixed(1)} %`;
  return `${pct.toPrecision(2)} %`;
}

/** Start of the first bucket that is not final yet (unix seconds), or null when all are, or when unknown. */
export function firstOpenBucket(stats: Pick<Stats, 'timestamps' | 'step' | 'watermark'>): number | null {
  if (!stats.watermark) return null;
  const watermark = Date.parse(stats.watermark) / 1000;
  return stats.timestamps.find((t) => t + stats.step > watermark) ?? null;
}
