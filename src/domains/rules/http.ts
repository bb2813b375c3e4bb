import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../accounts/index.js';
import { errorEnvelope, noContent } from '../../contracts/errors.js';
import { ruleInput, ruleList, ruleParams, rulePreview, rulePreviewRequest, ruleView } from '../../contracts/alerting.js';
import { previewRule } from './preview.js';
import { createRule, deleteRule, getRule, listRules, updateRule } from './rules.js';

const tags = ['rules'];
const denied = { 401: errorEnvelope, 403: errorEnvelope };

/** `/api/v1/rules`: log-traffic alert rules (reads any role, writes member or admin) and their preview. */
export function ruleRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/v1/rules',
      {
        schema: { tags, summary: 'Create a log-traffic alert rule', body: ruleInput, response: { 201: ruleView, 400: errorEnvelope, ...denied } },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => reply.status(201).send(await createRule(ctx.db, principalOf(request).orgId, request.body)),
    );
    app.get(
      '/api/v1/rules',
      { schema: { tags, summary: 'List the alert rules (the default rule included) with their firing and pending instances', response: { 200: ruleList, ...denied } }, preHandler: requireRole(ctx) },
      async (request) => ({ rules: await listRules(ctx.db, principalOf(request).orgId) }),
    );
    app.get(
      '/api/v1/rules/:id',
      { schema: { tags, summary: 'One alert rule', params: ruleParams, response: { 200: ruleView, 400: errorEnvelope, ...denied, 404: errorEnvelope } }, preHandler: requireRole(ctx) },
      async (request) => getRule(ctx.db, principalOf(request).orgId, request.params.id),
    );
    app.put(
      '/api/v1/rules/:id',
      {
        schema: { tags, summary: 'Replace an alert rule (clears its error; its windows are rebuilt)', params: ruleParams, body: ruleInput, response: { 200: ruleView, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request) => updateRule(ctx.db, principalOf(request).orgId, request.params.id, request.body),
    );
    app.delete(
      '/api/v1/rules/:id',
      {
        schema: { tags, summary: 'Delete an alert rule (its firing instances resolve)', params: ruleParams, response: { 204: noContent, 400: errorEnvelope, ...denied, 404: errorEnvelope } },
        preHandler: requireRole(ctx, 'member'),
      },
      async (request, reply) => {
        await deleteRule(ctx.db, principalOf(request).orgId, request.params.id);
        return reply.status(204).send();
      },
    );
    app.post(
      '/api/v1/rules/preview',
      {
        schema: {
          tags,
          summary: 'Evaluate a rule over a past range: the metric per group and when it would have fired',
          body: rulePreviewRequest,
          response: { 200: rulePreview, 400: errorEnvelope, ...denied },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => previewRule(ctx.db, principalOf(request).orgId, request.body.rule, request.body),
    );
  };
}
