import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, invalidField, unauthorized } from '../../platform/errors.js';
import { authenticateApiKey } from '../accounts/index.js';
import type { AppContext } from '../../platform/http/context.js';
import { apiKeyFrom, principalOf, requireRole } from '../accounts/index.js';
import { errorEnvelope } from '../../platform/http/errors.js';
import { MAX_BODY_BYTES, encodeOtlpResponse, otlpErrorStatus, otlpPartialSuccess, type Rejection } from './decoders/index.js';
import type { DecodeJob } from './decoders/job.js';
import type { OtlpFormat } from './decoders/otlp.js';
import { openLogDecoder } from './decode-pool.js';
import type { EventBus } from '../../platform/bus/index.js';
import { LOG_TOPIC, logMessagesFor } from './bus-codec.js';
import { listRejections, recordRejections } from './rejections.js';
import { countEventsByBucket, partitionable, searchEvents } from './store.js';
import { DEFAULT_VOLUME_BUCKETS, MAX_VOLUME_BUCKETS, VOLUME_COUNT_CAP, foldVolume, planVolume, planVolumeWithStep } from './volume.js';

/** Ingest requests being handled at once; beyond this, callers are asked to retry (never an unbounded queue). */
const MAX_CONCURRENT_INGESTS = 32;

/**
 * Log ingest (native, Datadog, Loki, OTLP/HTTP). Accepted events are published on the event bus;
 * a 2xx answer is sent only once the bus says they are durable (in-process bus: the stream
 * processor committed them; JetStream: the stream stored them). A batch with bad events keeps the
 * good ones and says which were refused, in each protocol's own convention.
 */
