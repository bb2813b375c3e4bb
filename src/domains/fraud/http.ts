import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, noContent } from '../../contracts/errors.js';
import {
  backtestRequest,
  backtestResult,
  criterionInput,
  criterionList,
  criterionParams,
  criterionPatch,
  criterionVersionList,
  criterionView,
  expressionCheck,
  expressionCheckRequest,
  fraudAlertDetail,
  fraudAlertList,
  fraudAlertParams,
  fraudAlertQuery,
  fraudAlertView,
  fraudAuditList,
  fraudAuditQuery,
  fraudListInput,
  fraudListParams,
  fraudListPatch,
  fraudListSummaryList,
  fraudListView,
  fraudSchema,
  fraudVerdictInput,
} from '../../contracts/fraud.js';
import type { AppContext } from '../../platform/http/context.js';
import { actorName, principalOf, requireRole } from '../accounts/index.js';
import { listAudit } from './audit.js';
import { backtest, checkDraft, createCriterion, deleteCriterion, getCriterion, listCriteria, listVersions, schemaFor, updateCriterionSpec } from './criteria.js';
import { acknowledgeFraudAlert, getFraudAlert, listFraudAlerts, setFraudVerdict } from './inbox.js';
import { createList, getList, listLists, removeList, updateList } from './lists.js';

const tags = ['fraud'];
const denied = { 401: errorEnvelope, 403: errorEnvelope };
const refused = { 400: errorEnvelope, ...denied };
const missing = { ...refused, 404: errorEnvelope };

/** A list of 100,000 items of up to 1,000 characters (the contract's bounds) fits; these routes only. */
const LIST_BODY_LIMIT = 128 * 1024 * 1024;

/**
 * `/api/v1/fraud/*`: shipment fraud criteria (CEL) with their versions, the editor's checker and
 * schema, backtests, the organisation's lists, the audit log and the alert inbox. Reads: any role;
 * writes (criteria, lists, backtests, acknowledgements, verdicts): analyst (member) or admin.
 */
