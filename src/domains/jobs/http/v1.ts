import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  checkIdParams,
  checkInputSchema,
  checkListQuery,
  checkListSchema,
  checkViewSchema,
  flipListSchema,
  historyPageQuery,
  maintenanceIdParams,
  maintenanceInputSchema,
  maintenanceListSchema,
  maintenanceWindowSchema,
  pingListSchema,
  runListSchema,
  schedulePreviewQuery,
  schedulePreviewSchema,
} from '../../../contracts/jobs.js';
import { errorEnvelope, noContent } from '../../../contracts/errors.js';
import type { AppContext } from '../../../platform/http/context.js';
import { principalOf, requireRole } from '../../accounts/index.js';
import { previewSchedule } from '../schedule.js';
import { checkVerbs, maintenanceVerbs } from '../verbs.js';

const idParams = checkIdParams;
const pageQuery = historyPageQuery;
/** Error answers: 400 bad input, 401 no credentials, 403 role too low, 404 no such check, 409 conflict. */
const E = { 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope, 404: errorEnvelope, 409: errorEnvelope } as const;

/** Vigil's own check API, used by the dashboard: richer views than the Healthchecks-compatible one. */
export function v1Routes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const read = { preHandler: requireRole(ctx, 'read-only') };
    const write = { preHandler: requireRole(ctx, 'member') };
    const tags = ['checks'];

    const checks = checkVerbs(ctx);
    const windows = maintenanceVerbs(ctx);

    app.get(
      '/api/v1/checks',
      { ...read, schema: { tags, summary: 'List checks', querystring: checkListQuery, response: { 200: checkListSchema, ...E } } },
      async (request) => ({ checks: await checks.list(principalOf(request), { tags: request.query.tag === undefined ? [] : [request.query.tag].flat() }) }),
    );

    app.post('/api/v1/checks', { ...write, schema: { tags, summary: 'Create a check', body: checkInputSchema, response: { 201: checkViewSchema, ...E } } }, async (request, reply) =>
      reply.status(201).send(await checks.create(principalOf(request), request.body)),
    );

    app.get('/api/v1/checks/:id', { ...read, schema: { tags, summary: 'Get a check', params: idParams, response: { 200: checkViewSchema, ...E } } }, async (request) =>
      checks.get(principalOf(request), request.params.id),
    );

    app.patch('/api/v1/checks/:id', { ...write, schema: { tags, summary: 'Change a check', params: idParams, body: checkInputSchema, response: { 200: checkViewSchema, ...E } } }, async (request) =>
      checks.update(principalOf(request), request.params.id, request.body),
    );

    app.delete('/api/v1/checks/:id', { ...write, schema: { tags, summary: 'Delete a check and its history', params: idParams, response: { 204: noContent, ...E } } }, async (request, reply) => {
      await checks.remove(principalOf(request), request.params.id);
      return reply.status(204).send();
    });

    app.post('/api/v1/checks/:id/pause', { ...write, schema: { tags, summary: 'Pause monitoring', params: idParams, response: { 200: checkViewSchema, ...E } } }, async (request) =>
      checks.pause(principalOf(request), request.params.id),
    );

    app.post('/api/v1/checks/:id/resume', { ...write, schema: { tags, summary: 'Resume monitoring (409 if not paused)', params: idParams, response: { 200: checkViewSchema, ...E } } }, async (request) =>
      checks.resume(principalOf(request), request.params.id),
    );

    app.get('/api/v1/checks/:id/runs', { ...read, schema: { tags, summary: 'Runs, newest first', params: idParams, querystring: pageQuery, response: { 200: runListSchema, ...E } } }, async (request) => ({
      runs: await checks.runs(principalOf(request), request.params.id, request.query.limit),
    }));

    app.get('/api/v1/checks/:id/pings', { ...read, schema: { tags, summary: 'Pings, newest first', params: idParams, querystring: pageQuery, response: { 200: pingListSchema, ...E } } }, async (request) => ({
      pings: await checks.pings(principalOf(request), request.params.id, request.query.limit),
    }));

    app.get(
      '/api/v1/checks/:id/flips',
      { ...read, schema: { tags, summary: 'Status changes with their reasons, newest first', params: idParams, querystring: pageQuery, response: { 200: flipListSchema, ...E } } },
      async (request) => ({ flips: await checks.flips(principalOf(request), request.params.id, request.query.limit) }),
    );

    app.get(
      '/api/v1/schedules/preview',
      {
        ...read,
        schema: {
          tags,
          summary: 'A schedule (five-field cron or systemd OnCalendar) in words, with its next times; 400 naming what is wrong',
          querystring: schedulePreviewQuery,
          response: { 200: schedulePreviewSchema, ...E },
        },
      },
      async (request) => previewSchedule(request.query.schedule, request.query.tz, request.query.grace),
    );

    app.get('/api/v1/maintenance', { ...read, schema: { tags: ['maintenance'], summary: 'Maintenance windows', response: { 200: maintenanceListSchema, ...E } } }, async (request) => ({
      windows: await windows.list(principalOf(request)),
    }));

    app.post(
      '/api/v1/maintenance',
      {
        ...write,
        schema: { tags: ['maintenance'], summary: 'Add a one-off (starts_at, ends_at) or recurring (cron, duration, tz) maintenance window', body: maintenanceInputSchema, response: { 201: maintenanceWindowSchema, ...E } },
      },
      async (request, reply) => reply.status(201).send(await windows.create(principalOf(request), request.body)),
    );

    app.delete('/api/v1/maintenance/:id', { ...write, schema: { tags: ['maintenance'], summary: 'Remove a maintenance window', params: maintenanceIdParams, response: { 204: noContent, ...E } } }, async (request, reply) => {
      await windows.remove(principalOf(request), request.params.id);
      return reply.status(204).send();
    });
  };
}
