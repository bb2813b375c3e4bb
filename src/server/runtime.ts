import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ConfigError, retiredSettingsIn, type Config } from '../config.js';
import { anyUserExists, bootstrap, type Org } from '../domains/accounts/index.js';
import { alertingRoutes, reportConditions, startAlertFlusher, startAlertLive } from '../domains/alerting/index.js';
import { fraudRoutes, startFraudDetector } from '../domains/fraud/index.js';
import { jobRoutes, pingRoutes, startSweeper } from '../domains/jobs/index.js';
import { LOG_TOPIC, archiveRoutes, logIngestRoutes, logSearchRoutes, startRetention } from '../domains/logs/index.js';
import { openBus, type EventBus } from '../platform/bus/index.js';
import { notifyRoutes, startNotifier } from '../domains/notify/index.js';
import { ruleRoutes, startRulesEvaluator, type ReportPort } from '../domains/rules/index.js';
import { shipmentRoutes } from '../domains/shipments/index.js';
import { startShipmentWatchers, watcherRoutes } from '../domains/watchers/index.js';
import { TRAFFIC_CONSUMER, influxTarget, relayTrafficUpdates, startInfluxSink, startStreamProcessor, statisticsPruner, statisticsPurger, statsRoutes } from '../domains/stream/index.js';
import { LiveHub } from '../platform/live.js';
import { startLiveBridge } from '../platform/live-bridge.js';
import { asSystem, migrateToLatest, openStore } from '../platform/store/index.js';
import type { Worker } from '../platform/worker.js';
import { buildApp, type BuildAppOptions } from './app.js';
import type { AppContext } from '../platform/http/context.js';

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
  /** Told of every HTTP route as it is registered (tests). */
  onRoute?: BuildAppOptions['onRoute'];
  /**
   * What queries outside any tenant context see (src/platform/store/tenancy.ts): `deny` (default)
   * or `system`, for tests that seed and read rows through `ctx.db` directly.
   */
  untenanted?: 'deny' | 'system';
  /** Where the rule evaluator's reports go (tests record them on their way); default: the alert manager's reportConditions. */
  ruleReports?: ReportPort;
}

/** Refuses, before anything starts, deployments that would lose or never process data or that are misconfigured. */
function checkDeployment(config: Config): void {
  influxTarget(config); // throws a ConfigError naming the InfluxDB settings that do not fit together
  const roles = new Set(config.VIGIL_ROLES);
  const problems: string[] = [];
  if (roles.size < 4 && !config.DATABASE_URL) problems.push('VIGIL_ROLES: split roles share one database; set DATABASE_URL to a PostgreSQL server (the embedded store belongs to one process)');
  if (roles.has('ingest') !== roles.has('process') && !config.NATS_URL) {
    problems.push('VIGIL_ROLES: ingest and process run in different processes only over NATS JetStream; set NATS_URL, or run both roles here');
  }
  if (problems.length) throw new ConfigError(problems);
}

