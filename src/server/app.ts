import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import {
  jsonSchemaTransform,
  type FastifyPluginAsyncZod, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { accountRoutes } from '../domains/accounts/index.js';
import type { App, AppContext } from './context.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandler } from './plugins/errors.js';
import { registerSse } from './plugins/sse.js';

/** A domain's routes: a factory taking the context and returning a fastify plugin. */
export type RoutePlugin = (ctx: AppContext) => FastifyPluginAsyncZod;

export interface BuildAppOptions {
  /** Route plugins of the domains, registered after the shared plugins. */
  routes: RoutePlugin[];
  /** Whether the app is ready (migrations done, workers started): drives /healthz. */
  isReady?: () => boolean;
}

const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Assembles the HTTP server: shared plugins (errors, auth, OpenAPI, SSE, web UI) and domain routes. */
export async function buildApp(ctx: AppContext, options: BuildAppOptions): Promise<App> {
  const app: App = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: 5 * 1024 * 1024,
    trustProxy: true,
    // Per-request log lines would dominate the ping/ingest hot paths; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);

  await app.register(fastifyCookie);
  registerAuth(app);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Vigil API', version: '1', description: 'Monitoring and alerting: job checks and pings (Healthchecks-compatible), log ingest, search, statistics and archive, notification channels, maintenance windows, accounts.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    const ready = options.isReady?.() ?? true;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'starting', store: ctx.store.kind });
  });

  registerSse(app, ctx);
  await app.register(accountRoutes(ctx));
  for (const routes of options.routes) await app.register(routes(ctx));

  const hasWeb = existsSync(WEB_DIST);
  if (hasWeb) await app.register(fastifyStatic, { root: WEB_DIST, prefix: '/', wildcard: false });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    // Client-side routes of the single-page dashboard all load index.html.
    const isApi = /^\/(api|ping|healthz|loki|v1)(\/|$)/.test(path);
    if (hasWeb && request.method === 'GET' && !isApi && request.headers.accept?.includes('text/html')) return reply.sendFile('index.html');
    return reply.status(404).send({ error: { code: 'not_found', message: `No route for ${request.method} ${path}` } });
  });
  return app;
}
