/** The browser's IANA time zone: the default for schedules a person types in. */
export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Every IANA zone the browser knows, with UTC first and `current` kept even if unknown here. */
export function timeZones(current: string): string[] {
  const zones = new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  zones.add(current);
  return [...zones];
}
