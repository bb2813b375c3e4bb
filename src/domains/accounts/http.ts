import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  acceptInvitationInput,
  acceptedInvitation,
  adminActionList,
  adminActionQuery,
  createdInvitation,
  invitationInput,
  invitationParams,
  memberInput,
  memberList,
  memberParams,
  memberRoleInput,
  memberView,
  orgInput,
  orgList,
  orgParams,
  orgView,
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
import { asSystem } from '../../platform/store/index.js';
import { AddressThrottle } from './throttle.js';
import { listApiKeys, login, logout, whoAmI, type SessionStart } from './accounts.js';
import {
  acceptInvitation,
  addMember,
  changeMemberRole,
  createApiKeyAs,
  createOrgAs,
  invite,
  listAdminActions,
  listMembers,
  listOrgs,
  removeMember,
  removeOrgAs,
  renameOrgAs,
  revokeApiKeyAs,
  revokeInvitationAs,
  type InvitationDelivery,
} from './admin.js';
import { smtpMailer } from './mailer.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

const tags = ['accounts'];

/**
 * Runs an administration verb: across organisations for a platform administrator (they manage every
 * organisation; admin.ts checks who may do what), in the request's own organisation otherwise.
 */
function administering<T>(request: FastifyRequest, verb: () => Promise<T>): Promise<T> {
  return principalOf(request).platformAdmin ? asSystem('a platform administrator manages every organisation', verb) : verb();
}

const orgTags = ['organisations'];

