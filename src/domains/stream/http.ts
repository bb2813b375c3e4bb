import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { trafficStats } from './stats.js';
import { MAX_POINTS } from './stats-shape.js';
import { statsAnswer, statsErrors, statsQuery } from '../../contracts/stream.js';

/** Read API of the event-time traffic statistics written by the stream processor. */
export function statsRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/stats',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags: ['stats'],
          summary: 'Traffic statistics over a time range, in event time: hits by section/status/method/service, requests/s, error rate, bytes, hosts, latency',
          description:
            'Sums the counters the stream processor keeps per second, 10 s, minute and hour into buckets of `step` seconds, reading the coarsest stored resolution that draws ' +
            `the step exactly (30 days read hourly rows). Empty buckets read 0. At most ${MAX_POINTS.toLocaleString('en')} buckets and 400 days per request. ` +
            'Error rate = 5xx hits / hits that carry an HTTP status (events without a status are not counted in it); null where there is none. ' +
            'Buckets after `watermark` are not final: late events may still be added to them. Live: the `traffic` event of GET /api/v1/events says when new statistics were committed. ' +
            'Seconds are labelled as in access logs: second s holds event times in (s − 1, s], so whole-second stamps count in their own second.',
          querystring: statsQuery,
          response: { 200: statsAnswer, ...statsErrors },
        },
      },
      async (request) => trafficStats(ctx.db, principalOf(request).orgId, request.query, Date.now() / 1000),
    );
  };
}
