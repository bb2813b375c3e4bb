import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { allChecksBadgeParams, badgeAnswers, checkBadgeParams, emptyAnswer, tagBadgeParams } from '../../../contracts/jobs.js';
import type { AppContext } from '../../../platform/http/context.js';
import { asSystem } from '../../../platform/store/index.js';
import { badgeSvg, checkBadge, shieldsDocument, splitBadgeFile, tagBadge, type Badge, type BadgeFormat } from '../badges.js';

/**
 * Public status badges (no key: the badge key in the URL is the credential, and it is not the check
 * id, so a badge never reveals a ping URL). Answers are never cached and carry CORS headers, as
 * Healthchecks' do, so a status page on another site can fetch the JSON.
 */
/** Why badges cross organisations (see platform/store/tenancy.ts). */
const BADGE = 'a public badge names its checks by badge key only';

export function badgeRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const schema = { hide: true, response: badgeAnswers };
    const preflight = { hide: true, response: { 204: emptyAnswer } };
    const notFound = (reply: FastifyReply) => reply.status(404).type('text/plain; charset=utf-8').send('not found');
    const answer = (reply: FastifyReply, fmt: BadgeFormat, badge: Badge | null) => {
      if (!badge) return notFound(reply);
      const { label, summary } = badge;
      reply.header('cache-control', 'no-cache, no-store, must-revalidate, max-age=0').header('access-control-allow-origin', '*');
      if (fmt === 'svg') return reply.type('image/svg+xml').send(badgeSvg(label, summary.status));
      if (fmt === 'shields') return reply.send(shieldsDocument(label, summary.status));
      return reply.send(summary);
    };

    app.get('/b/:states/:file', { schema: { ...schema, params: checkBadgeParams } }, async (request, reply) => {
      const parsed = splitBadgeFile(request.params.file);
      return parsed ? answer(reply, parsed[1], await asSystem(BADGE, () => checkBadge(ctx.db, request.params.states, parsed[0]))) : notFound(reply);
    });

    app.get('/badge/:key/:file', { schema: { ...schema, params: allChecksBadgeParams } }, async (request, reply) => {
      const parsed = splitBadgeFile(request.params.file);
      return parsed ? answer(reply, parsed[1], await asSystem(BADGE, () => tagBadge(ctx.db, request.params.key, parsed[0], '*'))) : notFound(reply);
    });

    app.get('/badge/:key/:signature/:file', { schema: { ...schema, params: tagBadgeParams } }, async (request, reply) => {
      const parsed = splitBadgeFile(request.params.file);
      return parsed ? answer(reply, parsed[1], await asSystem(BADGE, () => tagBadge(ctx.db, request.params.key, request.params.signature, parsed[0]))) : notFound(reply);
    });

    app.options('/b/*', { schema: preflight }, async (_request, reply) => corsPreflight(reply, 'GET'));
    app.options('/badge/*', { schema: preflight }, async (_request, reply) => corsPreflight(reply, 'GET'));
  };
}

/** Healthchecks' CORS answer to a preflight: 204, any origin, the methods the URL takes, X-Api-Key allowed, cached 10 minutes. */
export function corsPreflight(reply: FastifyReply, methods: string): FastifyReply {
  return reply
    .status(204)
    .header('access-control-allow-origin', '*')
    .header('access-control-allow-headers', 'X-Api-Key')
    .header('access-control-allow-methods', `${methods}, OPTIONS`)
    .header('access-control-max-age', '600')
    .send();
}
