import type { App, AppContext } from '../context.js';
import { principalOf, requireRole } from './auth.js';

/**
 * `GET /api/v1/events`: Server-Sent Events with the live updates of the caller's organisation.
 * A comment line every 15 s keeps proxies from closing an idle stream.
 */
export function registerSse(app: App, ctx: AppContext): void {
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
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    request.raw.on('close', close);
    app.addHook('onClose', async () => {
      close();
      res.end();
    });
  });
}
