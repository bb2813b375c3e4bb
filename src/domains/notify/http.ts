import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { errorEnvelope } from '../../platform/http/errors.js';
import { channelInput, channelView, createChannel, deleteChannel, deliveryView, getChannel, listChannels, listDeliveries, queueTestNotification } from './channels.js';

const idParams = z.object({ id: z.uuid() });

export function notifyRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const options = { allowPrivate: ctx.config.VIGIL_ALLOW_PRIVATE_WEBHOOKS };
  return async (app) => {
    app.post(
      '/api/v1/channels',
      {
        schema: {
          tags: ['notify'],
          summary: 'Add a notification channel (webhook, email, slack)',
          description:
            'Webhook and Slack URLs must be public http(s) targets unless VIGIL_ALLOW_PRIVATE_WEBHOOKS=true. ' +
            'A webhook without a secret gets a generated Standard Webhooks secret, shown in this answer only.',
          body: channelInput,
          response: { 201: channelView, 400: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => reply.status(201).send(await createChannel(ctx.db, principalOf(request).orgId, request.body, options)),
    );

    app.get(
      '/api/v1/channels',
      { schema: { tags: ['notify'], summary: 'List notification channels (secrets redacted)', response: { 200: z.object({ channels: z.array(channelView) }) } }, preHandler: requireRole(ctx) },
      async (request) => ({ channels: await listChannels(ctx.db, principalOf(request).orgId) }),
    );

    app.get(
      '/api/v1/channels/:id',
      { schema: { tags: ['notify'], summary: 'One notification channel (secrets redacted)', params: idParams, response: { 200: channelView, 404: errorEnvelope } }, preHandler: requireRole(ctx) },
      async (request) => getChannel(ctx.db, principalOf(request).orgId, request.params.id),
    );

    app.delete(
      '/api/v1/channels/:id',
      { schema: { tags: ['notify'], summary: 'Delete a channel and its queued notifications', params: idParams }, preHandler: requireRole(ctx, 'member') },
      async (request, reply) => {
        await deleteChannel(ctx.db, principalOf(request).orgId, request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/channels/:id/deliveries',
      {
        schema: {
          tags: ['notify'],
          summary: 'Recent notifications of a channel with every delivery attempt (status code, error, duration)',
          params: idParams,
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
          response: { 200: z.object({ deliveries: z.array(deliveryView) }), 404: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => ({ deliveries: await listDeliveries(ctx.db, principalOf(request).orgId, request.params.id, request.query.limit) }),
    );

    app.post(
      '/api/v1/channels/:id/test',
      {
        schema: {
          tags: ['notify'],
          summary: 'Queue a test notification to this channel (delivered by the notifier, with retries)',
          params: idParams,
          response: { 202: z.object({ id: z.string().describe('Notification id; follow it in /deliveries') }), 404: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => reply.status(202).send(await queueTestNotification(ctx.db, principalOf(request).orgId, request.params.id)),
    );
  };
}
