import type { ServerResponse } from 'node:http';
import type { App, AppContext } from '../context.js';
import { principalOf, requireRole } from './auth.js';

/**
 * `GET /api/v1/events`: Server-Sent Events with the live updates of the caller's organisation.
 * A comment line every 15 s keeps proxies from closing an idle stream.
 */
export function registerSse(app: App, ctx: AppContext): void {
  const open = new Set<ServerResponse>();
  // An open stream never finishes by itself, and the HTTP server waits for every response to
  // finish before it closes: shutdown ends the streams first (browsers reconnect elsewhere).
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get('/api/v1/events', { schema: { tags: ['live'], summary: 'Live updates (Server-Sent Events)' }, preHandler: requireRole(ctx) }, (request, reply) => {
    const { orgId } = principalOf(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\nretry: 2000\n\n');
    const unsubscribe = ctx.live.subscribe(orgId, (event) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
    open.add(res);
    // 'close' comes both when the client goes away and when shutdown ends the stream.
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
    });
  });
}
