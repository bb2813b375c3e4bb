import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../platform/http/context.js';
import { pingRoutes } from './http/ping.js';
import { v1Routes } from './http/v1.js';
import { v3Routes } from './http/v3.js';
import { badgeRoutes } from './http/badge.js';
import { resolveRemoteChecks } from './live.js';

/** Check management: Vigil's API (/api/v1/checks, /api/v1/maintenance), the Healthchecks API (v3, v2, and v1 under /hc) and status badges. */
export function jobRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  resolveRemoteChecks(ctx);
  return async (app) => {
    await app.register(v1Routes(ctx));
    await app.register(v3Routes(ctx));
    await app.register(badgeRoutes(ctx));
  };
}

export { pingRoutes };
export { startSweeper, sweepDue } from './sweeper.js';
export { recordPing, type PingRequest } from './pings.js';

