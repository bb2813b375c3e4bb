import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { archiveListAnswer, archiveListQuery, archiveSearchAnswer, archiveSearchQuery } from '../../contracts/logs.js';
import { errorEnvelope } from '../../contracts/errors.js';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { listArchivedFiles, searchArchivedEvents } from './archive.js';
import { archiveDirOf } from './retention-plan.js';

/** The cold archive over HTTP: the organisation's archived files, and a search over them (archive.ts). */
export function archiveRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const dir = archiveDirOf(ctx.config);
  const errors = { 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope } as const;
  return async (app) => {
    const tags = ['logs'];

    app.get(
      '/api/v1/archive',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'List the archived log files (one per organisation and day, more if a day was archived twice), oldest first',
          querystring: archiveListQuery,
          response: { 200: archiveListAnswer, ...errors },
        },
      },
      async (request) => listArchivedFiles(dir, principalOf(request).orgId, request.query),
    );

    app.get(
      '/api/v1/archive/logs',
      {
        preHandler: requireRole(ctx),
        schema: {
          tags,
          summary: 'Search archived log events (older than the hot window), newest first, with cursor pagination; slower than /api/v1/logs',
          querystring: archiveSearchQuery,
          response: { 200: archiveSearchAnswer, ...errors },
        },
      },
      async (request) => searchArchivedEvents(dir, principalOf(request).orgId, request.query),
    );
  };
}