export function accountRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const addresses = new AddressThrottle();
  const delivery: InvitationDelivery = {
    // Read when an invitation is made: the server knows its address only once it listens.
    get baseUrl() {
      return ctx.baseUrl;
    },
    mailer: ctx.config.VIGIL_SMTP_URL ? smtpMailer(ctx.config.VIGIL_SMTP_URL, ctx.config.VIGIL_SMTP_FROM) : undefined,
  };
  const setSessionCookies = (request: FastifyRequest, reply: FastifyReply, session: SessionStart) => {
    // request.protocol believes X-Forwarded-Proto only from VIGIL_TRUSTED_PROXIES.
    const secure = ctx.config.VIGIL_SECURE_COOKIES || request.protocol === 'https';
    const cookie = { path: '/', sameSite: 'lax' as const, secure, expires: session.expiresAt };
    reply.setCookie(SESSION_COOKIE, session.token, { ...cookie, httpOnly: true });
    reply.setCookie(CSRF_COOKIE, randomToken(18), { ...cookie, httpOnly: false });
  };
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
        const session = await asSystem('log in: find the user by e-mail before anyone is known', () =>
          login(ctx.db, request.body.email, request.body.password, { address: request.ip, throttle: addresses }),
        );
        setSessionCookies(request, reply, session);
        return reply.status(201).send({ ok: true });
      },
    );

    app.delete('/api/v1/session', { schema: { tags, summary: 'Log out', response: { 204: noContent } } }, async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      const ended = token ? await asSystem('log out: end the session the cookie names', () => logout(ctx.db, token)) : undefined;
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
      async (request, reply) => reply.status(201).send(await createApiKeyAs(ctx.db, principalOf(request), request.body.name, request.body.role)),
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
        const { credential } = await revokeApiKeyAs(ctx.db, principalOf(request), request.params.id);
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
        const p = principalOf(request);
        const user = await addMember(ctx.db, p, p.orgId, { email: body.email, password: body.password, role: body.role === 'member' ? 'analyst' : body.role });
        return reply.status(201).send({ id: user.user_id, email: user.email, role: body.role });
      },
    );

    // --- organisations: platform administrators ---------------------------------------------------

    const E = { 400: errorEnvelope, 401: errorEnvelope, 403: errorEnvelope, 404: errorEnvelope };
    const platformNote = 'Platform administrators only (others get 403).';

    app.get(
      '/api/v1/orgs',
      { schema: { tags: orgTags, summary: 'List organisations', description: platformNote, response: { 200: orgList, ...E } }, preHandler: requireRole(ctx) },
      async (request) => ({ orgs: await administering(request, () => listOrgs(ctx.db, principalOf(request))) }),
    );

    app.post(
      '/api/v1/orgs',
      { schema: { tags: orgTags, summary: 'Create a customer organisation', description: platformNote, body: orgInput, response: { 201: orgView, ...E } }, preHandler: requireRole(ctx) },
      async (request, reply) => reply.status(201).send(await administering(request, () => createOrgAs(ctx.db, principalOf(request), request.body.name))),
    );

    app.patch(
      '/api/v1/orgs/:id',
      { schema: { tags: orgTags, summary: 'Rename an organisation', description: platformNote, params: orgParams, body: orgInput, response: { 200: orgView, ...E } }, preHandler: requireRole(ctx) },
      async (request) => administering(request, () => renameOrgAs(ctx.db, principalOf(request), request.params.id, request.body.name)),
    );

    app.delete(
      '/api/v1/orgs/:id',
      {
        schema: {
          tags: orgTags,
          summary: 'Remove an organisation and everything in it',
          description: `${platformNote} Its users who belong to no other organisation are removed too. Nobody removes the organisation they are signed in to (409).`,
          params: orgParams,
          response: { 204: noContent, ...E, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request, reply) => {
        await administering(request, () => removeOrgAs(ctx.db, principalOf(request), request.params.id));
        return reply.status(204).send();
      },
    );

    // --- members and invitations: platform administrators, or the organisation's admins -------------

    const memberNote =
      "Platform administrators for any organisation; an organisation's admins for their own (its id is in GET /api/v1/me). " +
      "Another organisation's id is 404. Roles: admin, analyst (reads and changes monitoring; shown as member on API keys and /api/v1/me), read-only.";

    app.get(
      '/api/v1/orgs/:id/members',
      { schema: { tags: orgTags, summary: 'List members and pending invitations', description: memberNote, params: orgParams, response: { 200: memberList, ...E } }, preHandler: requireRole(ctx) },
      async (request) => administering(request, () => listMembers(ctx.db, principalOf(request), request.params.id)),
    );

    app.post(
      '/api/v1/orgs/:id/members',
      {
        schema: {
          tags: orgTags,
          summary: 'Add a user with an initial password',
          description: memberNote,
          params: orgParams,
          body: memberInput,
          response: { 201: memberView, ...E, 409: errorEnvelope, 503: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request, reply) => reply.status(201).send(await administering(request, () => addMember(ctx.db, principalOf(request), request.params.id, request.body))),
    );

    app.patch(
      '/api/v1/orgs/:id/members/:userId',
      {
        schema: {
          tags: orgTags,
          summary: "Change a member's role",
          description: `${memberNote} The last admin cannot be demoted (409).`,
          params: memberParams,
          body: memberRoleInput,
          response: { 200: memberView, ...E, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => administering(request, () => changeMemberRole(ctx.db, principalOf(request), request.params.id, request.params.userId, request.body.role)),
    );

    app.delete(
      '/api/v1/orgs/:id/members/:userId',
      {
        schema: {
          tags: orgTags,
          summary: 'Remove a member',
          description: `${memberNote} Their sessions end; the last admin cannot be removed (409).`,
          params: memberParams,
          response: { 204: noContent, ...E, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request, reply) => {
        await administering(request, () => removeMember(ctx.db, principalOf(request), request.params.id, request.params.userId));
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/orgs/:id/invitations',
      {
        schema: {
          tags: orgTags,
          summary: 'Invite someone by e-mail',
          description:
            `${memberNote} The invitation link works once and expires after 7 days. With VIGIL_SMTP_URL set it is e-mailed; ` +
            'otherwise (or if sending fails) it is in the answer (`url`) for you to pass on.',
          params: orgParams,
          body: invitationInput,
          response: { 201: createdInvitation, ...E, 409: errorEnvelope },
        },
        preHandler: requireRole(ctx),
      },
      async (request, reply) => reply.status(201).send(await administering(request, () => invite(ctx.db, principalOf(request), request.params.id, request.body, delivery))),
    );

    app.delete(
      '/api/v1/orgs/:id/invitations/:invitationId',
      {
        schema: { tags: orgTags, summary: 'Revoke a pending invitation', description: memberNote, params: invitationParams, response: { 204: noContent, ...E } },
        preHandler: requireRole(ctx),
      },
      async (request, reply) => {
        await administering(request, () => revokeInvitationAs(ctx.db, principalOf(request), request.params.id, request.params.invitationId));
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/invitations/accept',
      {
        // Open to anyone holding a token: its body is parsed before anyone is known, so it stays small.
        bodyLimit: 8 * 1024,
        schema: {
          tags: orgTags,
          summary: 'Accept an invitation: set a password; signs in (sets the session and CSRF cookies)',
          description: 'A wrong, used, revoked or expired token is 404.',
          body: acceptInvitationInput,
          response: { 201: acceptedInvitation, 400: errorEnvelope, 404: errorEnvelope, 409: errorEnvelope, 413: errorEnvelope, 503: errorEnvelope },
        },
      },
      async (request, reply) => {
        const accepted = await asSystem('accept an invitation: find it by its token before anyone is known', () => acceptInvitation(ctx.db, request.body.token, request.body.password));
        setSessionCookies(request, reply, accepted.session);
        return reply.status(201).send({ ok: true, email: accepted.email, org: accepted.org });
      },
    );

    app.get(
      '/api/v1/admin-actions',
      {
        schema: {
          tags: orgTags,
          summary: 'The admin action log: who created, changed or removed organisations, members, roles, invitations and API keys',
          description: "Newest first. Platform administrators see every organisation's (or one's, with org_id); an organisation's admins see their own.",
          querystring: adminActionQuery,
          response: { 200: adminActionList, ...E },
        },
        preHandler: requireRole(ctx),
      },
      async (request) => ({ actions: await administering(request, () => listAdminActions(ctx.db, principalOf(request), request.query)) }),
    );
  };
}
