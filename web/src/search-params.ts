/**
 * The dashboard's query strings, read and written the plain way (`?tag=a&tag=b&range=1h`).
 * TanStack Router's default serialisation JSON-encodes values (`?tag=%5B%22a%22%5D`) and keeps one
 * value per key: the URLs that browser tests and alert e-mails use would change. Pure (no `window`).
 */

/** A parsed query string: one string per key, or a list when the key repeats. */
export type RawSearch = Record<string, string | string[]>;

export function parseSearch(searchStr: string): RawSearch {
  const search: RawSearch = {};
  for (const [key, value] of new URLSearchParams(searchStr.startsWith('?') ? searchStr.slice(1) : searchStr)) {
    const previous = search[key];
    search[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return search;
}

/** `?a=1&b=x&b=y`, or '' when nothing is set; undefined and empty lists are left out, in key order. */
export function stringifySearch(search: Record<string, unknown>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(search)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) query.append(key, String(item));
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** The first value of a key, if it is a string (a repeated key gives its first value). */
export function firstValue(value: unknown): string | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/** Every string value of a key: none, one, or a repeated key's list. */
export function allValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** A parsed search as URLSearchParams, for helpers written against it (e.g. `filtersFromQuery`). */
export function toSearchParams(search: Record<string, unknown>): URLSearchParams {
  return new URLSearchParams(stringifySearch(search));
}
