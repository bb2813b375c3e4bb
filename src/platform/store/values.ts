/** Values on their way into PostgreSQL (both stores): what it refuses, and fast timestamp text. */

/**
 * PostgreSQL text and jsonb cannot hold U+0000, which JSON and protobuf payloads can carry, and jsonb
 * refuses a `\ud800`-style escape of a lone UTF-16 surrogate (which JSON.parse produces from such an
 * escape and JSON.stringify writes back as one). Both are replaced by U+FFFD on the way in, so one
 * such value cannot fail the statement (and the batch) it is stored with. Text columns need only the
 * NUL rule: a lone surrogate in a string becomes U+FFFD when the driver encodes it as UTF-8.
 */
// JSON.stringify writes a valid surrogate pair as is, so every surrogate escape in its output is a lone one.
const ESCAPED_BAD = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;
export const pgText = <T extends string | null>(value: T): T => (value !== null && value.includes('\0') ? (value.replaceAll('\0', '\ufffd') as T) : value);
export function pgJson(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify writes `\u` escapes only for control characters and lone surrogates: the common case skips the regex.
  return json.includes('\\u') ? json.replace(ESCAPED_BAD, '$1\\ufffd') : json;
}

/**
 * An array parameter as PostgreSQL's array text (cast it: `${pgArray(ids)}::int8[]`): every string
 * element quoted, `"` and `\` escaped, U+0000 replaced (text refuses it, as `pgText`); numbers and
 * booleans as written. The driver builds the same text by concatenation, one element at a time,
 * then measures it for the wire (flattening it): for the fraud detector's arrays of 40,000–100,000
 * values that was 2–3× the time of one join. No null elements, and numbers must be finite: a NaN
 * or an Infinity would be read as such by float8 but fail an integer column with a less clear error.
 */
export function pgArray(values: readonly (string | number | boolean)[]): string {
  return `{${values.map(arrayElement).join(',')}}`;
}

function arrayElement(v: string | number | boolean): string {
  if (typeof v === 'string') {
    const text = v.includes('\0') ? v.replaceAll('\0', '\ufffd') : v;
    return `"${text.includes('"') || text.includes('\\') ? text.replace(/["\\]/g, '\\$&') : text}"`;
  }
  // RangeError and TypeError: batch loops take them for a fault of the data (stream/poison.ts
  // isDataError), so the value's event is isolated and set aside. A plain Error reads as an
  // outage, and the batch was retried forever, holding up every organisation behind it.
  if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`pgArray: ${v} is not a finite number`);
  if (typeof v !== 'number' && typeof v !== 'boolean') throw new TypeError(`pgArray: ${String(v)} is not a string, number or boolean`);
  return String(v);
}

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * A string any part of Vigil can store, send and log: NUL replaced by U+FFFD (PostgreSQL refuses it
 * in text and jsonb) and lone UTF-16 surrogates (which `"\ud800"` in JSON or `%ED%A0%80` cannot
 * carry as UTF-8) replaced by U+FFFD. Returns the same string when there is nothing to replace.
 */
export function cleanText(value: string): string {
  // String#toWellFormed is in Node 20 (ES2024); the project's lib setting is ES2023.
  const s = value as unknown as WellFormed;
  const fixed = s.isWellFormed() ? value : s.toWellFormed();
  return fixed.includes('\0') ? fixed.replaceAll('\0', '\ufffd') : fixed;
}

/** Whether `cleanText` would change the string. */
export const needsCleaning = (value: string): boolean => value.includes('\0') || !(value as unknown as WellFormed).isWellFormed();

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