/** Opens the store, migrates, seeds the first organisation, starts workers and the HTTP server. */
export async function startVigil(config: Config, options: StartOptions = {}): Promise<RunningVigil> {
  checkDeployment(config);
  const roles = new Set(config.VIGIL_ROLES);
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL });
  const store = await openStore({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.VIGIL_DATA_DIR,
    template: options.storeTemplate,
    untenanted: options.untenanted,
    // Outages are logged once each (lost connections, recovery); requests meanwhile get 503s.
    logger,
  });
  let ready = false;
  const workers: Worker[] = [];
  let bus: EventBus | undefined;
  let app: FastifyInstance | undefined;
  try {
    await migrateToLatest(store.db);
    const org = await asSystem('start-up: make sure the first organisation and admin exist', () =>
      bootstrap(store.db, {
      orgName: config.VIGIL_ORG_NAME,
      adminEmail: config.VIGIL_ADMIN_EMAIL,
      adminPassword: config.VIGIL_ADMIN_PASSWORD,
      adminToken: config.VIGIL_ADMIN_TOKEN,
      }),
    );
    const ctx: AppContext = { config, store, db: store.db, live: new LiveHub(), logger, baseUrl: config.VIGIL_BASE_URL ?? '' };
    // The bus is opened by ingest and process roles; the processor's consumer is declared so that
    // JetStream keeps every event for it even while no processor is running.
    if (roles.has('ingest') || roles.has('process')) {
      bus = await openBus({
        natsUrl: config.NATS_URL,
        logger,
        consumers: [{ topic: LOG_TOPIC, name: TRAFFIC_CONSUMER }],
        streamName: config.VIGIL_NATS_STREAM,
        subjectPrefix: config.VIGIL_NATS_STREAM.toLowerCase(),
      });
    }
    const ingestBus = bus;
    const routes = [
      ...(roles.has('ingest') && ingestBus ? [pingRoutes, (c: AppContext) => logIngestRoutes(c, ingestBus)] : []),
      ...(roles.has('web') ? [jobRoutes, notifyRoutes, alertingRoutes, logSearchRoutes, archiveRoutes, statsRoutes, ruleRoutes, shipmentRoutes, fraudRoutes, watcherRoutes] : []),
    ];
    const server = await buildApp(ctx, { routes, isReady: () => ready, ...(options.onRoute ? { onRoute: options.onRoute } : {}) });
    app = server;
    await server.listen({ port: config.PORT, host: config.HOST });
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const url = `http://${host}:${port}`;
    ctx.baseUrl = (config.VIGIL_BASE_URL ?? url).replace(/\/+$/, '');
    // Several instances share one PostgreSQL: live updates travel between them by LISTEN/NOTIFY.
    if (store.kind === 'postgres' && config.DATABASE_URL) workers.push(await startLiveBridge(ctx.live, config.DATABASE_URL, logger));
    if (roles.has('web')) relayTrafficUpdates(ctx.live);
    if (roles.has('process') && bus) {
      const timing = { outOfOrderMs: config.VIGIL_STATS_OUT_OF_ORDER_MS, latenessMs: config.VIGIL_STATS_LATENESS_MS, idleMs: config.VIGIL_STATS_IDLE_MS, maxSources: config.VIGIL_STATS_MAX_SOURCES };
      workers.push(await startStreamProcessor({ store, bus, live: ctx.live, logger, timing }));
      // The rule evaluator follows the processor's watermark, so it runs where the processor runs.
      const report: ReportPort = options.ruleReports ?? ((trx, reports, now) => reportConditions(trx, reports, now, { baseUrl: ctx.baseUrl }));
      if (options.workers !== false) {
        workers.push(
          startRulesEvaluator({
            db: store.db,
            logger,
            report,
            toleranceMs: config.VIGIL_RULES_OUTAGE_TOLERANCE_MS,
            idleGraceMs: config.VIGIL_RULES_IDLE_GRACE_MS,
            intervalMs: config.VIGIL_RULES_INTERVAL_MS,
            maxInstances: config.VIGIL_RULES_MAX_INSTANCES,
            latenessMs: config.VIGIL_STATS_LATENESS_MS,
          }),
        );
      }
    }
    if (options.workers !== false) {
      if (roles.has('process')) workers.push(startSweeper(ctx, ctx.config.VIGIL_SWEEP_INTERVAL_MS), startRetention({ ...ctx, pruneStatistics: statisticsPruner(ctx), statistics: statisticsPurger(ctx) }));
      // The alert manager's timers (group wait, interval, repeat) live in the store: any instance may flush them.
      if (roles.has('process')) workers.push(startAlertFlusher(ctx, ctx.config.VIGIL_ALERT_INTERVAL_MS));
      // New shipments: woken by intakes of this process, polling for those of other processes.
      if (roles.has('process')) workers.push(startFraudDetector({ store, logger, baseUrl: ctx.baseUrl, chunk: ctx.config.VIGIL_FRAUD_CHUNK, lanes: ctx.config.VIGIL_FRAUD_LANES }));
      // Shipment table watchers: one process reads each watcher (a lease), any process may.
      if (roles.has('process')) workers.push(startShipmentWatchers({ store, logger }));
      if (roles.has('web')) workers.push(startAlertLive(ctx, ctx.config.VIGIL_ALERT_INTERVAL_MS));
      if (roles.has('notify')) workers.push(startNotifier(ctx));
      const influxSink = roles.has('process') ? startInfluxSink(ctx) : undefined;
      if (influxSink) workers.push(influxSink);
    }
    if (!(await asSystem('start-up: can anyone log in yet', () => anyUserExists(store.db)))) {
      logger.warn('No user can log in to the dashboard yet: restart with VIGIL_ADMIN_EMAIL and VIGIL_ADMIN_PASSWORD to create the first admin.');
    }
    for (const warning of retiredSettingsIn()) logger.warn(warning);
    ready = true;
    logger.info({ url, store: store.location }, 'Vigil is ready');
    let closing: Promise<void> | undefined;
    return {
      app: server,
      ctx,
      org,
      url,
      close: () =>
        (closing ??= (async () => {
          ready = false;
          await server.close();
          // Drain the bus before stopping its consumer: queued events are processed, not dropped.
          await bus?.close();
          await Promise.all(workers.map((w) => w.stop()));
          await store.close();
        })()),
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await Promise.all(workers.map((w) => w.stop()));
    await store.close().catch(() => undefined);
    throw error;
  }
}
