import { NATIVE_ALIASES, expandJsonMessage, mergeFields, type EventFields, type FieldAliases } from '../normalise.js';
import type { DecodeOptions } from './limits.js';

/** Why a JSON value that should be an event object is not one: `expected a JSON object, got an array`. */
export const notAnObject = (v: unknown): string =>
  `expected a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? 'a string' : `a ${typeof v}`}`;

const hasHttp = (f: EventFields): boolean => f.method !== undefined || f.path !== undefined || f.status !== undefined;

/**
 * Fields hidden in a message: a JSON-object message is parsed (its fields fill what the envelope
 * lacks); otherwise, if the envelope names no HTTP fields, the request's `parseMessage` (e.g. the
 * access-log line parser) may read them from the text. A parser that throws or finds nothing
 * leaves the event as it was.
 */
export function enrichMessage(fields: EventFields, options: DecodeOptions, aliases: FieldAliases = NATIVE_ALIASES): EventFields {
  const expanded = expandJsonMessage(fields, aliases);
  if (expanded !== fields || options.parseMessage === undefined || hasHttp(fields) || typeof fields.message !== 'string') return expanded;
  let parsed: EventFields | null;
  try {
    parsed = options.parseMessage(fields.message);
  } catch {
    parsed = null;
  }
  return parsed === null ? fields : mergeFields(fields, parsed);
}
