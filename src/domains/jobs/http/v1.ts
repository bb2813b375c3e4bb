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
  noContent,
  pingListSchema,
  runListSchema,
  schedulePreviewQuery,
  schedulePreviewSchema,
} from '../../../contracts/jobs.js';
import { errorEnvelope } from '../../../contracts/errors.js';
import type { AppContext } from '../../../platform/http/context.js';
import { principalOf, requireRole } from '../../accounts/index.js';
import {
  checkView,
  createCheck,
  deleteCheck,
  getCheck,
  listChecks,
  pauseCheck,
  recentDurations,
  resumeCheck,
  updateCheck,
  type CheckRow,
} from '../checks.js';
import { pingKeyOf, publishCheck, publishCheckDeleted } from '../live.js';
import { previewSchedule } from '../schedule.js';
import { flipView, listFlips, listPings, listRuns, pingView, runView } from '../history.js';
import { createMaintenance, deleteMaintenance, listMaintenance, maintenanceView } from '../maintenance.js';

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

    async function views(orgId: string, rows: CheckRow[]) {
      const [pingKey, durations] = await Promise.all([pingKeyOf(ctx, orgId), recentDurations(ctx.db, orgId, rows.map((r) => r.id))]);
      return rows.map((r) => checkView(r, ctx.baseUrl, pingKey, durations.get(r.id) ?? []));
    }
    async function one(orgId: string, row: CheckRow) {
      const [view] = await views(orgId, [row]);
      return view!;
    }
    const changed = (row: CheckRow) => void publishCheck(ctx, row);

    app.get(
      '/api/v1/checks',
      { ...read, schema: { tags, summary: 'List checks', querystring: checkListQuery, response: { 200: checkListSchema, ...E } } },
      async (request) => {
        const { orgId } = principalOf(request);
        const rows = await listChecks(ctx.db, orgId, { tags: request.query.tag === undefined ? [] : [request.query.tag].flat() });
        return { checks: await views(orgId, rows) };
      },
    );

    app.post('/api/v1/checks', { ...write, schema: { tags, summary: 'Create a check', body: checkInputSchema, response: { 201: checkViewSchema, ...E } } }, async (request, reply) => {
      const { orgId } = principalOf(request);
      const row = await createCheck(ctx.db, orgId, request.body);
      changed(row);
      return reply.status(201).send(await one(orgId, row));
    });

    app.get('/api/v1/checks/:id', { ...read, schema: { tags, summary: 'Get a check', params: idParams, response: { 200: checkViewSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      return one(orgId, await getCheck(ctx.db, orgId, request.params.id));
    });

    app.patch('/api/v1/checks/:id', { ...write, schema: { tags, summary: 'Change a check', params: idParams, body: checkInputSchema, response: { 200: checkViewSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      const row = await updateCheck(ctx.db, orgId, request.params.id, request.body);
      changed(row);
      return one(orgId, row);
    });

    app.delete('/api/v1/checks/:id', { ...write, schema: { tags, summary: 'Delete a check and its history', params: idParams, response: { 204: noContent, ...E } } }, async (request, reply) => {
      const { orgId } = principalOf(request);
      await deleteCheck(ctx.db, orgId, request.params.id);
      publishCheckDeleted(ctx, orgId, request.params.id);
      return reply.status(204).send(null);
    });

    app.post('/api/v1/checks/:id/pause', { ...write, schema: { tags, summary: 'Pause monitoring', params: idParams, response: { 200: checkViewSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      const row = await pauseCheck(ctx.db, orgId, request.params.id);
      changed(row);
      return one(orgId, row);
    });

    app.post('/api/v1/checks/:id/resume', { ...write, schema: { tags, summary: 'Resume monitoring (409 if not paused)', params: idParams, response: { 200: checkViewSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      const row = await resumeCheck(ctx.db, orgId, request.params.id);
      changed(row);
      return one(orgId, row);
    });

    app.get('/api/v1/checks/:id/runs', { ...read, schema: { tags, summary: 'Runs, newest first', params: idParams, querystring: pageQuery, response: { 200: runListSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      const check = await getCheck(ctx.db, orgId, request.params.id);
      return { runs: (await listRuns(ctx.db, check.id, request.query.limit)).map(runView) };
    });

    app.get('/api/v1/checks/:id/pings', { ...read, schema: { tags, summary: 'Pings, newest first', params: idParams, querystring: pageQuery, response: { 200: pingListSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      const check = await getCheck(ctx.db, orgId, request.params.id);
      return { pings: (await listPings(ctx.db, check.id, request.query.limit)).map(pingView) };
    });

    app.get('/api/v1/checks/:id/flips', { ...read, schema: { tags, summary: 'Status changes with their reasons, newest first', params: idParams, querystring: pageQuery, response: { 200: flipListSchema, ...E } } }, async (request) => {
      const { orgId } = principalOf(request);
      const check = await getCheck(ctx.db, orgId, request.params.id);
      return { flips: (await listFlips(ctx.db, check.id, { limit: request.query.limit })).map(flipView) };
    });

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
      windows: (await listMaintenance(ctx.db, principalOf(request).orgId)).map(maintenanceView),
    }));

    app.post(
      '/api/v1/maintenance',
      { ...write, schema: { tags: ['maintenance'], summary: 'Add a one-off (starts_at, ends_at) or recurring (cron, duration, tz) maintenance window', body: maintenanceInputSchema, response: { 201: maintenanceWindowSchema, ...E } } },
      async (request, reply) => reply.status(201).send(maintenanceView(await createMaintenance(ctx.db, principalOf(request).orgId, request.body))),
    );

    app.delete('/api/v1/maintenance/:id', { ...write, schema: { tags: ['maintenance'], summary: 'Remove a maintenance window', params: maintenanceIdParams, response: { 204: noContent, ...E } } }, async (request, reply) => {
      await deleteMaintenance(ctx.db, principalOf(request).orgId, request.params.id);
      return reply.status(204).send(null);
    });
  };
}
