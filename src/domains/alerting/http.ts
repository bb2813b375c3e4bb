import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  alertHistory as alertHistorySchema,
  alertList,
  alertListQuery,
  alertParams,
  alertView,
  muteWindowInput,
  muteWindowList,
  muteWindowParams,
  muteWindowView,
  silenceInput,
  silenceList,
  silenceParams,
  silenceView,
} from '../../contracts/alerting.js';
import { errorEnvelope, noContent } from '../../contracts/errors.js';
import { notificationPayload } from '../../contracts/notify.js';
import type { AppContext } from '../../platform/http/context.js';
import { actorName, principalOf, requireRole } from '../accounts/index.js';
import { createMuteWindowFromInput, deleteMuteWindow, listMuteWindows, muteWindowViewOf } from './mute-verbs.js';
import { acknowledgeAlert, alertHistory, createSilence, expireSilence, listAlerts, listSilences } from './verbs.js';

const tags = ['alerts'];
const denied = { 401: errorEnvelope, 403: errorEnvelope };

/** The webhook payload as a JSON schema (draft 2020-12), generated from the contract receivers are given. */
const payloadSchema = z.toJSONSchema(notificationPayload, { unrepresentable: 'any' });

/** Alert instances (list, history, acknowledge), silences, and the notification payload's schema. */
export function alertingRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/alerts',
      {
        schema: { tags, summary: 'Alert instances of every source (jobs, log rules), newest change first', querystring: alertListQuery, response: { 200: alertList, 400: errorEnvelope, ...denied } },
        preHandler: requireRole(ctx),
      },
      async (request) => ({ alerts: await listAlerts(ctx.db, principalOf(request).orgId, request.query) }),
    );

    app.get(
      '/api/v1/alerts/:fingerprint',
      {
        schema: { tags, summary: 'One alert instance and its transitions, oldest first', params: alertParams, response: { 200: alertHistorySchema, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx),
      },
      async (request) => alertHistory(ctx.db, principalOf(request).orgId, request.params.fingerprint),
    );

    app.post(
      '/api/v1/alerts/:fingerprint/ack',
      {
        schema: {
          tags,
          summary: 'Acknowledge a firing alert: its reminders stop until it resolves; its resolve is still sent',
          params: alertParams,
          response: { 200: alertView, 400: errorEnvelope, ...denied, 404: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request) => {
        const principal = principalOf(request);
        return acknowledgeAlert(ctx.db, principal.orgId, request.params.fingerprint, await actorName(ctx.db, principal));
      },
    );

    app.post(
      '/api/v1/silences',
      {
        schema: {
          tags,
          summary: 'Silence the alerts whose labels match every matcher, for a time range',
          description: 'Matchers as amtool writes them: rule="high traffic", section=~"/api*" (globs, not regular expressions). Labels: those of the instance plus rule, source and severity.',
          body: silenceInput,
          response: { 201: silenceView, 400: errorEnvelope, ...denied },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => {
        const principal = principalOf(request);
        return reply.status(201).send(await createSilence(ctx.db, principal.orgId, request.body, await actorName(ctx.db, principal)));
      },
    );

    app.get(
      '/api/v1/silences',
      { schema: { tags, summary: 'Silences, newest first (expired ones included)', response: { 200: silenceList, ...denied } }, preHandler: requireRole(ctx) },
      async (request) => ({ silences: await listSilences(ctx.db, principalOf(request).orgId) }),
    );

    app.delete(
      '/api/v1/silences/:id',
      {
        schema: { tags, summary: 'Expire a silence now (it stays in the list, expired)', params: silenceParams, response: { 200: silenceView, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request) => expireSilence(ctx.db, principalOf(request).orgId, request.params.id),
    );

    app.post(
      '/api/v1/mute-windows',
      {
        schema: {
          tags,
          summary: 'Mute the alerts whose labels match every matcher while a window is open: once (starts_at, ends_at) or at every cron occurrence (cron, tz, duration)',
          description:
            'Matchers as for silences. While the window is open, matching alerts are not notified (their state is still tracked; the resolve of what was announced is still sent); what still fires when it closes is notified then. Maintenance windows (/api/v1/maintenance) are mute windows of kind "maintenance".',
          body: muteWindowInput,
          response: { 201: muteWindowView, 400: errorEnvelope, ...denied },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => {
        const principal = principalOf(request);
        return reply.status(201).send(await createMuteWindowFromInput(ctx.db, principal.orgId, request.body, await actorName(ctx.db, principal)));
      },
    );

    app.get(
      '/api/v1/mute-windows',
      { schema: { tags, summary: 'Mute windows, maintenance windows included, oldest first', response: { 200: muteWindowList, ...denied } }, preHandler: requireRole(ctx) },
      async (request) => {
        const now = new Date();
        return { windows: (await listMuteWindows(ctx.db, principalOf(request).orgId)).map((w) => muteWindowViewOf(w, now)) };
      },
    );

    app.delete(
      '/api/v1/mute-windows/:id',
      {
        schema: { tags, summary: 'Delete a mute window (what it held back and still fires is notified)', params: muteWindowParams, response: { 204: noContent, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => {
        await deleteMuteWindow(ctx.db, principalOf(request).orgId, request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/notifications/schema',
      {
        schema: { tags: ['notify'], summary: 'JSON schema of the notification payload (the webhook body; Slack and e-mail are formatted from it)', response: { 200: z.record(z.string(), z.unknown()), ...denied } },
        preHandler: requireRole(ctx),
      },
      async () => payloadSchema,
    );
  };
}
