import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cleanText, needsCleaning } from '../../platform/store/values.js';

/**
 * One rule for every route's text input: NUL and lone UTF-16 surrogates (from `%00`, `\u0000`,
 * `\ud800` or bytes that are not UTF-8) are replaced by U+FFFD in path parameters, query
 * parameters and parsed JSON bodies, before validation. PostgreSQL refuses NUL in text and jsonb
 * (and a lone surrogate escape in jsonb), so without this a check name, a search term or an API
 * key name carrying one was a 500; now it is stored, or searched for, with the byte replaced, as
 * log ingest already does. Bodies read as bytes (log ingest, ping bodies) are not touched here:
 * their decoders clean what they keep.
 */

interface Slot {
  container: Record<string, unknown> | unknown[];
  key: string | number;
}

/** Cleans every string in a parsed JSON value in place, without recursion (a body may nest deeply). */
export function cleanStrings(value: unknown): unknown {
  if (typeof value === 'string') return needsCleaning(value) ? cleanText(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  const stack: (Record<string, unknown> | unknown[])[] = [value as Record<string, unknown>];
  const renames: Slot[] = [];
  while (stack.length > 0) {
    const container = stack.pop()!;
    const keys = Array.isArray(container) ? container.keys() : Object.keys(container);
    for (const key of keys) {
      const v: unknown = (container as Record<string | number, unknown>)[key];
      if (typeof v === 'string') {
        if (needsCleaning(v)) (container as Record<string | number, unknown>)[key] = cleanText(v);
      } else if (typeof v === 'object' && v !== null) {
        stack.push(v as Record<string, unknown>);
      }
      if (typeof key === 'string' && needsCleaning(key)) renames.push({ container, key });
    }
  }
  for (const { container, key } of renames) {
    const record = container as Record<string, unknown>;
    const v = record[key as string];
    delete record[key as string];
    Object.defineProperty(record, cleanText(key as string), { value: v, enumerable: true, writable: true, configurable: true });
  }
  return value;
}

function clean(request: FastifyRequest): void {
  if (request.params !== null && typeof request.params === 'object') cleanStrings(request.params);
  if (request.query !== null && typeof request.query === 'object') cleanStrings(request.query);
  const body: unknown = request.body;
  // Buffers and other parser products (a ping's tail buffer) are bytes for their route to read.
  if (typeof body === 'string') request.body = cleanStrings(body);
  else if (Array.isArray(body) || (typeof body === 'object' && body !== null && Object.getPrototypeOf(body) === Object.prototype)) cleanStrings(body);
}

/** Registers the cleaning for every route (call before the routes are registered). */
export function registerInputCleaning(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    clean(request);
  });
}
