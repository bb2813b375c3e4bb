/** The browser's time zone: the default for schedules a person types in, and the zone of `datetime-local` inputs. */
export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Every IANA zone the browser knows, with UTC first and `current` kept even if unknown here. */
export function timeZones(current: string): string[] {
  const zones = new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  zones.add(current);
  return [...zones];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A `datetime-local` input value ("2026-03-01T14:30") for an instant, in the browser's zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * A `datetime-local` value read in the browser's zone, as an ISO UTC instant; undefined when
 * empty or not a date. (A date-time without offset is local time by the ECMAScript spec.)
 */
export function localInputToIso(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
