import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type ErrorCode } from '../errors.js';
import { isUnavailableError } from '../outage.js';
import type { App } from './context.js';
import { mediaType } from './media-type.js';

/** The error envelope as a response schema, for routes to document their 4xx answers. */

/**
 * The HTTP status of every domain error code: the one place where a domain's "what went wrong"
 * becomes an answer. A `Record` over the union, so a new code does not compile until it has a status.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  invalid_field: 400,
  invalid_request: 400,
  corrupt_body: 400,
  no_valid_events: 400,
  payload_too_large: 413,
  unsupported_encoding: 415,
  uri_too_long: 414,
  unauthorized: 401,
  forbidden: 403,
  csrf: 403,
  too_many_attempts: 429,
  not_found: 404,
  conflict: 409,
  overloaded: 503,
  busy: 503,
  bus_unavailable: 503,
  shutting_down: 503,
  processing_failed: 503,
  unavailable: 503,
  internal: 500,
};

export const httpStatusOf = (error: DomainError): number => HTTP_STATUS[error.code];

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

/** The union's code for a client error fastify raised itself (its codes are `FST_ERR_…`). */
const CODE_OF_STATUS: Readonly<Partial<Record<number, ErrorCode>>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_encoding',
  429: 'too_many_attempts',
};

/**
 * A 4xx error that is not a DomainError (a body that is not JSON, too large, of an unsupported
 * type) answers with a code of the union, as every envelope must: routes declare the envelope as
 * their error answers and the serializer refuses any other code.
 */
const clientErrorCode = (error: FastifyError, status: number): ErrorCode =>
  Object.hasOwn(HTTP_STATUS, error.code) ? (error.code as ErrorCode) : (CODE_OF_STATUS[status] ?? 'bad_request');

/**
 * Answers an error: status, `Retry-After` for temporary conditions, a log line for server faults,
 * and the body `render` writes. One place for all of that, whatever shape the body takes.
 */
export function answerError(error: FastifyError | DomainError, request: FastifyRequest, reply: FastifyReply, render: ErrorBody = envelope): FastifyReply {
  if (error instanceof DomainError) {
    const status = httpStatusOf(error);
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    // A server-side failure caused by an outage (the bus gave up on a batch the database refused) says so.
    const outage = status >= 500 && error.retryAfterSeconds !== undefined && isUnavailableError(error.cause);
    const { code, message } = outage ? { code: 'unavailable', message: UNAVAILABLE_MESSAGE } : error;
    return reply.status(status).send(render({ status, code, message, details: error.details }));
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
  return reply.status(status).send(render({ status, code: clientErrorCode(error, status), message: clientErrorMessage(error, request) }));
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route's body may be, for the 415 fastify answers before the route runs (default: JSON). */
    accepts?: string;
  }
}

/**
 * What a client error says. Fastify's own 415 says only "Unsupported Media Type". Most endpoints
 * take JSON, and the usual cause is curl's `-d`, which sends application/x-www-form-urlencoded
 * unless told otherwise; a route that takes more says what in its `config.accepts` (fastify still
 * refuses an unparsable header, such as an empty one, before any parser of the route).
 */
function clientErrorMessage(error: FastifyError, request: FastifyRequest): string {
  if (error.code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return error.message;
  const type = mediaType(request.headers['content-type']);
  const accepts = request.routeOptions.config.accepts;
  const what = accepts ?? 'JSON; send the header Content-Type: application/json (curl -d sends application/x-www-form-urlencoded unless told)';
  return `Content-Type ${type === '' ? '(none)' : type} is not accepted here: this endpoint takes ${what}.`;
}

/** One error envelope for the whole API: `{ error: { code, message, details? } }`. */
export function registerErrorHandler(app: App): void {
  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => answerError(error, request, reply));
}
