import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, noContent } from '../../contracts/errors.js';
import { watcherInput, watcherList, watcherParams, watcherUpdate, watcherView } from '../../contracts/watchers.js';
import type { AppContext } from '../../platform/http/context.js';
import { asSystem } from '../../platform/store/index.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { createWatcher, getWatcher, listWatchers, removeWatcher, updateWatcher } from './verbs.js';

const tags = ['shipment watchers'];

/**
 * Watchers are the installation's configuration, each reading for any organisation: the verbs let
 * only platform administrators in (verbs.ts), who manage those of every organisation — a
 * documented bypass of row-level security (platform/store/tenancy.ts).
 */
const platformWide = <T>(verb: () => Promise<T>): Promise<T> => asSystem('platform administrators manage the table watchers of every organisation', verb);
const denied = { 401: errorEnvelope, 403: errorEnvelope };

/** `/api/v1/shipment-watchers`: table watchers of the platform's PostgreSQL (platform administrators only). */
export function watcherRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/shipment-watchers',
      { schema: { tags, summary: 'The shipment table watchers with their state (platform administrators)', response: { 200: watcherList, ...denied } }, preHandler: requireRole(ctx) },
      async (request) => ({ watchers: await platformWide(() => listWatchers(ctx.db, principalOf(request))) }),
    );
    app.post(
      '/api/v1/shipment-watchers',
      {
        schema: {
          tags,
          summary: 'Watch a table of the platform\'s PostgreSQL for new shipments (platform administrators)',
          description:
            'The table, its ordering column (integer, unique index), every mapped column and the org column are checked in the watched database: what does not fit is a 400 naming the field and the column. The connection URL\'s password is never answered.',
          body: watcherInput,
          response: { 201: watcherView, 400: errorEnvelope, ...denied, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request, reply) => reply.status(201).send(await platformWide(() => createWatcher(ctx.db, principalOf(request), request.body))),
    );
    app.get(
      '/api/v1/shipment-watchers/:id',
      { schema: { tags, summary: 'One shipment watcher with its state and latest refused rows', params: watcherParams, response: { 200: watcherView, 400: errorEnvelope, ...denied, 404: errorEnvelope } }, preHandler: requireRole(ctx) },
      async (request) => platformWide(() => getWatcher(ctx.db, principalOf(request), request.params.id)),
    );
    app.put(
      '/api/v1/shipment-watchers/:id',
      {
        schema: {
          tags,
          summary: 'Replace a shipment watcher\'s configuration (the position is kept unless the table or order column changes, or start is given)',
          params: watcherParams,
          body: watcherUpdate,
          response: { 200: watcherView, 400: errorEnvelope, ...denied, 404: errorEnvelope, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => platformWide(() => updateWatcher(ctx.db, principalOf(request), request.params.id, request.body)),
    );
    app.delete(
      '/api/v1/shipment-watchers/:id',
      { schema: { tags, summary: 'Remove a shipment watcher (the shipments it stored stay)', params: watcherParams, response: { 204: noContent, 400: errorEnvelope, ...denied, 404: errorEnvelope } }, preHandler: requireRole(ctx) },
      async (request, reply) => {
        await platformWide(() => removeWatcher(ctx.db, principalOf(request), request.params.id));
        return reply.status(204).send();
      },
    );
  };
}
