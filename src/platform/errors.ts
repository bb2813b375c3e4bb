/**
 * The one error type domain verbs throw. A domain names *what* went wrong with a code from the
 * union below; it never picks an HTTP status. The HTTP layer maps every code to a status in one
 * exhaustive table (`platform/http/errors.ts`), and answers with one envelope:
 * `{ "error": { "code", "message", "details?" } }`.
 */
export type { ErrorCode } from '../contracts/errors.js';
import type { ErrorCode } from '../contracts/errors.js';

export interface DomainErrorOptions {
  /** Machine-readable specifics (e.g. `[{ field, message }]`), sent as the envelope's `details`. */
  details?: unknown;
  /** The condition is temporary: the answer carries `Retry-After` with this many seconds. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;

  constructor(
    public readonly code: ErrorCode,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    if (options.details !== undefined) this.details = options.details;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const badRequest = (message: string, details?: unknown) => new DomainError('bad_request', message, { details });
export const unauthorized = (message = 'Missing or invalid credentials: send an API key in X-Api-Key or Authorization: Bearer, or log in.') =>
  new DomainError('unauthorized', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const conflict = (message: string, details?: unknown) => new DomainError('conflict', message, { details });

/** A field-level validation failure: `field` names the offending input (e.g. "schedule"). */
export const invalidField = (field: string, message: string) =>
  new DomainError('invalid_field', `${field}: ${message}`, { details: [{ field, message }] });
