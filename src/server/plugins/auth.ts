import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateApiKey, authenticateSession, ROLE_RANK, type Principal } from '../../domains/accounts/index.js';
import { forbidden, unauthorized, AppError } from '../../platform/errors.js';
import type { Role } from '../../platform/store/index.js';
import type { App, AppContext } from '../context.js';

export const SESSION_COOKIE = 'vigil_session';
export const CSRF_COOKIE = 'vigil_csrf';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Reads an API key from `X-Api-Key`, Datadog's `DD-API-KEY`, `Authorization: Bearer`, or the password of Basic auth. */
export function apiKeyFrom(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'] ?? request.headers['dd-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = request.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  // Log agents that only speak basic auth (Loki clients, Fluent Bit) send the key as the password.
  if (auth?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    return password || undefined;
  }
  return undefined;
}

export function registerAuth(app: App): void {
  app.decorateRequest('principal', null);
}

/**
 * Authenticates by API key or session cookie. Cookie-authenticated writes must also carry the
 * CSRF token (double-submit: the `vigil_csrf` cookie echoed in `X-CSRF-Token`), which another
 * site can neither read nor send.
 */
export async function authenticate(ctx: AppContext, request: FastifyRequest): Promise<Principal> {
  if (request.principal) return request.principal;
  const key = apiKeyFrom(request);
  if (key) {
    const principal = await authenticateApiKey(ctx.db, key);
    if (!principal) throw unauthorized('Invalid or revoked API key.');
    request.principal = principal;
    return principal;
  }
  const token = request.cookies[SESSION_COOKIE];
  if (token) {
    const principal = await authenticateSession(ctx.db, token);
    if (principal) {
      if (!SAFE_METHODS.has(request.method)) {
        const csrf = request.headers[CSRF_HEADER];
        if (!csrf || csrf !== request.cookies[CSRF_COOKIE]) {
          throw new AppError(403, 'csrf', 'Missing or wrong CSRF token: send the vigil_csrf cookie value in X-CSRF-Token.');
        }
      }
      request.principal = principal;
      return principal;
    }
  }
  throw unauthorized();
}

/** preHandler factory: `{ preHandler: requireRole(ctx, 'member') }`. Writes need member or admin. */
export function requireRole(ctx: AppContext, minimum: Role = 'read-only') {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const principal = await authenticate(ctx, request);
    if (ROLE_RANK[principal.role] < ROLE_RANK[minimum]) {
      throw forbidden(
        minimum === 'admin'
          ? 'This action needs an admin key or user.'
          : `This key is ${principal.role}: it can read but not change anything. Use a member or admin key.`,
      );
    }
  };
}

/** The authenticated principal of a request that passed `requireRole`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

