/**
 * The Archive page's model: the API client of the cold archive (`GET /api/v1/archive` and
 * `/api/v1/archive/logs`), archived files grouped by day, and the search form's UTC-day bounds.
 */
import { request } from './api';
import type { ArchiveFile as ArchiveFileAnswer, ArchiveListAnswer, ArchiveSearchAnswer, ArchivedLogEventAnswer } from '@contracts/logs.js';
import { searchQuery, type EventSearch } from './logs';

/** One archived Parquet file as `GET /api/v1/archive` lists it. */
export type ArchiveFile = ArchiveFileAnswer;

/** An archived event: the hot search's fields, its id while it was hot (null if archived from elsewhere), and the too-late flag. */
export type ArchivedEvent = ArchivedLogEventAnswer;

/** A page of the archive search, with what the server had to read (archive searches scan files). */
export type ArchiveSearchPage = ArchiveSearchAnswer;

export const listArchive = async (): Promise<ArchiveFile[]> => (await request<ArchiveListAnswer>('GET', '/api/v1/archive')).files;

/** The hot search's filters, except that `status` may also be a class such as `5xx` (see isStatusFilter). */
export const searchArchive = (params: EventSearch): Promise<ArchiveSearchPage> => request<ArchiveSearchPage>('GET', `/api/v1/archive/logs?${searchQuery(params)}`);

/** One archived day: its files added up (a day has several only if it was archived more than once). */
export interface ArchiveDay {
  day: string;
  files: number;
  rows: number;
  bytes: number;
  from: string | null;
  to: string | null;
  /** When its newest file was written. */
  created: string;
}

/** Files grouped by day, newest day first (the order someone looking for recent history reads in). */
export function archiveDays(files: readonly ArchiveFile[]): ArchiveDay[] {
  const byDay = new Map<string, ArchiveDay>();
  const earlier = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a < b ? a : b);
  const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);
  for (const f of files) {
    const d = byDay.get(f.day);
    if (d === undefined) {
      byDay.set(f.day, { day: f.day, files: 1, rows: f.rows, bytes: f.bytes, from: f.from, to: f.to, created: f.created });
    } else {
      byDay.set(f.day, {
        ...d,
        files: d.files + 1,
        rows: d.rows + f.rows,
        bytes: d.bytes + f.bytes,
        from: earlier(d.from, f.from),
        to: later(d.to, f.to),
        created: later(d.created, f.created) ?? d.created,
      });
    }
  }
  return [...byDay.values()].sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0));
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The instants a search from day `fromDay` to day `toDay` (both included, UTC, as archive files are
 * cut) covers; an empty side is open. Undefined when a day is not a date or the range is reversed.
 */
export function dayBounds(fromDay: string, toDay: string): { from?: string; to?: string } | undefined {
  const start = (day: string) => (DAY_RE.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN);
  const from = fromDay ? start(fromDay) : undefined;
  const to = toDay ? start(toDay) + 86_400_000 : undefined;
  if (Number.isNaN(from) || Number.isNaN(to)) return undefined;
  if (from !== undefined && to !== undefined && to <= from) return undefined;
  return { ...(from !== undefined ? { from: new Date(from).toISOString() } : {}), ...(to !== undefined ? { to: new Date(to).toISOString() } : {}) };
}

/** An HTTP status (`404`) or a class of them (`5xx`), as the archive search takes it. */
export const isStatusFilter = (value: string): boolean => /^[1-5](\d\d|xx)$/i.test(value);
