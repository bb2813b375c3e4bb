/**
 * Contracts of the logs domain: ingest (native, access-log text, Datadog v1/v2, Loki push, OTLP/HTTP),
 * the hot-store search and its volume count, rejected events, and the cold archive (listing and search).
 *
 * The event every read answers is `logEvent`: the one log-event model of the server (`LogEvent` in
 * src/domains/logs/event.ts, epoch ms and camelCase) as the API writes it — snake_case fields, ISO 8601
 * instants, the hot-store id as decimal text. The logs domain checks at compile time that both name
 * the same fields.
 */
import { z } from 'zod';
import { errorEnvelope } from './errors.js';

// ---------------------------------------------------------------------------------------------
// The event

/** An HTTP status class: the archive search's `status=5xx` filter and the statistics' breakdown. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export const statusClass = z.enum(STATUS_CLASSES);
export type StatusClass = z.infer<typeof statusClass>;

/** One stored log event as `GET /api/v1/logs` answers it. */
export const logEvent = z.object({
  id: z.string().describe('Hot-store id: grows in arrival order (a bigint, as decimal text)'),
  timestamp: z.string().describe('Event time (ISO 8601, UTC)'),
  received_at: z.string().describe('When Vigil received it (ISO 8601, UTC)'),
  service: z.string().nullable(),
  host: z.string().nullable(),
  source: z.string().nullable(),
  level: z.string().nullable().describe('trace | debug | info | warn | error | fatal, or the sender\'s own level name lower-cased'),
  message: z.string(),
  method: z.string().nullable(),
  path: z.string().nullable().describe('URL path without scheme, host, query or fragment'),
  section: z.string().nullable().describe('First path segment: /api/user → /api'),
  status: z.number().int().nullable(),
  bytes: z.number().nullable(),
  duration_ms: z.number().nullable(),
  remote_addr: z.string().nullable(),
  user_agent: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  too_late: z.boolean().describe('Arrived after its bucket\'s allowed lateness: stored, not counted in the statistics'),
});
export type LogEventAnswer = z.infer<typeof logEvent>;

/** An archived event: the hot search's event, with its hot-store id (null for events archived from elsewhere). */
export const archivedLogEvent = logEvent.extend({
  id: z.string().nullable().describe('Its id while it was in the hot store; null for events archived from elsewhere'),
});
export type ArchivedLogEventAnswer = z.infer<typeof archivedLogEvent>;

// ---------------------------------------------------------------------------------------------
// Ingest

/** Where a refused event was in the request, and why it was refused. */
export const ingestRejection = z.object({
  index: z.number().int().optional().describe('0-based position in a JSON array, or the record\'s ordinal across a Loki/OTLP request'),
  line: z.number().int().optional().describe('1-based line of an NDJSON or plain-text body'),
  path: z.string().optional().describe('Where in a nested request, e.g. streams[0].values[3]'),
  reason: z.string(),
});
/** @public — part of the API contract for any client, whether or not Vigil\'s own code names it. */
export type IngestRejection = z.infer<typeof ingestRejection>;

export const INGEST_FORMATS = ['json', 'ndjson', 'clf', 'combined', 'csv'] as const;

/** `POST /api/v1/logs`. */
export const nativeIngestQuery = z.object({
  format: z.enum(INGEST_FORMATS).optional().describe('Body format; default: JSON array or NDJSON by Content-Type'),
  service: z.string().max(256).optional().describe('Service of events that name none'),
  host: z.string().max(256).optional().describe('Host of events that name none'),
  source: z.string().max(256).optional().describe('Source of events that name none'),
});
export const nativeIngestAnswer = z.object({
  accepted: z.number().int().describe('Events stored (durable)'),
  rejected: z.array(ingestRejection).describe('Events refused, with where and why'),
});
/** @public — part of the API contract for any client, whether or not Vigil\'s own code names it. */
export type NativeIngestAnswer = z.infer<typeof nativeIngestAnswer>;