export function fraudRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const reader = requireRole(ctx);
    const writer = requireRole(ctx, 'member');
    const actor = (request: Parameters<typeof principalOf>[0]) => actorName(ctx.db, principalOf(request));
    const orgOf = (request: Parameters<typeof principalOf>[0]) => principalOf(request).orgId;

    // --- criteria ---
    app.get(
      '/api/v1/fraud/criteria',
      { schema: { tags, summary: "The organisation's fraud criteria with their status and statistics (matches in 7 days, verdicts, precision)", response: { 200: criterionList, ...denied } }, preHandler: reader },
      async (request) => ({ criteria: await listCriteria(ctx.db, orgOf(request)) }),
    );
    app.post(
      '/api/v1/fraud/criteria',
      {
        schema: {
          tags,
          summary: 'Create a fraud criterion: a CEL expression over shipment, lists and velocity (version 1)',
          description:
            'Type-checked at save: an expression that does not check, or is not a condition (bool), is a 400 naming `expression` with the line and column of the problem. Example: {"name": "high value to watched country", "expression": "shipment.declared_value_usd > 5000.0 && shipment.destination_country in [\'NG\', \'KP\']", "enabled": true}',
          body: criterionInput,
          response: { 201: criterionView, ...refused },
        },
        preHandler: writer,
      },
      async (request, reply) => reply.status(201).send(await createCriterion(ctx.db, orgOf(request), request.body, await actor(request))),
    );
    app.post(
      '/api/v1/fraud/criteria/check',
      {
        schema: {
          tags,
          summary: 'Type-check an expression as the editor types: problems with line and column, its type, the aggregates it uses (saves nothing)',
          body: expressionCheckRequest,
          response: { 200: expressionCheck, ...refused },
        },
        preHandler: reader,
      },
      async (request) => checkDraft(ctx.db, orgOf(request), request.body.expression),
    );
    app.get(
      '/api/v1/fraud/criteria/:id',
      { schema: { tags, summary: 'One fraud criterion', params: criterionParams, response: { 200: criterionView, ...missing } }, preHandler: reader },
      async (request) => getCriterion(ctx.db, orgOf(request), request.params.id),
    );
    app.put(
      '/api/v1/fraud/criteria/:id',
      {
        schema: {
          tags,
          summary: 'Change a fraud criterion: fields not sent keep their value; any change makes a new immutable version (and resumes a paused criterion)',
          description: 'A paused criterion (failed at evaluation) resumes with a new version, or with {"enabled": true}. An edit that changes nothing makes no version.',
          params: criterionParams,
          body: criterionPatch,
          response: { 200: criterionView, ...missing },
        },
        preHandler: writer,
      },
      async (request) => updateCriterionSpec(ctx.db, orgOf(request), request.params.id, request.body, await actor(request)),
    );
    app.delete(
      '/api/v1/fraud/criteria/:id',
      {
        schema: { tags, summary: 'Delete a fraud criterion (no longer evaluated; its versions, audit entries and alerts stay)', params: criterionParams, response: { 204: noContent, ...missing } },
        preHandler: writer,
      },
      async (request, reply) => {
        await deleteCriterion(ctx.db, orgOf(request), request.params.id, await actor(request));
        return reply.status(204).send();
      },
    );
    app.get(
      '/api/v1/fraud/criteria/:id/versions',
      { schema: { tags, summary: "A criterion's immutable versions, newest first (alerts name the version that matched)", params: criterionParams, response: { 200: criterionVersionList, ...missing } }, preHandler: reader },
      async (request) => ({ versions: await listVersions(ctx.db, orgOf(request), request.params.id) }),
    );

    // --- the editor and backtests ---
    app.get(
      '/api/v1/fraud/schema',
      { schema: { tags, summary: 'What a criterion can read: shipment fields, velocity functions (with examples) and the organisation\'s lists', response: { 200: fraudSchema, ...denied } }, preHandler: reader },
      async (request) => schemaFor(ctx.db, orgOf(request)),
    );
    app.post(
      '/api/v1/fraud/backtest',
      {
        schema: {
          tags,
          summary: "Run a draft expression over the organisation's shipments of the last N days: matches per day and sample matches (saves nothing)",
          body: backtestRequest,
          response: { 200: backtestResult, ...refused },
        },
        preHandler: writer,
      },
      async (request) => backtest(ctx.db, orgOf(request), request.body),
    );

    // --- lists ---
    app.get(
      '/api/v1/fraud/lists',
      { schema: { tags, summary: "The organisation's lists (criteria read them as lists.<name>), with item counts and the criteria using them", response: { 200: fraudListSummaryList, ...denied } }, preHandler: reader },
      async (request) => ({ lists: await listLists(ctx.db, orgOf(request)) }),
    );
    app.post(
      '/api/v1/fraud/lists',
      {
        bodyLimit: LIST_BODY_LIMIT,
        schema: { tags, summary: 'Create a list (up to 100,000 items, duplicates kept once)', body: fraudListInput, response: { 201: fraudListView, ...refused, 409: errorEnvelope } },
        preHandler: writer,
      },
      async (request, reply) => reply.status(201).send(await createList(ctx.db, orgOf(request), request.body, await actor(request))),
    );
    app.get(
      '/api/v1/fraud/lists/:name',
      { schema: { tags, summary: 'One list with its items', params: fraudListParams, response: { 200: fraudListView, ...missing } }, preHandler: reader },
      async (request) => getList(ctx.db, orgOf(request), request.params.name),
    );
    app.put(
      '/api/v1/fraud/lists/:name',
      {
        bodyLimit: LIST_BODY_LIMIT,
        schema: {
          tags,
          summary: 'Change a list: `items` replaces every item, then `add` adds and `remove` removes; `description`',
          params: fraudListParams,
          body: fraudListPatch,
          response: { 200: fraudListView, ...missing },
        },
        preHandler: writer,
      },
      async (request) => updateList(ctx.db, orgOf(request), request.params.name, request.body, await actor(request)),
    );
    app.delete(
      '/api/v1/fraud/lists/:name',
      {
        schema: { tags, summary: 'Delete a list; refused (409, naming them) while a criterion reads it', params: fraudListParams, response: { 204: noContent, ...missing, 409: errorEnvelope } },
        preHandler: writer,
      },
      async (request, reply) => {
        await removeList(ctx.db, orgOf(request), request.params.name, await actor(request));
        return reply.status(204).send();
      },
    );

    // --- audit ---
    app.get(
      '/api/v1/fraud/audit',
      { schema: { tags, summary: 'Who changed which criterion or list, what (field: from → to) and when; newest first', querystring: fraudAuditQuery, response: { 200: fraudAuditList, ...refused } }, preHandler: reader },
      async (request) => ({ entries: await listAudit(ctx.db, orgOf(request), request.query) }),
    );

    // --- the alert inbox ---
    app.get(
      '/api/v1/fraud/alerts',
      {
        schema: { tags, summary: 'Fraud alerts (criterion matches), newest first, filtered; pages with next_before', querystring: fraudAlertQuery, response: { 200: fraudAlertList, ...refused } },
        preHandler: reader,
      },
      async (request) => listFraudAlerts(ctx.db, orgOf(request), request.query),
    );
    app.get(
      '/api/v1/fraud/alerts/:id',
      { schema: { tags, summary: 'One fraud alert with its shipment and the values that matched', params: fraudAlertParams, response: { 200: fraudAlertDetail, ...missing } }, preHandler: reader },
      async (request) => getFraudAlert(ctx.db, orgOf(request), request.params.id),
    );
    app.post(
      '/api/v1/fraud/alerts/:id/ack',
      { schema: { tags, summary: 'Acknowledge a fraud alert (the first acknowledgement is kept)', params: fraudAlertParams, response: { 200: fraudAlertView, ...missing } }, preHandler: writer },
      async (request) => acknowledgeFraudAlert(ctx.db, orgOf(request), request.params.id, await actor(request)),
    );
    app.put(
      '/api/v1/fraud/alerts/:id/verdict',
      {
        schema: {
          tags,
          summary: "Mark a fraud alert as fraud, false_positive or benign (one verdict per alert; sending another replaces it); counts in its criterion's precision",
          params: fraudAlertParams,
          body: fraudVerdictInput,
          response: { 200: fraudAlertView, ...missing },
        },
        preHandler: writer,
      },
      async (request) => setFraudVerdict(ctx.db, orgOf(request), request.params.id, request.body.verdict, request.body.note, await actor(request)),
    );
  };
}
