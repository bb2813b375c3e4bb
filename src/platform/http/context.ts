import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { LiveHub } from '../live.js';
import type { Db, Store } from '../store/index.js';

/** What route plugins get: settings, the store and the live hub. Nothing domain-specific. */
export interface AppContext {
  config: Config;
  store: Store;
  db: Db;
  live: LiveHub;
  logger: Logger;
  /** Public base URL for links (ping URLs, e-mails): VIGIL_BASE_URL, else the address the server listens on. */
  baseUrl: string;
}

/** The fastify instance type every plugin of ours receives (zod type provider). */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