/** `POST /api/v2/logs`, `/v1/input`, `/v1/input/:apiKey` (Datadog intakes). */
export const datadogIngestQuery = z.object({
  ddtags: z.string().optional(),
  ddsource: z.string().optional(),
  service: z.string().optional(),
  hostname: z.string().optional(),
});
export const datadogIngestParams = z.object({ apiKey: z.string() });
/** Datadog's intakes answer an empty object (v2: 202, v1: 200); refused events are listed in GET /api/v1/logs/rejected. */
export const datadogIngestAnswer = z.object({}).describe('Empty: the events are stored');

/** `POST /loki/api/v1/push` answers 204 without a body. */
export const lokiPushAnswer = z.null().optional().describe('No content: the entries are stored');

/**
 * OTLP/HTTP `ExportLogsServiceResponse` as OTLP/JSON; a protobuf request gets the same message as
 * protobuf bytes (Content-Type application/x-protobuf). Empty on full success.
 */
export const otlpExportAnswer = z
  .object({
    partialSuccess: z
      .object({
        rejectedLogRecords: z.string().describe('int64 as decimal text'),
        errorMessage: z.string(),
      })
      .optional(),
  })
  .describe('ExportLogsServiceResponse (OTLP/JSON; protobuf bytes for a protobuf request)');

/** OTLP/HTTP's error body: a google.rpc.Status (OTLP/JSON; protobuf bytes for a protobuf request). */
export const otlpStatusAnswer = z
  .object({ code: z.number().int().describe('3: INVALID_ARGUMENT'), message: z.string() })
  .describe('google.rpc.Status (OTLP/JSON; protobuf bytes for a protobuf request)');

/** The error answers every ingest route may send (Vigil's envelope). */
export const ingestErrors = {
  400: errorEnvelope,
  401: errorEnvelope,
  403: errorEnvelope,
  413: errorEnvelope,
  415: errorEnvelope,
  503: errorEnvelope,
} as const;

// ---------------------------------------------------------------------------------------------
// Search of the hot store, its volume, rejections

/** The filters of a search of the hot store, shared by the search and its volume count. */
export const logSearchFilters = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  q: z.string().max(500).optional().describe('Case-insensitive substring of the message'),
  service: z.string().max(256).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
  section: z.string().max(1000).optional(),
});

export const MAX_SEARCH_LIMIT = 1000;

/** `GET /api/v1/logs` (a live tail passes `after_id`). */
export const logSearchQuery = logSearchFilters.extend({
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).default(100),
  cursor: z.string().max(500).optional(),
  after_id: z
    .string()
    .regex(/^\d{1,18}$/, 'after_id: give the id of an event from an earlier answer')
    .optional()
    .describe('Only events stored after this one (ids grow in arrival order), for tailing; combine with from to bound the scan'),
});
export const logSearchAnswer = z.object({
  events: z.array(logEvent).describe('Newest first'),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next (older) page; null on the last one'),
});
export type LogSearchAnswer = z.infer<typeof logSearchAnswer>;

export const DEFAULT_VOLUME_BUCKETS = 60;
/** Largest `buckets` a request may ask; alignment may add one. */
export const MAX_VOLUME_BUCKETS = 400;
/** Matching events counted at most; beyond this the answer says "more than". */
export const VOLUME_COUNT_CAP = 100_000;

/** `GET /api/v1/logs/volume`. */
export const logVolumeQuery = logSearchFilters.extend({
  buckets: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_VOLUME_BUCKETS)
    .default(DEFAULT_VOLUME_BUCKETS)
    .describe('How many buckets the range is cut into at most (the width is then a round one)'),
  step: z.coerce
    .number()
    .int()
    .min(1)
    .max(366 * 86_400)
    .optional()
    .describe('Bucket width in seconds instead (60: by minute); 400 buckets at most'),
});
export const logVolumeAnswer = z.object({
  from: z.string().describe('Start of the first bucket: `from` aligned down to the step (UTC)'),
  to: z.string().describe('End of the last bucket (exclusive)'),
  step: z.number().int().describe('Bucket width in seconds'),
  timestamps: z.array(z.number().int()).describe('Bucket starts, unix seconds'),
  counts: z.array(z.number().int().nullable()).describe('Matching events per bucket; null where the count stopped before reaching it (see `exact`)'),
  total: z.number().int().describe('Matching events; when `exact` is false, more than this many match'),
  exact: z.boolean().describe(`False when more than ${VOLUME_COUNT_CAP.toLocaleString('en')} events match: counting stopped after the newest ones`),
  counted_from: z.string().nullable().describe('When not exact: the buckets from this instant on are complete, older ones are null'),
});
export type LogVolumeAnswer = z.infer<typeof logVolumeAnswer>;

