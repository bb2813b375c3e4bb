import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  emptyAnswer,
  hcBadgeListSchema,
  hcChannelListSchema,
  hcCheckInputSchema,
  hcCheckListQuery,
  hcCheckListSchema,
  hcCheckSchema,
  hcErrorSchema,
  hcFlipListSchema,
  hcFlipsQuery,
  hcPingBodyParams,
  hcPingListSchema,
  hcUuidParams,
  pingBodyAnswer,
} from '../../../contracts/jobs.js';
import { authenticateApiKey } from '../../accounts/index.js';
import { DomainError, badRequest, unauthorized } from '../../../platform/errors.js';
import type { AppContext } from '../../../platform/http/context.js';
import { apiKeyFrom, authenticate, principalOf, requireRole, SESSION_COOKIE } from '../../accounts/index.js';
import { answerError, type ErrorBody } from '../../../platform/http/errors.js';
import { healthchecksVerbs, type HcMount } from '../healthchecks.js';
import { corsPreflight } from './badge.js';

/**
 * Healthchecks' management API (`/api/v3/`, and its v1/v2 forms) so existing Healthchecks tooling
 * — the Ansible collection, Terraform providers, the curl lines of its docs — provisions Vigil
 * unchanged. Behaviour copied from Healthchecks where tools depend on it:
 * - bodies are JSON whatever the Content-Type (curl `--data` sends form-encoded);
 * - the key may come in `X-Api-Key` or as `api_key` in a POST body;
 * - `/checks`, `/channels`, `/badges`, `…/pings`, `…/flips` without the trailing slash redirect to it;
 * - errors are `{"error": "..."}`; every answer allows any origin (CORS), preflights answer 204;
 * - `channels` in a check is the comma-separated ids it notifies ("*" resolved), so a tool can
 *   compare what it asked for with what is there;
 * - v1 and v2 derive the slug from the name; v1 shows a running check as "started".
 */

/** Where the Healthchecks API answers, and what it calls itself in the URLs it returns. */
interface Mount extends HcMount {
  prefix: string;
  /** Only the list endpoints (used on Vigil's own `/api/v1`, whose other paths are the native API). */
  listsOnly?: boolean;
  /** Shown in the OpenAPI document (one mount is enough). */
  documented?: boolean;
}

/**
 * `/api/v3` and `/api/v2` as Healthchecks has them. Healthchecks' `/api/v1` collides with Vigil's
 * own `/api/v1`, so the whole Healthchecks API is also under `/hc` (a tool whose site root is
 * `http://vigil/hc` finds `/hc/api/v1/…`), and on `/api/v1` only the trailing-slash list paths
 * (`/api/v1/checks/`, `/api/v1/channels/`, `/api/v1/badges/`), which Vigil's API never uses, answer
 * as Healthchecks.
 */
export const HEALTHCHECKS_MOUNTS: Mount[] = [
  { prefix: '/api/v3', version: 3, links: '/api/v3', documented: true },
  { prefix: '/api/v2', version: 2, links: '/api/v2' },
  { prefix: '/hc/api/v1', version: 1, links: '/hc/api/v1' },
  { prefix: '/hc/api/v2', version: 2, links: '/hc/api/v2' },
  { prefix: '/hc/api/v3', version: 3, links: '/hc/api/v3' },
  { prefix: '/api/v1', version: 1, links: '/hc/api/v1', listsOnly: true },
];

const hcBody = hcCheckInputSchema;

/** Healthchecks' error body: `{"error": "..."}`; request validation as `json validation error: <field>: <reason>`. */
const healthchecksError: ErrorBody = ({ status, message, fields }) => {
  const first = fields?.[0];
  if (first) return { error: `json validation error: ${first.path.length ? `${first.path.join('/')}: ` : ''}${first.message}` };
  return { error: status >= 500 ? 'internal server error' : message };
};

const uuidParams = hcUuidParams;
/** Healthchecks' error answers (`{"error": "..."}`): 400 bad input, 401 no or wrong key, 403 read-only key, 404 no such check, 409 not paused. */
const HE = { 400: hcErrorSchema, 401: hcErrorSchema, 403: hcErrorSchema, 404: hcErrorSchema, 409: hcErrorSchema } as const;

