import { z } from 'zod';

/**
 * Every error code an answer may carry. Domains throw `DomainError` with one of these (what went
 * wrong, never an HTTP status); the server maps each to a status in one exhaustive table
 * (`platform/http/errors.ts`); the web app may switch on them.
 */
export const errorCode = z.enum([
  // The request: malformed, invalid or over a limit.
  'bad_request',
  'invalid_field',
  'invalid_request',
  'corrupt_body',
  'no_valid_events',
  'payload_too_large',
  'unsupported_encoding',
  'uri_too_long',
  // Who is asking.
  'unauthorized',
  'forbidden',
  'csrf',
  'too_many_attempts',
  // What is asked for.
  'not_found',
  'conflict',
  // Vigil itself: temporary conditions (answered with Retry-After) and faults.
  'overloaded',
  'busy',
  'bus_unavailable',
  'shutting_down',
  'processing_failed',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof errorCode>;

/** The one error envelope of Vigil's own API (the Healthchecks-compatible routes keep theirs). */
export const errorEnvelope = z.object({
  error: z.object({ code: errorCode, message: z.string(), details: z.unknown().optional() }),
});
/** @public — part of the API contract for any client, whether or not Vigil\'s own code names it. */
/** A 204 answer: no body. */
export const noContent = z.undefined().describe('No content');

/** @public — part of the API contract for any client, whether or not Vigil's own code names it. */
export type ErrorEnvelope = z.infer<typeof errorEnvelope>;