export const REJECTION_STAGES = ['ingest', 'processing'] as const;

/** `GET /api/v1/logs/rejected`. */
export const rejectionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z
    .string()
    .regex(/^\d{1,18}$/, 'before: give next_before from an earlier answer')
    .optional()
    .describe('Page on: the next_before of the previous answer'),
});
export const listedRejection = z.object({
  id: z.string(),
  at: z.string().describe('When it was refused or set aside (ISO 8601)'),
  stage: z.enum(REJECTION_STAGES).describe('ingest: refused while decoding the request; processing: accepted, then found unstorable and set aside'),
  protocol: z.string().nullable().describe('native, clf, combined, csv, datadog, loki or otlp (ingest only)'),
  index: z.number().int().nullable().describe('0-based position in the request (JSON array, Loki/OTLP record ordinal)'),
  line: z.number().int().nullable().describe('1-based line of an NDJSON or text body'),
  path: z.string().nullable().describe('Where in a nested request, e.g. streams[0].values[3]'),
  reason: z.string(),
  sample: z.string().nullable().describe('The start of the event as JSON (processing only)'),
});
export type ListedRejection = z.infer<typeof listedRejection>;
export const rejectionsAnswer = z.object({
  rejections: z.array(listedRejection),
  next_before: z.string().nullable(),
});
export type RejectionsAnswer = z.infer<typeof rejectionsAnswer>;

// ---------------------------------------------------------------------------------------------
// The cold archive

const archiveDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a day as YYYY-MM-DD');

/** `GET /api/v1/archive`. */
export const archiveListQuery = z.object({ from: archiveDay.optional(), to: archiveDay.optional() });
export const archiveFile = z.object({
  day: z.string().describe('UTC day (YYYY-MM-DD)'),
  part: z.number().int().describe('0, or more when a day was archived again after late events recreated it'),
  from: z.string().nullable().describe('Oldest event time in the file (ISO 8601); null for an empty file'),
  to: z.string().nullable().describe('Newest event time in the file (ISO 8601); null for an empty file'),
  rows: z.number().int(),
  bytes: z.number().int(),
  created: z.string().describe('When the file was written (ISO 8601)'),
});
export type ArchiveFile = z.infer<typeof archiveFile>;
export const archiveListAnswer = z.object({ files: z.array(archiveFile).describe('Oldest first') });
export type ArchiveListAnswer = z.infer<typeof archiveListAnswer>;

/** `GET /api/v1/archive/logs`: the hot search's filters; `status` may also be a class (`5xx`). */
export const archiveSearchQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  q: z.string().max(500).optional(),
  service: z.string().max(256).optional(),
  status: z.union([statusClass, z.coerce.number().int().min(100).max(599)]).optional().describe('An exact status or a class: 503 or 5xx'),
  section: z.string().max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).default(100),
  cursor: z.string().max(512).optional(),
});
export const archiveSearchAnswer = z.object({
  events: z.array(archivedLogEvent).describe('Newest first'),
  next_cursor: z.string().nullable(),
  scanned: z
    .object({ files: z.number().int(), row_groups: z.number().int(), rows: z.number().int() })
    .describe('What the server had to read: archive searches scan files, so they are slower than hot ones'),
});
export type ArchiveSearchAnswer = z.infer<typeof archiveSearchAnswer>;