/** Largest body a Healthchecks request needs (a check spec); also bounds what is read before a body `api_key` is checked. */
const BODY_LIMIT = 64 * 1024;
/** Longest query string a trailing-slash redirect carries over into its Location header. */
const MAX_REDIRECT_QUERY = 4096;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route of the Healthchecks API that needs no key (redirects, preflights). */
    hcPublic?: boolean;
  }
}

export function v3Routes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.setErrorHandler((error: FastifyError | DomainError, request, reply) => answerError(error, request, reply, healthchecksError));

    // Healthchecks reads every body as JSON, whatever its Content-Type: `curl --data '{…}'` sends
    // application/x-www-form-urlencoded. An empty body (`--data ""`) or `null` means no fields.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (request, body, done) => {
      const text = String(body).trim();
      if (text === '') return done(null, undefined);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // Without credentials in the headers the key could only have been in this body: the
        // caller is unauthenticated, and hears that rather than a parse error.
        if (!request.principal) return done(unauthorized('missing api key'), undefined);
        return done(badRequest('could not parse request body'), undefined);
      }
      if (value === null) return done(null, undefined);
      if (typeof value !== 'object' || Array.isArray(value)) return done(badRequest('json validation error: value is not an object'), undefined);
      return done(null, value);
    });

    // Authentication before anything is parsed or validated: a key in the headers (or a dashboard
    // session) is checked here; without one, only a POST may still carry `api_key` in its (small) body.
    app.addHook('onRequest', async (request) => {
      if (request.method === 'OPTIONS' || request.routeOptions.config.hcPublic) return;
      if (apiKeyFrom(request) || request.cookies[SESSION_COOKIE]) {
        await authenticate(ctx, request);
        return;
      }
      if (request.method !== 'POST') throw unauthorized('missing api key');
    });
    app.addHook('preValidation', async (request) => {
      if (request.method === 'OPTIONS' || request.routeOptions.config.hcPublic || request.principal) return;
      const key = (request.body as { api_key?: unknown } | undefined)?.api_key;
      if (typeof key !== 'string' || key === '') throw unauthorized('missing api key');
      const principal = await authenticateApiKey(ctx.db, key);
      if (!principal) throw unauthorized('wrong api key');
      request.principal = principal;
    });
    app.addHook('onSend', async (_request, reply) => {
      reply.header('access-control-allow-origin', '*');
    });

    // The key may be in the body (`api_key`): the guards then let a request without header
    // credentials through to parsing, and the preValidation hook above authenticates it.
    const keyFromBody = (body: unknown) => {
      const key = (body as { api_key?: unknown } | undefined)?.api_key;
      return typeof key === 'string' && key !== '' ? key : undefined;
    };
    const read = { preHandler: requireRole(ctx, 'read-only', { keyFromBody }) };
    const write = { preHandler: requireRole(ctx, 'member', { keyFromBody }) };

    for (const mount of HEALTHCHECKS_MOUNTS) {
      const p = mount.prefix;
      const tags = ['healthchecks v3'];
      const hide = !mount.documented;
      const hc = healthchecksVerbs(ctx, mount);

      app.get(`${p}/checks/`, { ...read, schema: { hide, tags, summary: 'List checks', querystring: hcCheckListQuery, response: { 200: hcCheckListSchema, ...HE } } }, async (request) =>
        hc.listChecks(principalOf(request), { tags: request.query.tag === undefined ? [] : [request.query.tag].flat(), slug: request.query.slug || undefined }),
      );

      app.post(`${p}/checks/`, { ...write, schema: { hide, tags, summary: 'Create a check (or update the one matching `unique`)', body: hcBody.optional(), response: { 200: hcCheckSchema, 201: hcCheckSchema, ...HE } } }, async (request, reply) => {
        const { check, created } = await hc.createOrUpdate(principalOf(request), request.body ?? {});
        return reply.status(created ? 201 : 200).send(check);
      });

      app.get(`${p}/channels/`, { ...read, schema: { hide, tags, summary: 'List notification channels', response: { 200: hcChannelListSchema, ...HE } } }, async (request) => hc.listChannels(principalOf(request)));

      app.get(`${p}/badges/`, { ...read, schema: { hide, tags, summary: 'Badge URLs per tag (SVG, JSON, Shields.io; 2 or 3 states)', response: { 200: hcBadgeListSchema, ...HE } } }, async (request) =>
        hc.listBadges(principalOf(request)),
      );

      if (!mount.listsOnly) {
        app.get(`${p}/checks/:uuid`, { ...read, schema: { hide, tags, summary: 'Get a check', params: uuidParams, response: { 200: hcCheckSchema, ...HE } } }, async (request) =>
          hc.getCheck(principalOf(request), request.params.uuid),
        );

        app.post(`${p}/checks/:uuid`, { ...write, schema: { hide, tags, summary: 'Update a check', params: uuidParams, body: hcBody.optional(), response: { 200: hcCheckSchema, ...HE } } }, async (request) =>
          hc.updateCheck(principalOf(request), request.params.uuid, request.body ?? {}),
        );

        app.delete(`${p}/checks/:uuid`, { ...write, schema: { hide, tags, summary: 'Delete a check', params: uuidParams, response: { 200: hcCheckSchema, ...HE } } }, async (request) =>
          hc.deleteCheck(principalOf(request), request.params.uuid),
        );

        app.post(`${p}/checks/:uuid/pause`, { ...write, schema: { hide, tags, summary: 'Pause monitoring', params: uuidParams, response: { 200: hcCheckSchema, ...HE } } }, async (request) =>
          hc.pauseCheck(principalOf(request), request.params.uuid),
        );

        app.post(`${p}/checks/:uuid/resume`, { ...write, schema: { hide, tags, summary: 'Resume monitoring (409 if not paused)', params: uuidParams, response: { 200: hcCheckSchema, ...HE } } }, async (request) =>
          hc.resumeCheck(principalOf(request), request.params.uuid),
        );

        app.get(`${p}/checks/:uuid/pings/`, { ...read, schema: { hide, tags, summary: 'Recent pings, newest first', params: uuidParams, response: { 200: hcPingListSchema, ...HE } } }, async (request) =>
          hc.listPings(principalOf(request), request.params.uuid),
        );

        app.get(`${p}/checks/:uuid/pings/:n/body`, { ...read, schema: { hide, tags, summary: 'A ping body', params: hcPingBodyParams, response: { 200: pingBodyAnswer, ...HE } } }, async (request, reply) =>
          reply.type('text/plain; charset=utf-8').send(await hc.pingBody(principalOf(request), request.params.uuid, request.params.n)),
        );

        app.get(`${p}/checks/:uuid/flips/`, { ...read, schema: { hide, tags, summary: 'Status changes (up/down), newest first', params: uuidParams, querystring: hcFlipsQuery, response: { 200: hcFlipListSchema, ...HE } } }, async (request) =>
          hc.listFlips(principalOf(request), request.params.uuid, request.query),
        );

        // Healthchecks' paths end in "/"; without it Healthchecks (Django) redirects, and tools rely on
        // that (the Ansible collection asks for "checks"). 301 for reads; 308 keeps a POST a POST.
        const redirect = (request: FastifyRequest, reply: FastifyReply): void => {
          const [path = '', query] = request.url.split('?', 2);
          const last = path.slice(path.lastIndexOf('/') + 1);
          const safe = request.method === 'GET' || request.method === 'HEAD';
          // The query is echoed into Location: one too long to fit a client's header limit (~16 KB) would
          // make the redirect itself unreadable, so it is refused instead (no Healthchecks query is near this).
          if ((query?.length ?? 0) > MAX_REDIRECT_QUERY) throw new DomainError('uri_too_long', `query string too long to redirect (over ${MAX_REDIRECT_QUERY} characters)`);
          reply.status(safe ? 301 : 308).header('location', `${last}/${query !== undefined ? `?${query}` : ''}`).send();
        };
        // A redirect has no success answer: 301/308 without a body, or (`default`) the Healthchecks error of a query too long to redirect (414).
        const methods: ('GET' | 'HEAD' | 'POST' | 'DELETE')[] = ['GET', 'HEAD', 'POST', 'DELETE'];
        for (const path of ['checks', 'channels', 'badges', 'checks/:uuid/pings', 'checks/:uuid/flips']) {
          app.route({ method: methods, url: `${p}/${path}`, config: { hcPublic: true }, exposeHeadRoute: false, schema: { hide: true, response: { 301: emptyAnswer, 308: emptyAnswer, default: hcErrorSchema } }, handler: redirect });
        }
        app.options(`${p}/*`, { config: { hcPublic: true }, schema: { hide: true, response: { 204: emptyAnswer } } }, async (_request, reply) => corsPreflight(reply, 'GET, POST, DELETE'));
      }
    }
  };
}
