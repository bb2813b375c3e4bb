import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type RouteOptions } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  type FastifyPluginAsyncZod,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { accountRoutes } from '../domains/accounts/index.js';
import type { App, AppContext } from '../platform/http/context.js';
import { registerAuth } from '../domains/accounts/index.js';
import { registerInputCleaning } from './plugins/clean-input.js';
import { answerError, registerErrorHandler } from '../platform/http/errors.js';
import { DomainError } from '../platform/errors.js';
import { registerSse, type SseTiming } from './plugins/sse.js';

/** A domain's routes: a factory taking the context and returning a fastify plugin. */
export type RoutePlugin = (ctx: AppContext) => FastifyPluginAsyncZod;

export interface BuildAppOptions {
  /** Route plugins of the domains, registered after the shared plugins. */
  routes: RoutePlugin[];
  /** Whether the app is ready (migrations done, workers started): drives /healthz. */
  isReady?: () => boolean;
  /** Live stream heartbeat and credential re-check intervals (tests shorten them). */
  sse?: SseTiming;
  /** Told of every route as it is registered (tests list them to check their schemas). */
  onRoute?: (route: RouteOptions) => void;
}

/** What /healthz answers: 200 when ready, 503 while starting. */
const healthAnswer = z.object({ status: z.enum(['ok', 'starting']), store: z.enum(['postgres', 'pglite']) });

const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * Content Security Policy of every answer (dashboard, Swagger UI, API). The dashboard and Swagger
 * UI load scripts and styles from their own origin only (Vite emits no inline script; React and
 * uPlot set styles through the DOM, which CSP allows); images may be data: URIs (favicon, Swagger's
 * icons). No framing: nobody can overlay the dashboard to trick clicks (clickjacking).
 * `upgrade-insecure-requests` is left out: Vigil is often served over plain HTTP on a LAN, where it
 * would make the browser fetch the dashboard's own scripts over HTTPS and fail.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
};

/**
 * Node's limits on how long a client may take: headers within 10 s; the whole request within
 * `requestTimeout` (checked every second, else Node checks every 30 s and a slow client gets up to
 * twice the limit). Answers are not limited here: live streams stay open for hours.
 */
function serverTimeouts(requestTimeoutMs: number) {
  return {
    requestTimeout: requestTimeoutMs,
    http: { headersTimeout: Math.min(10_000, requestTimeoutMs), connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs) },
  };
}

/** Assembles the HTTP server: shared plugins (errors, auth, OpenAPI, SSE, web UI) and domain routes. */
export async function buildApp(ctx: AppContext, options: BuildAppOptions): Promise<App> {
  const app: App = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: 5 * 1024 * 1024,
    // Forwarded headers count only from the configured proxies; anyone else could claim any address.
    trustProxy: ctx.config.VIGIL_TRUSTED_PROXIES.length ? ctx.config.VIGIL_TRUSTED_PROXIES : false,
    ...serverTimeouts(ctx.config.VIGIL_REQUEST_TIMEOUT_MS),
    // Per-request log lines would dominate the ping/ingest hot paths; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  registerInputCleaning(app);

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // frame-ancestors says it for current browsers; X-Frame-Options for older ones.
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    // Same-site, not same-origin: a status badge or ping URL may be used from another of the company's sites.
    crossOriginResourcePolicy: { policy: 'same-site' },
    strictTransportSecurity: { maxAge: 180 * 24 * 3600, includeSubDomains: false },
  });
  await app.register(fastifyCookie);
  registerAuth(app);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Vigil API', version: '1', description: 'Monitoring and alerting: job checks and pings (Healthchecks-compatible), log ingest, search, statistics and archive, notification channels, maintenance windows, accounts; shipment intake, fraud criteria (CEL, versioned, backtested) and the fraud alert inbox.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    // Zod schemas become JSON Schema; those registered with an id (`.meta({ id })`) are listed once
    // under components.schemas and referenced from the routes.
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    // Swagger UI's bundle injects a style element; on its own pages only, inline styles are allowed
    // (styles cannot run code; scripts stay same-origin only).
    transformStaticCSP: (header) => header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  });
  app.get(
    '/api/openapi.json',
    // Loose: the document passes through whole (a strict object would drop what it does not name).
    { schema: { hide: true, response: { 200: z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }) } } },
    // Configured with `openapi` above, so the document is OpenAPI 3 (the type also allows Swagger 2).
    async () => app.swagger() as { openapi: string; paths: Record<string, unknown> },
  );

  app.get('/healthz', { schema: { hide: true, response: { 200: healthAnswer, 503: healthAnswer } } }, async (_request, reply) => {
    const ready = options.isReady?.() ?? true;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'starting', store: ctx.store.kind });
  });

  registerSse(app, ctx, options.sse);
  await app.register(accountRoutes(ctx));
  for (const routes of options.routes) await app.register(routes(ctx));

  const hasWeb = existsSync(WEB_DIST);
  if (hasWeb) await app.register(fastifyStatic, { root: WEB_DIST, prefix: '/', wildcard: false });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    // Client-side routes of the single-page dashboard all load index.html.
    const isApi = /^\/(api|ping|healthz|loki|v1)(\/|$)/.test(path);
    if (hasWeb && request.method === 'GET' && !isApi && request.headers.accept?.includes('text/html')) return reply.sendFile('index.html');
    return answerError(new DomainError('not_found', `No route for ${request.method} ${path}`), request, reply);
  });
  return app;
}
