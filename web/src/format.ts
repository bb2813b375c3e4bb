/**
 * Formatting of times, durations, periods and sizes for people.
 *
 * The dashboard is written in English, so dates and relative times are too, whatever language the
 * browser prefers ("vor 3 Minuten" inside an English page read as a mix-up): every formatter here uses
 * UI_LOCALE, with a 24-hour clock. Times are shown in the viewer's time zone, and an absolute time
 * always says which zone it is in.
 */

/** The language of the dashboard's texts, used for every date and number format. */
export const UI_LOCALE = 'en-US';

const UNITS: [unit: string, seconds: number][] = [
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** "5 minutes", "1 hour 30 minutes", "2 seconds": a period given in seconds, two units at most. */
export function formatPeriod(seconds: number): string {
  if (seconds <= 0) return '0 seconds';
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** A run duration in milliseconds: "850 ms", "12.3 s", "4 min 05 s", "2 h 10 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const total = Math.round(s);
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, '0')} min`;
}

const relative = new Intl.RelativeTimeFormat(UI_LOCALE, { numeric: 'auto' });

/**
 * "3 minutes ago", "in 20 seconds", relative to `now` (ms since epoch). With `past`, the time is
 * known to be in the past (a ping received), so a moment "in the future" is clock skew between
 * server and browser and shows as "just now".
 */
export function formatRelative(iso: string | null | undefined, now: number, past = false): string {
  if (!iso) return 'never';
  let diff = (Date.parse(iso) - now) / 1000;
  if (past && diff > 0) diff = 0;
  const abs = Math.abs(diff);
  if (abs < 1) return 'just now';
  if (abs < 60) return relative.format(Math.round(diff), 'second');
  if (abs < 3600) return relative.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(diff / 3600), 'hour');
  return relative.format(Math.round(diff / 86400), 'day');
}

// timeStyle 'long' adds the zone ("Mar 1, 2026, 14:00:00 GMT+9"; "UTC" where the viewer is in UTC).
const absolute = new Intl.DateTimeFormat(UI_LOCALE, { dateStyle: 'medium', timeStyle: 'long', hourCycle: 'h23' });
const absoluteUtc = new Intl.DateTimeFormat(UI_LOCALE, { dateStyle: 'medium', timeStyle: 'long', hourCycle: 'h23', timeZone: 'UTC' });

/** A full date and time in the viewer's zone, naming the zone, for tooltips and tables. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return absolute.format(new Date(iso));
}

/** The same in UTC ("Mar 1, 2026, 05:00:00 UTC"): the archive is cut in UTC days. */
export function formatDateTimeUtc(iso: string | null | undefined): string {
  if (!iso) return '—';
  return absoluteUtc.format(new Date(iso));
}

const zoneName = new Intl.DateTimeFormat(UI_LOCALE, { timeZoneName: 'short' });

/** The viewer's zone as dates show it at `ms` ("GMT+9", "EST", "UTC"): daylight saving time changes it. */
export function shortZone(ms: number = Date.now()): string {
  return zoneName.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'local time';
}

/** A whole count with thousands separators, in the dashboard's language: "12,345". */
export const formatCount = (n: number): string => n.toLocaleString(UI_LOCALE);

const ISO_INSTANT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g;

/** Server texts (status reasons) name instants in ISO form; show them in the reader's time zone. */
export function humanizeInstants(text: string): string {
  return text.replace(ISO_INSTANT, (iso) => formatDateTime(iso));
}

const range = new Intl.DateTimeFormat(UI_LOCALE, { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' });

/** "Mar 1, 2026, 14:00 – 16:30 GMT+1": two instants in the reader's zone, the shared date said once, then the zone. */
export function formatRange(fromIso: string, toIso: string): string {
  const from = new Date(fromIso);
  const to = new Date(toIso);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${fromIso} – ${toIso}`;
  const zone = shortZone(from.getTime());
  const toZone = shortZone(to.getTime());
  return `${range.formatRange(from, to)} ${zone === toZone ? zone : `(${zone} to ${toZone})`}`;
}

const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/**
 * "512 B", "1.4 MB", "230 GB": sizes in powers of 1000, as disks are sold and as `vigil monitor`
 * prints them, so the dashboard and the terminal show the same figure.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (Math.abs(bytes) < 1000) return `${Math.round(bytes)} B`;
  let value = bytes / 1000;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Math.abs(value) < 10 ? value.toFixed(1) : Math.round(value)} ${BYTE_UNITS[unit]}`;
}
