import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { errorEnvelope } from '../../contracts/errors.js';
import { credentialOf, credentialStillValid, type Principal } from '../../domains/accounts/index.js';
import type { App, AppContext } from '../../platform/http/context.js';
import { principalOf, requireRole } from '../../domains/accounts/index.js';

export interface SseTiming {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /**
   * How often each stream asks whether its credential still holds. Revocations and log-outs end
   * streams at once through the live hub; this catches what no announcement says (a session that
   * expired, an announcement lost while the database was away).
   */
  revalidateMs: number;
}

export const SSE_TIMING: SseTiming = { heartbeatMs: 15_000, revalidateMs: 60_000 };

/**
 * `GET /api/v1/events`: Server-Sent Events with the live updates of the caller's organisation.
 * A stream ends when the API key or session it was opened with is revoked or logged out.
 */
export function registerSse(app: App, ctx: AppContext, timing: SseTiming = SSE_TIMING): void {
  const open = new Map<ServerResponse, Principal>();
  // An open stream never finishes by itself, and the HTTP server waits for every response to
  // finish before it closes: shutdown ends the streams first (browsers reconnect elsewhere).
  app.addHook('preClose', async () => {
    for (const res of open.keys()) res.end();
  });
  const stopListening = ctx.live.onCredentialRevoked((credential) => {
    for (const [res, principal] of open) if (credentialOf(principal) === credential) res.end();
  });
  app.addHook('onClose', async () => stopListening());

  const liveSchema = {
    tags: ['live'],
    summary: 'Live updates (Server-Sent Events)',
    response: {
      200: z.string().describe('text/event-stream: `event: <type>` and `data: <JSON>` per update, comment lines as heartbeats'),
      401: errorEnvelope,
      403: errorEnvelope,
    },
  };
  app.get('/api/v1/events', { schema: liveSchema, preHandler: requireRole(ctx) }, (request, reply) => {
    const principal = principalOf(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\nretry: 2000\n\n');
    const unsubscribe = ctx.live.subscribe(principal.orgId, (event) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), timing.heartbeatMs);
    const revalidate = setInterval(() => {
      credentialStillValid(ctx.db, principal).then(
        (valid) => {
          if (!valid) res.end();
        },
        // The database being away is no reason to cut a dashboard off; the next round asks again.
        (error: unknown) => ctx.logger.debug({ err: error }, 'live stream: could not check its credential'),
      );
    }, timing.revalidateMs);
    open.set(res, principal);
    // 'close' comes both when the client goes away and when the server ends the stream.
    res.on('close', () => {
      clearInterval(heartbeat);
      clearInterval(revalidate);
      unsubscribe();
      open.delete(res);
    });
  });
}
