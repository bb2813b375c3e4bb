import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listArchive, searchArchive } from '../../platform/archive/index.js';
import { badRequest } from '../../platform/errors.js';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { archiveDirOf } from './retention-plan.js';
import { toStoredEvent } from './store.js';

/** 0001-01-01 and 10000-01-01: the range a search without from/to covers (every timestamp ingest accepts). */
const EARLIEST_MS = -62_135_596_800_000;
const LATEST_MS = 253_402_300_800_000;

/** An archived event in the answer shape of `GET /api/v1/logs`; `id` is its hot-store id, null for events archived from elsewhere. */
export type ArchivedEvent = ReturnType<typeof toStoredEvent>;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a day as YYYY-MM-DD');
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The cold archive over HTTP: the organisation's archived files, and a search over them with the
 * filters and answer of `GET /api/v1/logs`. Every path is under the caller's organisation folder, so
 * no answer can hold another organisation's events.
 */
export function archiveRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const dir = archiveDirOf(ctx.config);
  return async (app) => {
    const tags = ['logs'];

    app.get(
      '/api/v1/archive',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'List the archived log files (one per organisation and day, more if a day was archived twice), oldest first',
          querystring: z.object({ from: day.optional(), to: day.optional() }),
        },
      },
      async (request) => {
        const { from, to } = request.query;
        if (from !== undefined && to !== undefined && from > to) throw badRequest(`from (${from}) is after to (${to}): give the earlier day first`);
        const files = await listArchive(dir, principalOf(request).orgId, { from, to });
        return {
          files: files.map((f) => ({
            day: f.day,
            part: f.part,
            from: iso(f.minTs),
            to: iso(f.maxTs),
            rows: f.rows,
            bytes: f.bytes,
            created: new Date(f.createdAt).toISOString(),
          })),
        };
      },
    );

    app.get(
      '/api/v1/archive/logs',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'Search archived log events (older than the hot window), newest first, with cursor pagination; slower than /api/v1/logs',
          querystring: z.object({
            from: z.iso.datetime({ offset: true }).optional(),
            to: z.iso.datetime({ offset: true }).optional(),
            q: z.string().max(500).optional(),
            service: z.string().max(256).optional(),
            /** An exact status or a class: `503` or `5xx`. */
            status: z.union([z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']), z.coerce.number().int().min(100).max(599)]).optional(),
            section: z.string().max(1000).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            cursor: z.string().max(512).optional(),
          }),
        },
      },
      async (request) => {
        const { from, to, limit, cursor, q, service, status, section } = request.query;
        const fromMs = from === undefined ? EARLIEST_MS : Date.parse(from);
        const toMs = to === undefined ? LATEST_MS : Date.parse(to);
        if (fromMs >= toMs) throw badRequest(`from (${from ?? 'the beginning'}) must be before to (${to ?? 'the end'})`);
        const result = await searchArchive(dir, principalOf(request).orgId, {
          from: fromMs,
          to: toMs,
          limit,
          ...(cursor !== undefined ? { cursor } : {}),
          ...(q !== undefined && q !== '' ? { q } : {}),
          ...(service ? { service } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(section ? { section } : {}),
        });
        return {
          events: result.rows.map(toStoredEvent),
          next_cursor: result.nextCursor,
          scanned: { files: result.scanned.files, row_groups: result.scanned.rowGroups, rows: result.scanned.rows },
        };
      },
    );
  };
}
