import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CSRF_COOKIE, SESSION_COOKIE, principalOf, requireRole } from './guard.js';
import type { AppContext } from '../../platform/http/context.js';
import { randomToken } from '../../platform/ids.js';
import { AddressThrottle } from './throttle.js';
import { createApiKey, createUser, credentialOf, getOrg, getUserEmail, listApiKeys, login, logout, revokeApiKey } from './accounts.js';

const role = z.enum(['admin', 'member', 'read-only']);

export function accountRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const addresses = new AddressThrottle();
  return async (app) => {
    app.post(
      '/api/v1/session',
      {
        // Open to anyone, so its body is parsed before anyone is known: an e-mail and a password fit in 8 KiB.
        bodyLimit: 8 * 1024,
        schema: {
          tags: ['accounts'],
          summary: 'Log in with e-mail and password; sets the session and CSRF cookies',
          description:
            'A wrong e-mail or password answers 401. Repeated failures are throttled per account and per client address: ' +
            'after a few, attempts are refused with 429 and Retry-After for a time that doubles with each further failure (at most 15 minutes).',
          // Bounded so that nobody can make the server hash megabytes.
          body: z.object({ email: z.string().email().max(320), password: z.string().min(1).max(1024) }),
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

    app.delete('/api/v1/session', { schema: { tags: ['accounts'], summary: 'Log out' } }, async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      const ended = token ? await logout(ctx.db, token) : undefined;
      // Live streams opened with this session end too, on every instance.
      if (ended) ctx.live.revokeCredential(ended.orgId, ended.credential);
      reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
      return reply.status(204).send();
    });

    app.get('/api/v1/me', { schema: { tags: ['accounts'], summary: 'Who am I: organisation, role, user' }, preHandler: requireRole(ctx) }, async (request) => {
      const p = principalOf(request);
      const org = await getOrg(ctx.db, p.orgId);
      return {
        org: { id: org.id, name: org.name, ping_key: org.pingKey },
        role: p.role,
        via: p.via,
        user: p.userId ? { id: p.userId, email: await getUserEmail(ctx.db, p.userId) } : null,
      };
    });

    app.get('/api/v1/api-keys', { schema: { tags: ['accounts'], summary: 'List API keys (secrets are never shown again)' }, preHandler: requireRole(ctx, 'admin') }, async (request) => ({
      api_keys: await listApiKeys(ctx.db, principalOf(request).orgId),
    }));

    app.post(
      '/api/v1/api-keys',
      {
        schema: { tags: ['accounts'], summary: 'Create an API key; the key is in the answer once', body: z.object({ name: z.string().min(1).max(100), role: role.default('member') }) },
        preHandler: requireRole(ctx, 'admin'),
      },
      async (request, reply) => reply.status(201).send(await createApiKey(ctx.db, principalOf(request).orgId, request.body.name, request.body.role)),
    );

    app.delete(
      '/api/v1/api-keys/:id',
      { schema: { tags: ['accounts'], summary: 'Revoke an API key', params: z.object({ id: z.string().uuid() }) }, preHandler: requireRole(ctx, 'admin') },
      async (request, reply) => {
        const { orgId } = principalOf(request);
        await revokeApiKey(ctx.db, orgId, request.params.id);
        // Live streams opened with this key end too, on every instance.
        ctx.live.revokeCredential(orgId, credentialOf({ orgId, role: 'read-only', apiKeyId: request.params.id, via: 'api-key' }));
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/users',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Add a user to this organisation',
          body: z.object({ email: z.string().email(), password: z.string().min(8), role: role.default('member') }),
        },
        preHandler: requireRole(ctx, 'admin'),
      },
      async (request, reply) => {
        const id = await createUser(ctx.db, principalOf(request).orgId, request.body.email, request.body.password, request.body.role);
        return reply.status(201).send({ id, email: request.body.email.toLowerCase(), role: request.body.role });
      },
    );
  };
}
