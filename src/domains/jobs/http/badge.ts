import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { allChecksBadgeParams, badgeAnswers, checkBadgeParams, emptyAnswer, tagBadgeParams } from '../../../contracts/jobs.js';
import { isUuid } from '../../../platform/ids.js';
import type { AppContext } from '../../../platform/http/context.js';
import { BADGE_FORMATS, badgeSvg, shieldsDocument, summarise, verifySignature, type BadgeFormat, type BadgeSummary } from '../badges.js';
import { listChecks } from '../checks.js';

/** Label of the badge for all of an organisation's checks (Healthchecks' MASTER_BADGE_LABEL). */
const ALL_CHECKS_LABEL = 'Vigil';

/** "name.fmt" → [name, fmt]; the format is the text after the last dot. */
function splitFormat(file: string): [string, BadgeFormat] | null {
  const dot = file.lastIndexOf('.');
  const fmt = file.slice(dot + 1);
  if (dot <= 0 || !(BADGE_FORMATS as readonly string[]).includes(fmt)) return null;
  return [file.slice(0, dot), fmt as BadgeFormat];
}

/**
 * Public status badges (no key: the badge key in the URL is the credential, and it is not the check
 * id, so a badge never reveals a ping URL). Answers are never cached and carry CORS headers, as
 * Healthchecks' do, so a status page on another site can fetch the JSON.
 */
export function badgeRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const schema = { hide: true, response: badgeAnswers };
    const preflight = { hide: true, response: { 204: emptyAnswer } };
    const notFound = (reply: FastifyReply) => reply.status(404).type('text/plain; charset=utf-8').send('not found');
    const answer = (reply: FastifyReply, label: string, fmt: BadgeFormat, summary: BadgeSummary) => {
      reply.header('cache-control', 'no-cache, no-store, must-revalidate, max-age=0').header('access-control-allow-origin', '*');
      if (fmt === 'svg') return reply.type('image/svg+xml').send(badgeSvg(label, summary.status));
      if (fmt === 'shields') return reply.send(shieldsDocument(label, summary.status));
      return reply.send(summary);
    };

    app.get('/b/:states/:file', { schema: { ...schema, params: checkBadgeParams } }, async (request, reply) => {
      const parsed = splitFormat(request.params.file);
      const states = request.params.states;
      if (!parsed || !isUuid(parsed[0]) || (states !== '2' && states !== '3')) return notFound(reply);
      const check = await ctx.db.selectFrom('checks').selectAll().where('badge_key', '=', parsed[0].toLowerCase()).executeTakeFirst();
      if (!check) return notFound(reply);
      // The label is the name or slug, never the id (which is the ping URL).
      return answer(reply, check.name || check.slug || 'check', parsed[1], summarise([check], states === '3'));
    });

    const tagBadge = async (key: string, signature: string, tag: string, fmt: BadgeFormat, reply: FastifyReply) => {
      if (!isUuid(key)) return notFound(reply);
      const org = await ctx.db.selectFrom('badge_keys').select(['org_id', 'secret']).where('key', '=', key.toLowerCase()).executeTakeFirst();
      const verified = org && verifySignature(org.secret, tag, signature);
      if (!org || !verified) return notFound(reply);
      const rows = await listChecks(ctx.db, org.org_id, tag === '*' ? {} : { tags: [tag] });
      return answer(reply, tag === '*' ? ALL_CHECKS_LABEL : tag, fmt, summarise(rows, verified.withLate));
    };

    app.get('/badge/:key/:file', { schema: { ...schema, params: allChecksBadgeParams } }, async (request, reply) => {
      const parsed = splitFormat(request.params.file);
      return parsed ? tagBadge(request.params.key, parsed[0], '*', parsed[1], reply) : notFound(reply);
    });

    app.get('/badge/:key/:signature/:file', { schema: { ...schema, params: tagBadgeParams } }, async (request, reply) => {
      const parsed = splitFormat(request.params.file);
      return parsed ? tagBadge(request.params.key, request.params.signature, parsed[0], parsed[1], reply) : notFound(reply);
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
