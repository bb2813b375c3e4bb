import { cleanText, needsCleaning } from '../../../platform/store/values.js';
import type { LogEvent } from '../event.js';

/**
 * Limits on the shape of one event's attributes, checked when a request is decoded so that an event
 * nothing downstream can handle (a 10,000-level nesting overflows every recursive serialiser:
 * JSON.stringify, PostgreSQL's jsonb parser) is refused with its index and reason while the rest of
 * its batch is kept. Strings are cleaned here too, once, so every later stage (bus, store, archive,
 * logs) sees text it can carry.
 */

/** Objects and arrays inside `attributes`; Datadog keeps 20, OTLP AnyValue nests rarely past 5. */
export const MAX_ATTRIBUTE_DEPTH = 32;
/** Keys plus array elements across one event's attributes, at every depth. */
export const MAX_ATTRIBUTE_ENTRIES = 10_000;
/** Characters of one attribute key. */
export const MAX_KEY_LENGTH = 1024;
/**
 * Characters of an event's section (the first segment of its path), which is part of the statistics'
 * key: PostgreSQL cannot index a longer one (btree rows are at most 2,704 bytes). Longer sections are
 * cut, not refused: the path itself is kept whole.
 */
export const MAX_SECTION_LENGTH = 256;

export type ShapeResult = { ok: true; event: LogEvent } | { ok: false; reason: string };

const TEXT_FIELDS = ['service', 'host', 'source', 'level', 'message', 'method', 'path', 'section', 'remoteAddr', 'userAgent'] as const;

/** `attributes.a.b[3]`, shortened: only for reasons shown to users. */
function where(path: readonly (string | number)[]): string {
  const shown = path.slice(0, 6).map((k) => (typeof k === 'number' ? `[${k}]` : `.${k.length > 40 ? `${k.slice(0, 37)}...` : k}`));
  return `attributes${shown.join('')}${path.length > 6 ? '...' : ''}`;
}

interface Frame {
  value: object;
  depth: number;
  path: (string | number)[];
}

/**
 * Checks the attribute tree without recursion (a hostile depth cannot exhaust the stack here) and
 * says whether any value needs rewriting: a string with NUL or a lone surrogate, a key likewise, or a
 * value JSON cannot carry as is (BigInt, non-finite number, Date, bytes).
 */
function inspect(attributes: object): { reason: string } | { dirty: boolean } {
  const stack: Frame[] = [{ value: attributes, depth: 1, path: [] }];
  let entries = 0;
  let dirty = false;
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    const isArray = Array.isArray(value);
    const keys = isArray ? null : Object.keys(value);
    const count = isArray ? value.length : keys!.length;
    entries += count;
    if (entries > MAX_ATTRIBUTE_ENTRIES) return { reason: `attributes have more than ${MAX_ATTRIBUTE_ENTRIES.toLocaleString('en')} keys and array elements: send fewer or flatten them into the message` };
    for (let i = 0; i < count; i++) {
      const key = isArray ? i : keys![i]!;
      if (typeof key === 'string') {
        if (key.length > MAX_KEY_LENGTH) return { reason: `${where([...path, key])}: key is longer than ${MAX_KEY_LENGTH.toLocaleString('en')} characters` };
        if (needsCleaning(key)) dirty = true;
      }
      const v: unknown = (value as Record<string | number, unknown>)[key];
      if (typeof v === 'string') {
        if (needsCleaning(v)) dirty = true;
      } else if (typeof v === 'number') {
        if (!Number.isFinite(v)) dirty = true;
      } else if (typeof v === 'object' && v !== null) {
        if (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
          if (depth + 1 > MAX_ATTRIBUTE_DEPTH) return { reason: `${where([...path, key])}: attributes nest deeper than ${MAX_ATTRIBUTE_DEPTH} levels: flatten them` };
          stack.push({ value: v, depth: depth + 1, path: [...path, key] });
        } else {
          dirty = true;
        }
      } else if (typeof v !== 'boolean' && v !== null) {
        // bigint, undefined, function, symbol
        dirty = true;
      }
    }
  }
  return { dirty };
}

function defineKey(out: Record<string, unknown>, key: string, value: unknown): void {
  // A `"__proto__"` key is data here: plain assignment would set the object's prototype instead.
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** A JSON value with every string cleaned; depth is bounded by `inspect`, so recursion is safe. */
function cleanValue(v: unknown): unknown {
  if (typeof v === 'string') return cleanText(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return undefined;
  if (Array.isArray(v)) return v.map((x) => cleanValue(x) ?? null);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return cleanText(String(v));
  const out: Record<string, unknown> = {};
  for (const [key, x] of Object.entries(v)) {
    const cleaned = cleanValue(x);
    if (cleaned !== undefined) defineKey(out, cleanText(key), cleaned);
  }
  return out;
}

/**
 * The event as every later stage can carry it, or why it cannot be: attribute depth, entry count and
 * key length within the limits above; NUL and lone surrogates replaced by U+FFFD in every string (as
 * PostgreSQL needs); the section cut to MAX_SECTION_LENGTH. Returns the same object when nothing changes.
 */
export function settleEvent(event: LogEvent): ShapeResult {
  const found = inspect(event.attributes);
  if ('reason' in found) return { ok: false, reason: found.reason };
  let out = event;
  const patch = (key: keyof LogEvent, value: unknown): void => {
    if (out === event) out = { ...event };
    (out as unknown as Record<string, unknown>)[key] = value;
  };
  for (const key of TEXT_FIELDS) {
    const v = event[key];
    if (typeof v === 'string' && needsCleaning(v)) patch(key, cleanText(v));
  }
  if (out.section !== null && out.section.length > MAX_SECTION_LENGTH) patch('section', cleanText(out.section.slice(0, MAX_SECTION_LENGTH)));
  if (found.dirty) patch('attributes', cleanValue(event.attributes));
  return { ok: true, event: out };
}
