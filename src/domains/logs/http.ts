import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  datadogIngestAnswer,
  datadogIngestParams,
  datadogIngestQuery,
  ingestErrors,
  logSearchAnswer,
  logSearchQuery,
  logVolumeAnswer,
  logVolumeQuery,
  lokiPushAnswer,
  nativeIngestAnswer,
  nativeIngestQuery,
  otlpExportAnswer,
  otlpStatusAnswer,
  rejectionsAnswer,
  rejectionsQuery,
} from '../../contracts/logs.js';
import { errorEnvelope } from '../../contracts/errors.js';
import { unauthorized } from '../../platform/errors.js';
import { authenticateApiKey } from '../accounts/index.js';
import type { AppContext } from '../../platform/http/context.js';
import { apiKeyFrom, principalOf, requireRole } from '../accounts/index.js';
import { MAX_BODY_BYTES, encodeOtlpResponse, otlpErrorStatus, otlpPartialSuccess } from './decoders/index.js';
import type { DecodeJob } from './decoders/job.js';
import type { EventBus } from '../../platform/bus/index.js';
import { openLogIngest, otlpRefusal, requireSomeStored } from './ingest.js';
import { listRejections } from './rejections.js';
import { countLogVolume, searchLogEvents } from './search.js';
import { DEFAULT_VOLUME_BUCKETS, VOLUME_COUNT_CAP } from './volume.js';

/**
 * Log ingest routes (native, Datadog, Loki, OTLP): each turns its request into a decode job, calls
 * the ingest verb (ingest.ts: admission, decoding, publishing, durability) and answers in its
 * protocol's own convention. A batch with bad events keeps the good ones and says which were refused.
 */
export function logIngestRoutes(ctx: AppContext, bus: EventBus): FastifyPluginAsyncZod {
  return async (app) => {
    // Bodies arrive as bytes whatever their type; each protocol decodes its own (gzip included),
    // large ones on worker threads (VIGIL_DECODE_THREADS), which end with the server.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) => done(null, body));
    const logs = openLogIngest({
      db: ctx.db,
      bus,
      logger: ctx.logger,
      hotDays: ctx.config.VIGIL_HOT_DAYS,
      decodeThreads: ctx.config.VIGIL_DECODE_THREADS,
      // The processor COPYs them as they are only from the in-process bus into PostgreSQL.
      encodeRows: bus.kind === 'memory' && ctx.store.connect !== undefined,
    });
    app.addHook('onClose', () => logs.close());

    const write = requireRole(ctx, 'member');
    const tags = ['logs'];
    const bodyOf = (request: FastifyRequest): Buffer => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    const ingest = (request: FastifyRequest, job: DecodeJob) => logs.ingest(principalOf(request).orgId, job, bodyOf(request), request.log);

    /** What every decode job takes from the request's headers. */
    const headers = (request: FastifyRequest) => ({ contentEncoding: request.headers['content-encoding'], contentType: request.headers['content-type'] });

    app.post(
      '/api/v1/logs',
      {
        preHandler: write,
        schema: {
          tags,
          summary: 'Ingest log events: JSON array or NDJSON, or access-log lines with ?format=clf|combined|csv',
          querystring: nativeIngestQuery,
          response: { 200: nativeIngestAnswer, ...ingestErrors },
        },
      },
      async (request, reply) => {
        const { format, service, host, source } = request.query;
        const defaults = { ...(service ? { service } : {}), ...(host ? { host } : {}), ...(source ? { source } : {}) };
        const job: DecodeJob =
          format === 'clf' || format === 'combined' || format === 'csv'
            ? { ...headers(request), protocol: format, defaults }
            : { ...headers(request), protocol: 'native', defaults, ...(format === 'ndjson' ? { contentType: 'application/x-ndjson' } : {}) };
        const { accepted, rejected } = await ingest(request, job);
        requireSomeStored({ accepted, rejected });
        return reply.status(200).send({ accepted, rejected });
      },
    );

    /** Datadog's intakes: v2 answers 202, v1 200, both with an empty object; refusals are logged, as they have no partial-success body. */
    const datadog = (status: 200 | 202) => async (request: FastifyRequest, reply: FastifyReply) => {
      // Validated by the route's querystring schema (datadogIngestQuery) before the handler runs.
      const query = request.query as z.infer<typeof datadogIngestQuery>;
      const result = await ingest(request, { ...headers(request), protocol: 'datadog', query });
      if (result.rejected.length) request.log.warn({ rejected: result.rejected.slice(0, 10), count: result.rejected.length }, 'datadog intake: events refused');
      requireSomeStored(result);
      return reply.status(status).send({});
    };
    app.post(
      '/api/v2/logs',
      {
        preHandler: write,
        schema: { tags, summary: 'Datadog-compatible log intake (DD-API-KEY header accepted)', querystring: datadogIngestQuery, response: { 202: datadogIngestAnswer, ...ingestErrors } },
      },
      datadog(202),
    );

    // The v1 intake (datadog-winston, older agents): the same bodies, the key in DD-API-KEY or in
    // the path (`/v1/input/<key>`), checked before the body is read.
    const keyInPath = async (request: FastifyRequest) => {
      const key = (request.params as { apiKey?: string }).apiKey;
      if (key && !apiKeyFrom(request)) {
        const principal = await authenticateApiKey(ctx.db, key);
        if (!principal) throw unauthorized('Invalid or revoked API key (the one in the /v1/input/<key> path).');
        request.principal = principal;
      }
    };
    const v1Schema = {
      tags,
      summary: 'Datadog v1 log intake (key in DD-API-KEY or the path)',
      querystring: datadogIngestQuery,
      response: { 200: datadogIngestAnswer, ...ingestErrors },
    };
    app.post('/v1/input', { preHandler: write, schema: v1Schema }, datadog(200));
    app.post('/v1/input/:apiKey', { onRequest: keyInPath, preHandler: write, schema: { ...v1Schema, params: datadogIngestParams } }, datadog(200));

    app.post(
      '/loki/api/v1/push',
      {
        preHandler: write,
        schema: { tags, summary: 'Loki push API (JSON, or snappy-compressed protobuf)', response: { 204: lokiPushAnswer, ...ingestErrors } },
      },
      async (request, reply) => {
        const result = await ingest(request, { ...headers(request), protocol: 'loki' });
        if (result.rejected.length) request.log.warn({ rejected: result.rejected.slice(0, 10), count: result.rejected.length }, 'loki push: entries refused');
        requireSomeStored(result);
        return reply.status(204).send(undefined);
      },
    );

    app.post(
      '/v1/logs',
      {
        preHandler: write,
        schema: {
          tags,
          summary: 'OTLP/HTTP logs (JSON or protobuf), with partial success',
          description: 'Answers in the request\'s encoding: OTLP/JSON, or protobuf bytes (application/x-protobuf) of the same messages.',
          response: { ...ingestErrors, 200: otlpExportAnswer, 400: otlpStatusAnswer.or(errorEnvelope) },
        },
      },
      async (request, reply) => {
        const result = await ingest(request, { ...headers(request), protocol: 'otlp' });
        const format = result.format ?? 'json';
        const contentType = format === 'json' ? 'application/json' : 'application/x-protobuf';
        const refusal = otlpRefusal(result, bodyOf(request).length);
        if (refusal !== null) return reply.status(400).type(contentType).send(wrap(otlpErrorStatus(refusal, format)));
        return reply.status(200).type(contentType).send(wrap(encodeOtlpResponse(otlpPartialSuccess({ events: [], rejected: result.rejected }), format)));
      },
    );
  };
}

