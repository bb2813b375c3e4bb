/** Values on their way into PostgreSQL (both stores): what it refuses, and fast timestamp text. */

/**
 * PostgreSQL text and jsonb cannot hold U+0000, which JSON and protobuf payloads can carry: it is
 * replaced by U+FFFD on the way in, so one such event cannot fail the batch it is stored with. In
 * JSON text only a `\u0000` escape preceded by an even number of backslashes is a NUL (an odd
 * number escapes the backslash).
 */
const ESCAPED_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;
export const pgText = <T extends string | null>(value: T): T => (value !== null && value.includes('\0') ? (value.replaceAll('\0', '\ufffd') as T) : value);
export function pgJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes('\\u0000') ? json.replace(ESCAPED_NUL, '$1\\ufffd') : json;
}

/**
 * `Date#toISOString` of an epoch-ms instant (to the millisecond), with the part up to the second
 * cached: events of a batch share few seconds, and formatting two dates per event was the single
 * largest cost of writing a batch.
 */
const secondPrefixes = new Map<number, string>();
export function isoOf(ms: number): string {
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  let prefix = secondPrefixes.get(second);
  if (prefix === undefined) {
    if (secondPrefixes.size >= 4096) secondPrefixes.clear();
    prefix = new Date(second * 1000).toISOString().slice(0, 19);
    secondPrefixes.set(second, prefix);
  }
  return `${prefix}.${String(whole - second * 1000).padStart(3, '0')}Z`;
}
