import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope } from '../../contracts/errors.js';
import {
  currencyRatesInput,
  MAX_SHIPMENTS_PER_REQUEST,
  currencyRatesView,
  shipmentInput,
  shipmentIntakeAnswer,
  shipmentList,
  shipmentListQuery,
  shipmentParams,
  shipmentView,
} from '../../contracts/shipments.js';
import { DomainError, forbidden } from '../../platform/errors.js';
import type { AppContext } from '../../platform/http/context.js';
import { mediaType } from '../../platform/http/media-type.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { z } from 'zod';
import { currencyRates, getShipment, intakeShipments, pageShipments, setCurrencyRates } from './intake.js';
import { formatOf } from './rows.js';

/** 100,000 shipments of a few hundred bytes each, with room to spare; this route only. */
export const SHIPMENT_BODY_LIMIT = 256 * 1024 * 1024;

const tags = ['shipments'];
const denied = { 401: errorEnvelope, 403: errorEnvelope };

/** What the intake takes, in its 415s (its own, and fastify's for a header it cannot parse). */
const INTAKE_FORMATS =
  "application/json (an array), application/x-ndjson or text/csv, or no Content-Type at all and the body's first character tells ([ a JSON array, { NDJSON, else CSV with a header row)";

/**
 * `/api/v1/shipments` (bulk intake as JSON array, NDJSON or CSV; listing; one by external id) and
 * `/api/v1/currency-rates` (read by anyone signed in, written by platform administrators).
 */
export function shipmentRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    // The intake, in a plugin of its own so that its body parsers reach no other route (the rates
    // take JSON only). Every format arrives as text and is split into rows by the intake (rows.ts),
    // JSON included: fastify's JSON parser refuses the whole body for one row's "__proto__" key,
    // where the intake refuses that row and stores the others, as in NDJSON and CSV. Any other type
    // (none, curl's default for --data-binary, a file upload's) arrives as text too: the handler
    // sniffs the undeclared ones and names the type it refuses, instead of fastify's bare 415.
    await app.register(async (app) => {
      app.removeContentTypeParser('application/json');
      app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
      app.addContentTypeParser(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'text/csv'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
      app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

      app.post(
        '/api/v1/shipments',
        {
          bodyLimit: SHIPMENT_BODY_LIMIT,
          config: { accepts: INTAKE_FORMATS },
          // The body schema documents a row (JSON form); rows are validated one by one by the intake,
          // so that a bad row is reported while the good ones are stored: no whole-body validation.
          validatorCompiler: () => (data: unknown) => ({ value: data }),
          schema: {
            tags,
            body: z.array(shipmentInput).max(MAX_SHIPMENTS_PER_REQUEST).describe('Shipments: a JSON array of these objects, the same objects one per line (application/x-ndjson), or CSV rows under a header of these field names (text/csv)'),
            summary: 'Bulk intake of shipments: a JSON array, NDJSON (application/x-ndjson) or CSV with a header row (text/csv), up to 100,000 rows',
            description:
              'Sent without a Content-Type (or as text/plain, application/octet-stream or application/x-www-form-urlencoded, what `curl --data-binary @file` sends), the body\'s first character tells the format: `[` a JSON array, `{` NDJSON, anything else CSV. Idempotent by external_id within the organisation: a row already stored is counted in `duplicates`, not stored again. Bad rows are listed with their line and field while the good ones are stored; a 2xx means the rows counted in `stored` are committed. Every row refused → 400 with the same answer in `details`.',
            response: { 200: shipmentIntakeAnswer, 400: errorEnvelope, ...denied, 413: errorEnvelope, 415: errorEnvelope },
          },
          preHandler: requireRole(ctx, 'member'),
        },
        async (request) => {
          const format = formatOf(request.headers['content-type']);
          if (!format) {
            throw new DomainError(
              'unsupported_encoding',
              `Content-Type ${mediaType(request.headers['content-type'])} is not accepted here: this endpoint takes ${INTAKE_FORMATS}.`,
            );
          }
          const answer = await intakeShipments(ctx.store, principalOf(request).orgId, format, request.body);
          if (answer.rejected > 0 && answer.stored + answer.duplicates === 0) {
            throw new DomainError('invalid_request', `Every row was refused (${answer.rejected}); none stored.`, { details: answer });
          }
          return answer;
        },
      );
    });
    app.get(
      '/api/v1/shipments',
      {
        schema: { tags, summary: "The organisation's shipments, newest created_at first", querystring: shipmentListQuery, response: { 200: shipmentList, 400: errorEnvelope, ...denied } },
        preHandler: requireRole(ctx),
      },
      async (request) => pageShipments(ctx.db, principalOf(request).orgId, request.query.limit, request.query.before),
    );
    app.get(
      '/api/v1/shipments/:external_id',
      {
        schema: { tags, summary: 'One shipment by its external_id', params: shipmentParams, response: { 200: shipmentView, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx),
      },
      async (request) => getShipment(ctx.db, principalOf(request).orgId, request.params.external_id),
    );
    app.get(
      '/api/v1/currency-rates',
      { schema: { tags, summary: 'The currency rates declared values are converted to US dollars with', response: { 200: currencyRatesView, ...denied } }, preHandler: requireRole(ctx) },
      async () => currencyRates(ctx.db),
    );
    app.put(
      '/api/v1/currency-rates',
      {
        schema: {
          tags,
          summary: 'Add or replace currency rates (platform administrators); applies to shipments taken in from now on',
          body: currencyRatesInput,
          response: { 200: currencyRatesView, 400: errorEnvelope, ...denied },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => {
        if (!principalOf(request).platformAdmin) throw forbidden('Only platform administrators change currency rates.');
        return setCurrencyRates(ctx.db, request.body.rates);
      },
    );
  };
}
