import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { isUnavailableError } from '../outage.js';
import type { App } from './context.js';

/** The error envelope as a response schema, for routes to document their 4xx answers. */
export const errorEnvelope = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });

/** Any error a route can end with, reduced to what an answer needs. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  /** Request validation failures: the input field (`<part>` and path) and what is wrong with it. */
  fields?: { part: string; path: string[]; message: string }[];
}

/** How an answer's body is written: Vigil's envelope by default; the Healthchecks API uses its own. */
export type ErrorBody = (answer: ErrorAnswer) => unknown;

const envelope: ErrorBody = ({ code, message, details }) => ({ error: { code, message, details } });

/**
 * Retry-After of an answer to a request that failed because the database or bus was away: a
 * restart takes a few seconds, and Healthchecks clients (curl --retry, runitor) wait this long.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
const UNAVAILABLE_MESSAGE = 'Vigil cannot reach its database or event bus right now (it is restarting or unreachable); retry after the delay in Retry-After.';

/**
 * Answers an error: status, `Retry-After` for temporary conditions, a log line for server faults,
 * and the body `render` writes. One place for all of that, whatever shape the body takes.
 */
export function answerError(error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply, render: ErrorBody = envelope): FastifyReply {
  if (error instanceof AppError) {
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    // A server-side failure caused by an outage (the bus gave up on a batch the database refused) says so.
    const outage = error.status >= 500 && error.retryAfterSeconds !== undefined && isUnavailableError(error.cause);
    const { code, message } = outage ? { code: 'unavailable', message: UNAVAILABLE_MESSAGE } : error;
    return reply.status(error.status).send(render({ status: error.status, code, message, details: error.details }));
  }
  // A lost, refused or timed-out connection to the database (or NATS): temporary, so the client is
  // told when to come back. Not logged per request: the store logs each outage once.
  if (isUnavailableError(error)) {
    request.log.debug({ err: error }, 'request failed: a service is unavailable');
    reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return reply.status(503).send(render({ status: 503, code: 'unavailable', message: UNAVAILABLE_MESSAGE }));
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const fields = error.validation.map((v) => ({
      part: String(error.validationContext ?? ''),
      path: String(v.instancePath ?? '').split('/').filter(Boolean),
      message: v.message ?? 'invalid',
    }));
    const details = fields.map((f) => ({ field: [f.part, ...f.path].filter(Boolean).join('.'), message: f.message }));
    const message = details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return reply.status(400).send(render({ status: 400, code: 'invalid_request', message, details, fields }));
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    return reply.status(status).send(render({ status, code: 'internal', message: 'Internal server error; the server log has the details.' }));
  }
  return reply.status(status).send(render({ status, code: error.code ?? 'bad_request', message: error.message }));
}

/** One error envelope for the whole API: `{ error: { code, message, details? } }`. */
export function registerErrorHandler(app: App): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => answerError(error, request, reply));
}
