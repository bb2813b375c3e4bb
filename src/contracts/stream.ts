/**
 * Contracts of the stream domain: the event-time traffic statistics (`GET /api/v1/stats`), written by
 * the stream processor. Live updates of them travel as the `traffic` event of `GET /api/v1/events`
 * (the server's SSE plugin), which says only that new statistics were committed.
 */
import { z } from 'zod';
import { errorEnvelope } from './errors.js';

/** The dimensions a statistics answer can break its series down by; `none` gives one series "all". */
export const STATS_DIMENSIONS = ['section', 'status_class', 'method', 'service', 'none'] as const;
export const statsDimension = z.enum(STATS_DIMENSIONS);
export type StatsDimension = z.infer<typeof statsDimension>;

/** Bucket widths (seconds) the processor stores counters at; the stream domain checks its own list equals this one. */
export const STATS_RESOLUTIONS = [1, 10, 60, 3600] as const;
export type StatsResolution = (typeof STATS_RESOLUTIONS)[number];

export const DEFAULT_TOP = 8;
export const MAX_TOP = 50;

export const statsQuery = z.object({
  from: z.string().max(64).optional().describe('Start: ISO 8601 with a zone, unix seconds, or now-<duration> (now-6h). Default: `to` minus 1 hour.'),
  to: z.string().max(64).optional().describe('End (exclusive): same forms as `from`. Default: now; a range reaching now includes the bucket still filling.'),
  step: z.string().max(16).optional().describe('Bucket width: seconds or 10s, 5m, 1h, 1d. Default: chosen so the range gives at most ~400 points.'),
  by: statsDimension.default('section').describe('Dimension of `series`; none gives one series "all".'),
  top: z.coerce.number().int().min(1).max(MAX_TOP).default(DEFAULT_TOP).describe('Series and top sections kept; the rest is folded into "other".'),
  service: z.string().max(256).optional().describe('Only this service.'),
  section: z.string().max(1000).optional().describe('Only this section (e.g. /api).'),
});
export type StatsQuery = z.infer<typeof statsQuery>;

const count = z.number().describe('Requests (hits)');
const rate = z.number().nullable();

export const statsSeries = z.object({
  key: z.string().describe('Value of the `by` dimension ("" = none); "other" folds the rest'),
  other: z.boolean(),
  hits: z.array(count),
});
export type StatsSeries = z.infer<typeof statsSeries>;

export const statsTotals = z.object({
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
});
/** @public — part of the API contract for any client, whether or not Vigil's own code names it. */
export type StatsTotals = z.infer<typeof statsTotals>;

export const topSection = z.object({
  section: z.string(),
  hits: z.number(),
  errors: z.number(),
  bytes: z.number(),
  share: z.number().describe('Share of all hits in the range, 0..1'),
});
/** @public — part of the API contract for any client, whether or not Vigil's own code names it. */
export type TopSection = z.infer<typeof topSection>;

export const statsAnswer = z.object({
  from: z.string().describe('Start of the first bucket: `from` aligned down to the step'),
  to: z.string().describe('End of the last bucket (exclusive): `to` aligned up to the step'),
  step: z.number().int().describe('Bucket width in seconds (may be coarser than asked when finer rows are no longer kept for `from`)'),
  resolution: z.literal([...STATS_RESOLUTIONS]).describe('Stored resolution read (s)'),
  watermark: z.string().nullable().describe('Buckets ending at or before this instant are final; later ones may still grow. Null before anything is final.'),
  timestamps: z.array(z.number().int()).describe('Bucket starts, unix seconds'),
  series: z.array(statsSeries),
  requests_per_second: z.array(z.number()).describe('All requests of the bucket divided by the step'),
  error_rate: z.array(rate).describe('5xx hits / hits with a status, per bucket; null where no request had a status'),
  totals: statsTotals,
  top_sections: z.array(topSection),
});
export type StatsAnswer = z.infer<typeof statsAnswer>;

export const statsErrors = { 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope } as const;