export function logIngestRoutes(ctx: AppContext, bus: EventBus): FastifyPluginAsyncZod {
  let inFlight = 0;

  return async (app) => {
    // Bodies arrive as bytes whatever their type; each protocol decodes its own (gzip included),
    // large ones on worker threads (VIGIL_DECODE_THREADS), which end with the server.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) => done(null, body));
    const decoder = openLogDecoder({ threads: ctx.config.VIGIL_DECODE_THREADS, logger: ctx.logger });
    app.addHook('onClose', () => decoder.close());

    const write = requireRole(ctx, 'member');
    const tags = ['logs'];

    /** Decodes, stores and returns what was accepted and refused (no reply: each protocol answers its own way). */
    async function ingest(
      request: FastifyRequest,
      protocol: string,
      job: DecodeJob,
    ): Promise<{ accepted: number; rejected: Rejection[]; format?: OtlpFormat }> {
      if (inFlight >= MAX_CONCURRENT_INGESTS) {
        throw new DomainError('overloaded', 'Vigil is storing as many batches as it can; retry after the delay in Retry-After.', { retryAfterSeconds: 1 });
      }
      inFlight++;
      try {
        const { orgId } = principalOf(request);
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const { result: decoded, receivedAt, bodyBytes, format } = await decoder.decode(job, raw);
        const at = (i: number): Omit<Rejection, 'reason'> => decoded.positions?.[i] ?? {};
        const window = partitionable(decoded.events, { hotDays: ctx.config.VIGIL_HOT_DAYS, now: receivedAt });
        const events = window.accepted.map((i) => decoded.events[i]!);
        const { messages, tooLarge, unencodable } = logMessagesFor(bus, orgId, events, bodyBytes);
        // BusFullError / BusDeliveryError are 503s with a retry delay (Retry-After set by the error handler).
        await bus.publish(LOG_TOPIC, messages);
        const refused: Rejection[] = [
          ...window.refused.map((r) => ({ ...at(r.index), reason: r.reason })),
          ...tooLarge.map((t) => ({
            ...at(window.accepted[t.index]!),
            reason: `event encodes to ${t.bytes.toLocaleString('en')} bytes, more than the event bus carries in one message (${bus.maxMessageBytes.toLocaleString('en')}; raise the NATS server's max_payload)`,
          })),
          ...unencodable.map((u) => ({ ...at(window.accepted[u.index]!), reason: u.reason })),
        ];
        const rejected = [...decoded.rejected, ...refused];
        await remember(request, orgId, protocol, rejected);
        return { accepted: events.length - tooLarge.length - unencodable.length, rejected, ...(format ? { format } : {}) };
      } finally {
        inFlight--;
      }
    }

    /**
     * Records a request's rejections for `GET /api/v1/logs/rejected` (Datadog and Loki answers have no
     * room for them). Best effort: the events that were kept are already durable, so a failure to
     * record is logged and the request still succeeds.
     */
    async function remember(request: FastifyRequest, orgId: string, protocol: string, rejected: readonly Rejection[]): Promise<void> {
      if (rejected.length === 0) return;
      try {
        await recordRejections(
          ctx.db,
          orgId,
          rejected.map(({ reason, ...position }) => ({ stage: 'ingest', protocol, position, reason })),
        );
      } catch (error) {
        request.log.warn({ err: error, count: rejected.length }, 'log ingest: could not record rejected events');
      }
    }

    /** What every decode job takes from the request's headers. */
    const headers = (request: FastifyRequest) => ({ contentEncoding: request.headers['content-encoding'], contentType: request.headers['content-type'] });

    const nativeQuery = z.object({
      format: z.enum(['json', 'ndjson', 'clf', 'combined', 'csv']).optional(),
      service: z.string().max(256).optional(),
      host: z.string().max(256).optional(),
      source: z.string().max(256).optional(),
    });
    app.post(
      '/api/v1/logs',
      {
        preHandler: write,
        schema: {
          tags,
          summary: 'Ingest log events: JSON array or NDJSON, or access-log lines with ?format=clf|combined|csv',
          querystring: nativeQuery,
        },
      },
      async (request, reply) => {
        const { format, service, host, source } = request.query;
        const defaults = { ...(service ? { service } : {}), ...(host ? { host } : {}), ...(source ? { source } : {}) };
        const job: DecodeJob =
          format === 'clf' || format === 'combined' || format === 'csv'
            ? { ...headers(request), protocol: format, defaults }
            : { ...headers(request), protocol: 'native', defaults, ...(format === 'ndjson' ? { contentType: 'application/x-ndjson' } : {}) };
        const { accepted, rejected } = await ingest(request, job.protocol, job);
        const result = { accepted, rejected };
        return answer(reply, result, () => reply.status(200).send(result));
      },
    );

    const datadogQuery = z.object({ ddtags: z.string().optional(), ddsource: z.string().optional(), service: z.string().optional(), hostname: z.string().optional() });
    /** Datadog's intakes: v2 answers 202, v1 200, both with an empty object; refusals are logged, as they have no partial-success body. */
    const datadog = (status: 200 | 202) => async (request: FastifyRequest, reply: FastifyReply) => {
      // Validated by the route's querystring schema (datadogQuery) before the handler runs.
      const query = request.query as z.infer<typeof datadogQuery>;
      const result = await ingest(request, 'datadog', { ...headers(request), protocol: 'datadog', query });
      if (result.rejected.length) request.log.warn({ rejected: result.rejected.slice(0, 10), count: result.rejected.length }, 'datadog intake: events refused');
      return answer(reply, result, () => reply.status(status).send({}));
    };
    app.post('/api/v2/logs', { preHandler: write, schema: { tags, summary: 'Datadog-compatible log intake (DD-API-KEY header accepted)', querystring: datadogQuery } }, datadog(202));

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
    const v1Schema = { tags, summary: 'Datadog v1 log intake (key in DD-API-KEY or the path)', querystring: datadogQuery };
    app.post('/v1/input', { preHandler: write, schema: v1Schema }, datadog(200));
    app.post('/v1/input/:apiKey', { onRequest: keyInPath, preHandler: write, schema: { ...v1Schema, params: z.object({ apiKey: z.string() }) } }, datadog(200));

    app.post('/loki/api/v1/push', { preHandler: write, schema: { tags, summary: 'Loki push API (JSON)' } }, async (request, reply) => {
      const result = await ingest(request, 'loki', { ...headers(request), protocol: 'loki' });
      if (result.rejected.length) request.log.warn({ rejected: result.rejected.slice(0, 10), count: result.rejected.length }, 'loki push: entries refused');
      return answer(reply, result, () => reply.status(204).send());
    });

    app.post('/v1/logs', { preHandler: write, schema: { tags, summary: 'OTLP/HTTP logs (JSON or protobuf), with partial success' } }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = await ingest(request, 'otlp', { ...headers(request), protocol: 'otlp' });
      const format = result.format ?? 'json';
      const contentType = format === 'json' ? 'application/json' : 'application/x-protobuf';
      if (result.accepted === 0 && result.rejected.length > 0 && raw.length > 0) {
        const message = result.rejected.slice(0, 5).map((r) => (r.path ? `${r.path}: ${r.reason}` : r.reason)).join('; ');
        return reply.status(400).type(contentType).send(wrap(otlpErrorStatus(message, format)));
      }
      return reply.status(200).type(contentType).send(wrap(encodeOtlpResponse(otlpPartialSuccess({ events: [], rejected: result.rejected }), format)));
    });

  };
}

/** The filters of a search of the hot store, shared by the search and its volume count. */
const searchFilters = {
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  q: z.string().max(500).optional(),
  service: z.string().max(256).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
  section: z.string().max(1000).optional(),
};

const volumeAnswer = z.object({
  from: z.string().describe('Start of the first bucket: `from` aligned down to the step (UTC)'),
  to: z.string().describe('End of the last bucket (exclusive)'),
  step: z.number().int().describe('Bucket width in seconds'),
  timestamps: z.array(z.number().int()).describe('Bucket starts, unix seconds'),
  counts: z.array(z.number().int().nullable()).describe('Matching events per bucket; null where the count stopped before reaching it (see `exact`)'),
  total: z.number().int().describe('Matching events; when `exact` is false, more than this many match'),
  exact: z.boolean().describe(`False when more than ${VOLUME_COUNT_CAP.toLocaleString('en')} events match: counting stopped after the newest ones`),
  counted_from: z.string().nullable().describe('When not exact: the buckets from this instant on are complete, older ones are null'),
});

