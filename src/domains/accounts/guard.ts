import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateApiKey, authenticateSession, ROLE_RANK, type Principal } from './accounts.js';
import { forbidden, unauthorized, DomainError } from '../../platform/errors.js';
import type { App } from '../../platform/http/context.js';
import type { MemberRole } from './tables.js';
import { inRequestScope, reenterScope, type Db, type ScopeHandle } from '../../platform/store/index.js';

export const SESSION_COOKIE = 'vigil_session';
export const CSRF_COOKIE = 'vigil_csrf';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The request's tenancy scope (see registerAuth). */
    tenancyScope: ScopeHandle | null;
  }
}

/** What authenticating needs: the store. (The server's AppContext has it, so routes pass their context.) */
export interface AuthDeps {
  db: Db;
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

/**
 * How big a body may be on a route that accepts its API key inside the body (`keyFromBody`): such a
 * body is parsed before anyone is authenticated, so it is kept small.
 */
export const BODY_KEY_BODY_LIMIT = 64 * 1024;

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** What `requireRole` returns: a preHandler that `registerAuth` recognises and runs before the body is read. */
interface AuthGuard extends Hook {
  [GUARD]: { early: Hook; late?: Hook };
}
const GUARD = Symbol('vigil.authGuard');
const isGuard = (hook: unknown): hook is AuthGuard => typeof hook === 'function' && GUARD in hook;
const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Decorates requests with their principal, and makes every route guarded by `requireRole`
 * authenticate in `onRequest` — before the body is read, parsed or validated — wherever the route
 * lists the guard (routes write `preHandler: requireRole(...)`). So a request without valid
 * credentials gets 401 whatever its body, and nobody can make the server buffer and parse
 * megabytes without a key.
 */
export function registerAuth(app: App): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('tenancyScope', null);
  // Tenancy (src/platform/store/tenancy.ts): every request runs in a scope of its own, with no
  // organisation (its queries see no tenant row) until authentication sets it. Hooks run one from
  // another, so the scope opened here reaches the later ones and the handler; body parsing runs in
  // the socket's events instead, so the scope is entered again once the body is parsed.
  app.addHook('onRequest', (request, _reply, done) => {
    inRequestScope((scope) => {
      request.tenancyScope = scope;
      done();
    });
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.tenancyScope) reenterScope(request.tenancyScope, done);
    else done();
  });
  app.addHook('onRoute', (route) => {
    const preHandlers = asList(route.preHandler);
    const guards = preHandlers.filter(isGuard);
    if (guards.length === 0) return;
    const others = preHandlers.filter((h) => !isGuard(h));
    const late = guards.flatMap((g) => asList(g[GUARD].late));
    // The route's own onRequest hooks run first: they may establish credentials the guard then
    // checks (the Datadog v1 intake takes its key from the path).
    route.onRequest = [...asList(route.onRequest), ...guards.map((g) => g[GUARD].early)];
    route.preHandler = others;
    if (late.length) {
      // A key in the body can be read once the body is parsed, and still before it is validated.
      route.preValidation = [...late, ...asList(route.preValidation)];
      route.bodyLimit = Math.min(route.bodyLimit ?? BODY_KEY_BODY_LIMIT, BODY_KEY_BODY_LIMIT);
    }
  });
}

/**
 * Authenticates by API key or session cookie. Cookie-authenticated writes must also carry the
 * CSRF token (double-submit: the `vigil_csrf` cookie echoed in `X-CSRF-Token`), which another
 * site can neither read nor send.
 */
export async function authenticate(deps: AuthDeps, request: FastifyRequest): Promise<Principal> {
  if (request.principal) return request.principal;
  const key = apiKeyFrom(request);
  if (key) {
    const principal = await authenticateApiKey(deps.db, key);
    if (!principal) throw unauthorized('Invalid or revoked API key.');
    request.principal = principal;
    return principal;
  }
  const token = request.cookies[SESSION_COOKIE];
  if (token) {
    const principal = await authenticateSession(deps.db, token);
    if (principal) {
      if (!SAFE_METHODS.has(request.method)) {
        const csrf = request.headers[CSRF_HEADER];
        if (!csrf || csrf !== request.cookies[CSRF_COOKIE]) {
          throw new DomainError('csrf', 'Missing or wrong CSRF token: send the vigil_csrf cookie value in X-CSRF-Token.');
        }
      }
      request.principal = principal;
      return principal;
    }
  }
  throw unauthorized();
}

export interface RequireRoleOptions {
  /**
   * Where the route also accepts an API key inside the parsed body (the Healthchecks v3 API takes
   * `api_key` in JSON). A request that brings no key in its headers and no session cookie is then
   * authenticated once its body is parsed (before validation), with this key; the route's body limit drops to
   * BODY_KEY_BODY_LIMIT so that parsing before authentication stays cheap.
   */
  keyFromBody?: (body: unknown) => string | undefined;
}

function assertRole(principal: Principal, minimum: MemberRole): void {
  if (ROLE_RANK[principal.role] < ROLE_RANK[minimum]) {
    throw forbidden(
      minimum === 'admin'
        ? 'This action needs an admin key or user.'
        : `This key is ${principal.role}: it can read but not change anything. Use a member or admin key.`,
    );
  }
}

/**
 * Route guard: `{ preHandler: requireRole(ctx, 'member') }`. Writes need member or admin.
 * `registerAuth` runs it in `onRequest` (see there), before the body is touched.
 */
export function requireRole(deps: AuthDeps, minimum: MemberRole = 'read-only', options: RequireRoleOptions = {}): Hook {
  const { keyFromBody } = options;
  const early: Hook = async (request) => {
    // A body-key route lets a request with no credentials elsewhere through to parsing; `late` decides.
    if (keyFromBody && !apiKeyFrom(request) && !request.cookies[SESSION_COOKIE]) return;
    assertRole(await authenticate(deps, request), minimum);
  };
  const late: Hook | undefined = keyFromBody
    ? async (request) => {
        // Another hook may have authenticated the request already (the v3 plugin does, with
        // Healthchecks' messages); the role is checked either way.
        if (request.principal) return assertRole(request.principal, minimum);
        const key = keyFromBody(request.body);
        if (!key) throw unauthorized('Missing credentials: send an API key in X-Api-Key, or api_key in the JSON body.');
        const principal = await authenticateApiKey(deps.db, key);
        if (!principal) throw unauthorized('Invalid or revoked API key.');
        request.principal = principal;
        assertRole(principal, minimum);
      }
    : undefined;
  // Called directly (a route registered before registerAuth, or a test), it still authenticates.
  const guard = (async (request, reply) => {
    await early(request, reply);
    await late?.(request, reply);
  }) as AuthGuard;
  guard[GUARD] = late ? { early, late } : { early };
  return guard;
}

/** The authenticated principal of a request that passed `requireRole`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