/** Search of the hot store (the dashboard's Logs page and the API). */
export function logSearchRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const tags = ['logs'];
  const readErrors = { 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope } as const;
  return async (app) => {
    app.get(
      '/api/v1/logs/volume',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'How many stored events match a search, in total and per time bucket',
          description:
            'Takes the filters of GET /api/v1/logs and counts the events that search pages through, per bucket of a round width (the range spans at most `buckets` of them, plus one when it does not start on a bucket boundary; ' +
            `default ${DEFAULT_VOLUME_BUCKETS}). Without \`from\`, the range starts VIGIL_HOT_DAYS days ago (nothing older is kept hot); without \`to\` it ends now, ` +
            'and the last bucket also holds events stamped later (senders whose clock is ahead), as the search shows them. ' +
            `Counting stops after the newest ${VOLUME_COUNT_CAP.toLocaleString('en')} matches: then \`exact\` is false, \`total\` is a lower bound and older buckets are null.`,
          querystring: logVolumeQuery,
          response: { 200: logVolumeAnswer, ...readErrors },
        },
      },
      async (request) => countLogVolume(ctx.db, principalOf(request).orgId, request.query, { hotDays: ctx.config.VIGIL_HOT_DAYS, now: Date.now() }),
    );

    app.get(
      '/api/v1/logs',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'Search stored log events, newest first, with cursor pagination (a live tail passes after_id)',
          querystring: logSearchQuery,
          response: { 200: logSearchAnswer, ...readErrors },
        },
      },
      async (request) => searchLogEvents(ctx.db, principalOf(request).orgId, request.query),
    );

    app.get(
      '/api/v1/logs/rejected',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags: ['logs'],
          summary: 'Log events refused at ingest or set aside by the processor, newest first (kept as long as the hot store)',
          querystring: rejectionsQuery,
          response: { 200: rejectionsAnswer, ...readErrors },
        },
      },
      async (request) => listRejections(ctx.db, principalOf(request).orgId, request.query),
    );
  };
}

/**
 * Protobuf answers are bytes: fastify sends a Buffer as is, without running the response schema's
 * serializer, so only the JSON form is checked against the contract (the bytes carry the same message).
 */
function wrap<Json extends object>(body: Uint8Array | Json): Json {
  return body instanceof Uint8Array ? (Buffer.from(body.buffer, body.byteOffset, body.byteLength) as unknown as Json) : body;
}