/** Search of the hot store (the dashboard's Logs page and the API). */
export function logSearchRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const tags = ['logs'];
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
          querystring: z.object({
            ...searchFilters,
            buckets: z.coerce.number().int().min(1).max(MAX_VOLUME_BUCKETS).default(DEFAULT_VOLUME_BUCKETS).describe('How many buckets the range is cut into at most (the width is then a round one)'),
            step: z.coerce.number().int().min(1).max(366 * 86_400).optional().describe('Bucket width in seconds instead (60: by minute); 400 buckets at most'),
          }),
          response: { 200: volumeAnswer, 400: errorEnvelope },
        },
      },
      async (request) => {
        const { from, to, buckets, step, ...rest } = request.query;
        const now = Date.now();
        const toMs = to ? Date.parse(to) : now;
        const fromMs = from ? Date.parse(from) : toMs - ctx.config.VIGIL_HOT_DAYS * 86_400_000;
        if (fromMs >= toMs) throw invalidField('to', `must be after from (${new Date(fromMs).toISOString()})`);
        const plan = step === undefined ? planVolume(fromMs, toMs, to !== undefined, buckets) : planVolumeWithStep(fromMs, toMs, to !== undefined, step * 1000);
        if (plan === null) throw invalidField('step', `${step} s cuts the range into more than ${MAX_VOLUME_BUCKETS} buckets: give a wider step or a shorter range`);
        const filter = { ...rest, from: new Date(fromMs), ...(to ? { to: new Date(toMs) } : {}) };
        return foldVolume(plan, await countEventsByBucket(ctx.db, principalOf(request).orgId, filter, plan, VOLUME_COUNT_CAP));
      },
    );

    app.get(
      '/api/v1/logs',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'Search stored log events, newest first, with cursor pagination',
          querystring: z.object({
            ...searchFilters,
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            cursor: z.string().max(500).optional(),
            after_id: z
              .string()
              .regex(/^\d{1,18}$/, 'after_id: give the id of an event from an earlier answer')
              .optional()
              .describe('Only events stored after this one (ids grow in arrival order), for tailing; combine with from to bound the scan'),
          }),
        },
      },
      async (request) => {
        const { from, to, after_id: afterId, ...rest } = request.query;
        return searchEvents(ctx.db, principalOf(request).orgId, {
          ...rest,
          ...(from ? { from: new Date(from) } : {}),
          ...(to ? { to: new Date(to) } : {}),
          ...(afterId ? { afterId } : {}),
        });
      },
    );

    app.get(
      '/api/v1/logs/rejected',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags: ['logs'],
          summary: 'Log events refused at ingest or set aside by the processor, newest first (kept as long as the hot store)',
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(500).default(50),
            before: z
              .string()
              .regex(/^\d{1,18}$/, 'before: give next_before from an earlier answer')
              .optional()
              .describe('Page on: the next_before of the previous answer'),
          }),
          response: { 200: z.object({ rejections: z.array(rejectionSchema), next_before: z.string().nullable() }) },
        },
      },
      async (request) => listRejections(ctx.db, principalOf(request).orgId, request.query),
    );
  };
}

const rejectionSchema = z.object({
  id: z.string(),
  at: z.string().describe('When it was refused or set aside (ISO 8601)'),
  stage: z.enum(['ingest', 'processing']).describe('ingest: refused while decoding the request; processing: accepted, then found unstorable and set aside'),
  protocol: z.string().nullable().describe('native, clf, combined, csv, datadog, loki or otlp (ingest only)'),
  index: z.number().int().nullable().describe('0-based position in the request (JSON array, Loki/OTLP record ordinal)'),
  line: z.number().int().nullable().describe('1-based line of an NDJSON or text body'),
  path: z.string().nullable().describe('Where in a nested request, e.g. streams[0].values[3]'),
  reason: z.string(),
  sample: z.string().nullable().describe('The start of the event as JSON (processing only)'),
});

/** Protobuf answers are bytes; fastify sends a Buffer as is. */
function wrap(body: Uint8Array | object): Buffer | object {
  return body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : body;
}

/** A batch where nothing could be kept is a client error naming every reason; otherwise the protocol's success. */
function answer(reply: FastifyReply, result: { accepted: number; rejected: Rejection[] }, success: () => FastifyReply): FastifyReply {
  if (result.accepted === 0 && result.rejected.length > 0) {
    const more = result.rejected.length > 1 ? ` (and ${result.rejected.length - 1} more)` : '';
    throw new DomainError('no_valid_events', `No event could be stored: ${result.rejected[0]!.reason}${more}`, { details: result.rejected });
  }
  return success();
}
