/**
 * Typed errors domain verbs throw. The server maps them to one envelope:
 * `{ "error": { "code", "message", "details?" } }` with the status below.
 */
export class AppError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details?: unknown,
    /** The condition is temporary: the answer carries `Retry-After` with this many seconds. */
    public readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError(400, 'bad_request', message, details);
export const unauthorized = (message = 'Missing or invalid credentials: send an API key in X-Api-Key or Authorization: Bearer, or log in.') =>
  new AppError(401, 'unauthorized', message);
export const forbidden = (message: string) => new AppError(403, 'forbidden', message);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, details?: unknown) => new AppError(409, 'conflict', message, details);

/** A field-level validation failure: `field` names the offending input (e.g. "schedule"). */
export const invalidField = (field: string, message: string) =>
  new AppError(400, 'invalid_field', `${field}: ${message}`, [{ field, message }]);
