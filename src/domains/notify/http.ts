import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { errorEnvelope, noContent } from '../../contracts/errors.js';
import { channelInput, channelList, channelParams, channelView, deliveriesQuery, deliveryEvent, deliveryList, deliveryParams, testQueued } from '../../contracts/notify.js';
import { createChannel, deleteChannel, enableChannel, getChannel, listChannels, listDeliveries, queueTestNotification, resendDelivery, resolveRemoteNotify } from './channels.js';

const tags = ['notify'];
/** Every route needs a principal; reads any role, writes member or admin. */
const denied = { 401: errorEnvelope, 403: errorEnvelope };

export function notifyRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const options = { allowPrivate: ctx.config.VIGIL_ALLOW_PRIVATE_WEBHOOKS };
  // Where dashboards are served: deliveries made by a separate notify process reach them too.
  resolveRemoteNotify(ctx.db, ctx.live);
  return async (app) => {
    app.post(
      '/api/v1/channels',
      {
        schema: {
          tags,
          summary: 'Add a notification channel (webhook, email, slack)',
          description:
            'Webhook and Slack URLs must be public http(s) targets unless VIGIL_ALLOW_PRIVATE_WEBHOOKS=true. ' +
            'A webhook without a secret gets a generated Standard Webhooks secret, shown in this answer only.',
          body: channelInput,
          response: { 201: channelView, 400: errorEnvelope, ...denied },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => reply.status(201).send(await createChannel(ctx.db, principalOf(request).orgId, request.body, options)),
    );

    app.get(
      '/api/v1/channels',
      { schema: { tags, summary: 'List notification channels (secrets redacted)', response: { 200: channelList, ...denied } }, preHandler: requireRole(ctx) },
      async (request) => ({ channels: await listChannels(ctx.db, principalOf(request).orgId) }),
    );

    app.get(
      '/api/v1/channels/:id',
      {
        schema: { tags, summary: 'One notification channel (secrets redacted)', params: channelParams, response: { 200: channelView, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx),
      },
      async (request) => getChannel(ctx.db, principalOf(request).orgId, request.params.id),
    );

    app.delete(
      '/api/v1/channels/:id',
      {
        schema: {
          tags,
          summary: 'Delete a channel and its queued notifications',
          params: channelParams,
          response: { 204: noContent, 400: errorEnvelope, ...denied, 404: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => {
        await deleteChannel(ctx.db, principalOf(request).orgId, request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/channels/:id/deliveries',
      {
        schema: {
          tags,
          summary: 'Recent notifications of a channel with every delivery attempt (status code, error, duration)',
          params: channelParams,
          querystring: deliveriesQuery,
          response: { 200: deliveryList, 400: errorEnvelope, ...denied, 404: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => ({ deliveries: await listDeliveries(ctx.db, principalOf(request).orgId, request.params.id, request.query.limit) }),
    );

    app.post(
      '/api/v1/channels/:id/test',
      {
        schema: {
          tags,
          summary: 'Queue a test notification to this channel (delivered by the notifier, with retries)',
          params: channelParams,
          response: { 202: testQueued, 400: errorEnvelope, ...denied, 404: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => reply.status(202).send(await queueTestNotification(ctx.db, principalOf(request).orgId, request.params.id)),
    );

    app.post(
      '/api/v1/channels/:id/enable',
      {
        schema: {
          tags,
          summary: 'Re-enable a channel that Vigil disabled because its deliveries kept failing',
          description: 'Its skipped notifications stay skipped: re-send those still worth sending (POST /api/v1/deliveries/:id/resend).',
          params: channelParams,
          response: { 200: channelView, 400: errorEnvelope, ...denied, 404: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request) => enableChannel(ctx.db, ctx.live, principalOf(request).orgId, request.params.id),
    );

    app.post(
      '/api/v1/deliveries/:id/resend',
      {
        schema: {
          tags,
          summary: 'Queue a notification again (delivered, failed or skipped), due now, with a fresh retry schedule',
          description: 'Receivers get the same webhook-id: it is the same notification. 409 while its channel is disabled.',
          params: deliveryParams,
          response: { 202: deliveryEvent, 400: errorEnvelope, ...denied, 404: errorEnvelope, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => reply.status(202).send(await resendDelivery(ctx.db, ctx.live, principalOf(request).orgId, request.params.id)),
    );
  };
}
