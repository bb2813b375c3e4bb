import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isUuid } from '../../../platform/ids.js';
import type { AppContext } from '../../../platform/http/context.js';
import type { PingAction } from '../lifecycle.js';
import { publishCheck } from '../live.js';
import { resolvePingTarget, type PingTarget } from '../pings.js';
import { PingWriter } from '../ping-writer.js';
import { TailBuffer } from '../../../platform/tail-buffer.js';
import { answerError } from '../../../platform/http/errors.js';
import { asOrg, asSystem } from '../../../platform/store/index.js';
import { emptyAnswer, pingAnswers } from '../../../contracts/jobs.js';

const SLUG_RE = /^[-a-zA-Z0-9_]+$/;

interface ParsedPath {
  target: PingTarget;
  action: PingAction;
  exitStatus: number | null;
}

type PathError = { status: 400 | 404; text: string };

/**
 * Parses the Healthchecks ping paths: /ping/<uuid>[/start|/fail|/log|/<0-255>] and
 * /ping/<ping-key>/<slug>[/...]. A ping key is never UUID-shaped, so the first segment tells them apart.
 */
export function parsePingPath(path: string): ParsedPath | PathError {
  const segments = path.split('/').filter((s) => s !== '');
  const [first, ...rest] = segments;
  if (!first) return { status: 404, text: 'not found' };
  let target: ParsedPath['target'];
  let actionSegment: string | undefined;
  if (isUuid(first)) {
    if (rest.length > 1) return { status: 404, text: 'not found' };
    target = { uuid: first.toLowerCase() };
    actionSegment = rest[0];
  } else {
    const [slug, action, ...extra] = rest;
    if (!slug) return { status: 400, text: 'invalid uuid format' };
    if (extra.length > 0 || !SLUG_RE.test(slug)) return { status: 404, text: 'not found' };
    // Slugs are lower case; Healthchecks answers an upper-case one as a malformed URL, not a missing check.
    if (slug !== slug.toLowerCase()) return { status: 400, text: 'invalid url format' };
    target = { pingKey: first, slug };
    actionSegment = action;
  }
  if (actionSegment === undefined) return { target, action: 'success', exitStatus: null };
  if (actionSegment === 'start' || actionSegment === 'fail' || actionSegment === 'log') return { target, action: actionSegment, exitStatus: null };
  if (/^\d+$/.test(actionSegment)) {
    const exitStatus = Number(actionSegment);
    if (exitStatus > 255) return { status: 400, text: 'invalid url format' };
    return { target, action: exitStatus === 0 ? 'success' : 'fail', exitStatus };
  }
  return { status: 404, text: 'not found' };
}

/**
 * The ping route in the OpenAPI document. Its path is parsed by parsePingPath (which answers in
 * Healthchecks' words), so no params or querystring schema validates it here: one would answer
 * malformed URLs in other words than Healthchecks does.
 */
const PING_SCHEMA = {
  tags: ['ping'],
  summary: 'Ping a check (Healthchecks protocol)',
  description:
    'The path after /ping/ is <uuid>[/start|/fail|/log|/<exit status 0-255>] or <ping key>/<slug>[/start|/fail|/log|/<exit status>]. ' +
    'Query: rid=<uuid> pairs a start with its finish; create=1 creates a missing slug check. Any method of GET, POST, HEAD; any body ' +
    '(its last VIGIL_PING_BODY_LIMIT bytes are kept, the limit is in the Ping-Body-Limit header). Answers are text/plain.',
  response: pingAnswers,
  // No credentials: the check's uuid (or the organisation's ping key) in the path is the secret.
  security: [],
};

/** Healthchecks-compatible ping endpoints: plain-text answers, any content type, body tail kept. */
export function pingRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const limit = ctx.config.VIGIL_PING_BODY_LIMIT;
  // ctx itself, not its baseUrl now: the public URL is known only once the server listens.
  const writer = new PingWriter(ctx.db, ctx.logger, ctx);
  return async (app) => {
    app.addHook('onClose', () => writer.drain());
    // Ping clients read plain text (Healthchecks answers "OK", "not found"…), errors included.
    app.setErrorHandler((error: FastifyError, request, reply) => answerError(error, request, reply, ({ message }) => message));
    // Any body, any content type, any size: only the last `limit` bytes are kept, so memory stays
    // bounded and an oversized body is stored truncated rather than rejected.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => {
      const tail = new TailBuffer(limit);
      payload.on('data', (chunk: Buffer) => tail.push(chunk));
      payload.on('end', () => done(null, tail));
      payload.on('error', (error) => done(error, undefined));
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('access-control-allow-origin', '*').header('ping-body-limit', String(limit)).type('text/plain; charset=utf-8');
      const text = (status: number, body: string) => reply.status(status).send(request.method === 'HEAD' ? '' : body);
      const parsed = parsePingPath((request.params as { '*': string })['*']);
      if ('status' in parsed) return text(parsed.status, parsed.text);
      const query = request.query as Record<string, string | undefined>;
      const rid = query.rid ?? null;
      if (rid !== null && !isUuid(rid)) return text(400, 'invalid uuid format');
      const createParam = query.create;
      if (createParam !== undefined && createParam !== '0' && createParam !== '1') return text(400, 'invalid value for create');

      // A ping names its check by uuid or by the organisation's ping key, and by nothing else.
      const resolved = await asSystem('a ping names its check by uuid or ping key only', () => resolvePingTarget(ctx.db, parsed.target, createParam === '1'));
      if (resolved === 'not_found') return text(404, 'not found');
      if (resolved === 'ambiguous') return text(409, 'ambiguous slug');
      const { checkId, created } = resolved;
      const tail = request.body instanceof TailBuffer ? request.body : null;
      const result = await writer.submit({
        checkId,
        ping: {
          action: parsed.action,
          exitStatus: parsed.exitStatus,
          rid: rid?.toLowerCase() ?? null,
          method: request.method,
          scheme: request.protocol,
          remoteAddr: request.ip,
          userAgent: request.headers['user-agent'] ?? '',
          body: tail && tail.total > 0 ? tail.tail().toString('utf8') : null,
          bodySize: tail?.total ?? 0,
          at: new Date(),
        },
      });
      if (result.outcome === 'not_found') return text(404, 'not found');
      void asOrg(result.check.org_id, () => publishCheck(ctx, result.check));
      return created ? text(201, 'Created') : text(200, 'OK');
    };

    app.route({ method: ['GET', 'POST', 'HEAD'], url: '/ping/*', exposeHeadRoute: false, schema: PING_SCHEMA, handler });
    // A browser's CORS preflight before a cross-site ping (fetch with a JSON body, say): allowed from
    // any origin like the pings themselves. It is not a ping: the request that follows is.
    app.options('/ping/*', { schema: { hide: true, response: { 204: emptyAnswer } } }, async (_request, reply) =>
      reply
        .status(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', 'GET, POST, HEAD, OPTIONS')
        .header('access-control-allow-headers', 'Content-Type')
        .header('access-control-max-age', '600')
        .send(null),
    );
  };
}
