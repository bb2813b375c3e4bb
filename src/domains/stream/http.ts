import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalidField } from '../../platform/errors.js';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { readStats } from './stats-query.js';
import { DEFAULT_TOP, MAX_POINTS, MAX_TOP, STATS_DIMENSIONS, STATS_RESOLUTIONS, StatsRequestError, parseDuration, parseInstant, planStats } from './stats-shape.js';
import { errorEnvelope } from '../../platform/http/errors.js';

const count = z.number().describe('Requests (hits)');
const rate = z.number().nullable();

const statsQuery = z.object({
  from: z.string().max(64).optional().describe('Start: ISO 8601 with a zone, unix seconds, or now-<duration> (now-6h). Default: `to` minus 1 hour.'),
  to: z.string().max(64).optional().describe('End (exclusive): same forms as `from`. Default: now; a range reaching now includes the bucket still filling.'),
  step: z.string().max(16).optional().describe('Bucket width: seconds or 10s, 5m, 1h, 1d. Default: chosen so the range gives at most ~400 points.'),
  by: z.enum(STATS_DIMENSIONS).default('section').describe('Dimension of `series`; none gives one series "all".'),
  top: z.coerce.number().int().min(1).max(MAX_TOP).default(DEFAULT_TOP).describe('Series and top sections kept; the rest is folded into "other".'),
  service: z.string().max(256).optional().describe('Only this service.'),
  section: z.string().max(1000).optional().describe('Only this section (e.g. /api).'),
});

const statsAnswer = z.object({
  from: z.string().describe('Start of the first bucket: `from` aligned down to the step'),
  to: z.string().describe('End of the last bucket (exclusive): `to` aligned up to the step'),
  step: z.number().int().describe('Bucket width in seconds (may be coarser than asked when finer rows are no longer kept for `from`)'),
  resolution: z.literal([...STATS_RESOLUTIONS]).describe('Stored resolution read (s)'),
  watermark: z.string().nullable().describe('Buckets ending at or before this instant are final; later ones may still grow. Null before anything is final.'),
  timestamps: z.array(z.number().int()).describe('Bucket starts, unix seconds'),
  series: z.array(z.object({ key: z.string().describe('Value of the `by` dimension ("" = none); "other" folds the rest'), other: z.boolean(), hits: z.array(count) })),
  requests_per_second: z.array(z.number()).describe('All requests of the bucket divided by the step'),
  error_rate: z.array(rate).describe('5xx hits / hits with a status, per bucket; null where no request had a status'),
  totals: z.object({
    hits: count,
    requests_per_second: z.number().describe('Hits divided by the part of the range that has passed'),
    bytes: z.number(),
    status: z.record(z.string(), z.number()).describe('Hits per status class: 1xx…5xx, and "none" for events without a status'),
    errors: z.number().describe('5xx hits'),
    error_rate: rate.describe('errors / hits with a status; null when no request had a status'),
    distinct_hosts: z.number().nullable().describe('Distinct remote hosts (HyperLogLog, ~3 % error); null with a service or section filter'),
    latency_ms: z
      .object({
        mean: z.number().nullable(),
        p50: z.number().nullable(),
        p90: z.number().nullable(),
        p99: z.number().nullable(),
      })
      .nullable()
      .describe('Request durations: exact mean; percentiles from a log histogram (~19 % wide), null with a filter. Null when no event had a duration'),
    too_late: z.number().nullable().describe('Events that arrived after their bucket was closed for good (stored raw, not counted); null with a filter'),
  }),
  top_sections: z.array(z.object({ section: z.string(), hits: z.number(), errors: z.number(), bytes: z.number(), share: z.number().describe('Share of all hits in the range, 0..1') })),
});

/** Parses an instant parameter or answers 400 naming it. */
function instant(field: 'from' | 'to', value: string | undefined, nowSeconds: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = parseInstant(value, nowSeconds);
  if (seconds === null) throw invalidField(field, `"${value}" is not an instant: use ISO 8601 with a zone (2026-03-01T12:00:00Z), unix seconds, or now-6h.`);
  return seconds;
}

/** A plan, or a 400 naming the parameter the planner refused. */
function checked<T>(plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (error instanceof StatsRequestError) throw invalidField(error.field, error.message);
    throw error;
  }
}

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
          response: { 200: statsAnswer, 400: errorEnvelope },
        },
      },
      async (request) => {
        const now = Date.now() / 1000;
        const { from, to, step, ...rest } = request.query;
        let stepSeconds: number | undefined;
        if (step !== undefined && step !== '') {
          const parsed = parseDuration(step);
          if (parsed === null) throw invalidField('step', `"${step}" is not a duration: use seconds (10) or 10s, 5m, 1h, 1d.`);
          stepSeconds = parsed;
        }
        const plan = checked(() => planStats({ from: instant('from', from, now), to: instant('to', to, now), step: stepSeconds, ...rest }, now));
        return readStats(ctx.db, principalOf(request).orgId, plan, now);
      },
    );
  };
}
