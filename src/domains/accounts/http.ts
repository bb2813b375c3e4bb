import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  apiKeyInput,
  apiKeyList,
  apiKeyParams,
  createdApiKey,
  createdUser,
  loginAnswer,
  loginRequest,
  me,
  userInput,
} from '../../contracts/accounts.js';
import { errorEnvelope, noContent } from '../../contracts/errors.js';
import { CSRF_COOKIE, SESSION_COOKIE, principalOf, requireRole } from './guard.js';
import type { AppContext } from '../../platform/http/context.js';
import { randomToken } from '../../platform/ids.js';
import { AddressThrottle } from './throttle.js';
import { createApiKey, createUser, listApiKeys, login, logout, revokeApiKey, whoAmI } from './accounts.js';

const tags = ['accounts'];

export function accountRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const addresses = new AddressThrottle();
  return async (app) => {
    app.post(
      '/api/v1/session',
      {
        // Open to anyone, so its body is parsed before anyone is known: an e-mail and a password fit in 8 KiB.
        bodyLimit: 8 * 1024,
        schema: {
          tags,
          summary: 'Log in with e-mail and password; sets the session and CSRF cookies',
          description:
            'A wrong e-mail or password answers 401. Repeated failures are throttled per account and per client address: ' +
            'after a few, attempts are refused with 429 and Retry-After for a time that doubles with each further failure (at most 15 minutes).',
          body: loginRequest,
          // 503: every password-hashing slot is taken (see password.ts).
          response: { 201: loginAnswer, 400: errorEnvelope, 401: errorEnvelope, 413: errorEnvelope, 429: errorEnvelope, 503: errorEnvelope },
        },
      },
      async (request, reply) => {
        // request.ip is the TCP peer unless the peer is one of VIGIL_TRUSTED_PROXIES.
        const session = await login(ctx.db, request.body.email, request.body.password, { address: request.ip, throttle: addresses });
        // request.protocol believes X-Forwarded-Proto only from VIGIL_TRUSTED_PROXIES.
        const secure = ctx.config.VIGIL_SECURE_COOKIES || request.protocol === 'https';
        const cookie = { path: '/', sameSite: 'lax' as const, secure, expires: session.expiresAt };
        reply.setCookie(SESSION_COOKIE, session.token, { ...cookie, httpOnly: true });
        reply.setCookie(CSRF_COOKIE, randomToken(18), { ...cookie, httpOnly: false });
        return reply.status(201).send({ ok: true });
      },
    );

    app.delete('/api/v1/session', { schema: { tags, summary: 'Log out', response: { 204: noContent } } }, async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      const ended = token ? await logout(ctx.db, token) : undefined;
      // Live streams opened with this session end too, on every instance.
      if (ended) ctx.live.revokeCredential(ended.orgId, ended.credential);
      reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
      return reply.status(204).send();
    });

    app.get(
      '/api/v1/me',
      { schema: { tags, summary: 'Who am I: organisation, role, user', response: { 200: me, 401: errorEnvelope } }, preHandler: requireRole(ctx) },
      async (request) => whoAmI(ctx.db, principalOf(request)),
    );

    app.get(
      '/api/v1/api-keys',
      {
        schema: { tags, summary: 'List API keys (secrets are never shown again)', response: { 200: apiKeyList, 401: errorEnvelope, 403: errorEnvelope } },
        preHandler: requireRole(ctx, 'admin'),
      },
      async (request) => ({ api_keys: await listApiKeys(ctx.db, principalOf(request).orgId) }),
    );

    app.post(
      '/api/v1/api-keys',
      {
        schema: {
          tags,
          summary: 'Create an API key; the key is in the answer once',
          body: apiKeyInput,
          response: { 201: createdApiKey, 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'admin'),
      },
      async (request, reply) => reply.status(201).send(await createApiKey(ctx.db, principalOf(request).orgId, request.body.name, request.body.role)),
    );

    app.delete(
      '/api/v1/api-keys/:id',
      {
        schema: {
          tags,
          summary: 'Revoke an API key',
          params: apiKeyParams,
          response: { 204: noContent, 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope, 404: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'admin'),
      },
      async (request, reply) => {
        const { orgId } = principalOf(request);
        const { credential } = await revokeApiKey(ctx.db, orgId, request.params.id);
        // Live streams opened with this key end too, on every instance.
        ctx.live.revokeCredential(orgId, credential);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/users',
      {
        schema: {
          tags,
          summary: 'Add a user to this organisation',
          body: userInput,
          response: { 201: createdUser, 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope, 409: errorEnvelope, 503: errorEnvelope },
        },
        preHandler: requireRole(ctx, 'admin'),
      },
      async (request, reply) => {
        const { body } = request;
        const user = await createUser(ctx.db, principalOf(request).orgId, body.email, body.password, body.role);
        return reply.status(201).send(user);
      },
    );
  };
}
