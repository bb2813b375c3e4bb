import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';
import { bootstrap, type Org } from '../domains/accounts/index.js';
import { jobRoutes, pingRoutes, startSweeper } from '../domains/jobs/index.js';
import { logRoutes } from '../domains/logs/index.js';
import { notifyRoutes, startNotifier } from '../domains/notify/index.js';
import { LiveHub } from '../platform/live.js';
import { startLiveBridge } from '../platform/live-bridge.js';
import { migrateToLatest, openStore } from '../platform/store/index.js';
import type { Worker } from '../platform/worker.js';
import { buildApp } from './app.js';
import type { AppContext } from './context.js';

export interface RunningVigil {
  app: FastifyInstance;
  ctx: AppContext;
  org: Org;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Start an in-memory embedded store from this snapshot (tests; see openStore). */
  storeTemplate?: Blob;
  /** Start background workers (deadline sweeper, notifier). Default true. */
  workers?: boolean;
}

/** Opens the store, migrates, seeds the first organisation, starts workers and the HTTP server. */
export async function startVigil(config: Config, options: StartOptions = {}): Promise<RunningVigil> {
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL });
  const store = await openStore({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.VIGIL_DATA_DIR,
    template: options.storeTemplate,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection lost; the pool reconnects on next use'),
  });
  let ready = false;
  const workers: Worker[] = [];
  try {
    await migrateToLatest(store.db);
    const org = await bootstrap(store.db, {
      orgName: config.VIGIL_ORG_NAME,
      adminEmail: config.VIGIL_ADMIN_EMAIL,
      adminPassword: config.VIGIL_ADMIN_PASSWORD,
      adminToken: config.VIGIL_ADMIN_TOKEN,
    });
    const ctx: AppContext = { config, store, db: store.db, live: new LiveHub(), logger, baseUrl: config.VIGIL_BASE_URL ?? '' };
    const app = await buildApp(ctx, { routes: [pingRoutes, jobRoutes, notifyRoutes, logRoutes], isReady: () => ready });
    await app.listen({ port: config.PORT, host: config.HOST });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const url = `http://${host}:${port}`;
    ctx.baseUrl = (config.VIGIL_BASE_URL ?? url).replace(/\/+$/, '');
    // Several instances share one PostgreSQL: live updates travel between them by LISTEN/NOTIFY.
    if (store.kind === 'postgres' && config.DATABASE_URL) workers.push(await startLiveBridge(ctx.live, config.DATABASE_URL, logger));
    if (options.workers !== false) {
      workers.push(startSweeper(ctx), startNotifier(ctx));
    }
    const users = await store.db.selectFrom('users').select('id').limit(1).execute();
    if (users.length === 0) {
      logger.warn('No user can log in to the dashboard yet: restart with VIGIL_ADMIN_EMAIL and VIGIL_ADMIN_PASSWORD to create the first admin.');
    }
    ready = true;
    logger.info({ url, store: store.location }, 'Vigil is ready');
    let closing: Promise<void> | undefined;
    return {
      app,
      ctx,
      org,
      url,
      close: () =>
        (closing ??= (async () => {
          ready = false;
          await app.close();
          await Promise.all(workers.map((w) => w.stop()));
          await store.close();
        })()),
    };
  } catch (error) {
    await Promise.all(workers.map((w) => w.stop()));
    await store.close().catch(() => undefined);
    throw error;
  }
}
