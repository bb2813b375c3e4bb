import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import type { App } from '../context.js';

/** The error envelope as a response schema, for routes to document their 4xx answers. */
export const errorEnvelope = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });

/** One error envelope for the whole API: `{ error: { code, message, details? } }`. */
export function registerErrorHandler(app: App): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(error.status).send({ error: { code: error.code, message: error.message, details: error.details } });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const details = error.validation.map((v) => ({
        field: [error.validationContext, ...String(v.instancePath ?? '').split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'invalid',
      }));
      const message = details.map((d) => `${d.field}: ${d.message}`).join('; ');
      return reply.status(400).send({ error: { code: 'invalid_request', message, details } });
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.status(status).send({ error: { code: 'internal', message: 'Internal server error; the server log has the details.' } });
    }
    return reply.status(status).send({ error: { code: error.code ?? 'bad_request', message: error.message } });
  });
}
