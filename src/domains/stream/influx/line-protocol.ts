/**
 * InfluxDB line protocol (`measurement,tag=v field=1i 1700000000`), written by hand because it is a
 * few escaping rules; the rules below were checked against a real InfluxDB 1.6 (see the tests).
 */

/** bigint → integer field (`12i`), number → float, string → quoted string, boolean → t/f. */
export type FieldValue = bigint | number | string | boolean;

export interface Point {
  measurement: string;
  /** Empty or undefined values are left out: line protocol has no empty tag value. */
  tags: Readonly<Record<string, string | undefined>>;
  /** Undefined, null and non-finite numbers are left out (line protocol cannot carry NaN or ∞). */
  fields: Readonly<Record<string, FieldValue | null | undefined>>;
  /** In the unit of the write's `precision` parameter. */
  timestamp: number | bigint;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Control characters cannot appear in a name or tag value at all (a newline ends the line), so they
 * become visible two-character escapes, as InfluxDB's own client libraries write them.
 */
const CONTROL: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Escapes a name or tag value: `special` characters get a backslash. InfluxDB reads a backslash
 * right before a special character (or at the very end) as an escape and never unescapes `\\`, so
 * such a backslash cannot be written as itself: it becomes `%5C`, its URL encoding — these values
 * are mostly URL paths. Every other backslash is written, and stored, as is.
 */
function escapeWith(value: string, special: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const control = CONTROL[ch];
    if (control !== undefined) out += control;
    else if (special.includes(ch)) out += `\\${ch}`;
    else if (ch === '\\') {
      const next = value[i + 1];
      out += next === undefined || special.includes(next) ? '%5C' : '\\';
    } else out += ch;
  }
  return out;
}

/** Measurement names: commas and spaces are escaped. */
export const escapeMeasurement = (name: string): string => escapeWith(name, ', ');

/** Tag keys, tag values and field keys: commas, equals signs and spaces are escaped. */
export const escapeKey = (value: string): string => escapeWith(value, ',= ');

/** String field values are double-quoted: quotes and backslashes are escaped, newlines may stay. */
export const quoteString = (value: string): string => `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;

function formatField(value: FieldValue): string | undefined {
  switch (typeof value) {
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`Integer field ${value} does not fit InfluxDB's 64-bit integers`);
      return `${value}i`;
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'boolean':
      return value ? 't' : 'f';
    case 'string':
      return quoteString(value);
  }
}

/** One line (without the newline), or undefined when no field has a value (InfluxDB rejects such a point). */
export function formatPoint(point: Point): string | undefined {
  if (point.measurement === '' || point.measurement.startsWith('#')) {
    // A leading '#' would turn the line into a comment; neither can be escaped.
    throw new TypeError(`Invalid measurement name ${JSON.stringify(point.measurement)}`);
  }
  if (typeof point.timestamp === 'number' && !Number.isSafeInteger(point.timestamp)) {
    throw new RangeError(`Timestamp ${point.timestamp} is not an integer`);
  }
  const fields: string[] = [];
  for (const [key, value] of Object.entries(point.fields)) {
    if (value === undefined || value === null) continue;
    const formatted = formatField(value);
    if (formatted !== undefined) fields.push(`${escapeKey(key)}=${formatted}`);
  }
  if (fields.length === 0) return undefined;
  // Tags sorted by key: the order InfluxDB stores them in, which spares it a sort per point.
  const tags = Object.entries(point.tags)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `,${escapeKey(key)}=${escapeKey(value)}`)
    .join('');
  return `${escapeMeasurement(point.measurement)}${tags} ${fields.join(',')} ${point.timestamp}`;
}
