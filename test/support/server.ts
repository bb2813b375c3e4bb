import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { startVigil, type RunningVigil, type StartOptions } from '../../src/server/runtime.js';
import { migrateToLatest, openStore, type Store } from '../../src/platform/store/index.js';

/** The stores every integration test runs against: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export type StoreKind = 'pglite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['pglite', 'postgres'];
export const storeAvailable = (kind: StoreKind) => kind === 'pglite' || Boolean(TEST_DATABASE_URL);

/** The three ways Vigil stores and carries events: a test runs once per deployment its machine has. */
export interface Deployment {
  name: string;
  kind: StoreKind;
  /** Events travel over NATS JetStream (NATS_URL) instead of the in-process bus. */
  nats: boolean;
}
export const DEPLOYMENTS: Deployment[] = [
  { name: 'PGlite, in-process bus', kind: 'pglite', nats: false },
  { name: 'PostgreSQL, in-process bus', kind: 'postgres', nats: false },
  { name: 'PostgreSQL, NATS JetStream', kind: 'postgres', nats: true },
];
export const deploymentAvailable = (d: Deployment) => storeAvailable(d.kind) && (!d.nats || Boolean(process.env.NATS_URL));

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'correct horse battery';

/**
 * A fresh, empty PostgreSQL database for one test file (created from TEST_DATABASE_URL, dropped
 * by the returned cleanup), so files run in parallel without seeing each other's rows.
 */
export async function freshPostgresDatabase(baseUrl = TEST_DATABASE_URL): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!baseUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `vigil_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * A migrated store with no tenant context required (`untenanted: 'system'`): in memory for PGlite,
 * a fresh database for PostgreSQL. `close` closes it and drops that database.
 */
export async function freshStore(kind: StoreKind, logger = pino({ level: 'silent' })): Promise<{ store: Store; close: () => Promise<void> }> {
  const database = kind === 'postgres' ? await freshPostgresDatabase() : undefined;
  const store = await openStore({ untenanted: 'system', databaseUrl: database?.url, dataDir: 'memory://', logger });
  await migrateToLatest(store.db);
  return {
    store,
    close: async () => {
      await store.close();
      await database?.drop();
    },
  };
}

export interface TestServer extends RunningVigil {
  config: Config;
  /** fetch against the server with the admin API key. */
  api(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  /** Stops the server and drops its database. */
  dispose(): Promise<void>;
}

/** The migrated PGlite snapshot written by test/support/global-setup.ts, if there is one. */
async function pgliteTemplate(): Promise<Blob | undefined> {
  const path = process.env.VIGIL_TEST_PGLITE_TEMPLATE;
  return path && existsSync(path) ? new Blob([await readFile(path)]) : undefined;
}

/** Starts a real Vigil server on a random loopback port against the given store. */
export async function startTestServer(kind: StoreKind, env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
  const pgdb = kind === 'postgres' ? await freshPostgresDatabase() : undefined;
  const config = loadConfig(
    {},
    {
      PORT: '0',
      HOST: '127.0.0.1',
      VIGIL_DATA_DIR: 'memory://',
      ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
      VIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      VIGIL_ADMIN_EMAIL: ADMIN_EMAIL,
      VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      VIGIL_ALLOW_PRIVATE_WEBHOOKS: 'true',
      VIGIL_SWEEP_INTERVAL_MS: '200',
      VIGIL_NOTIFY_INTERVAL_MS: '200',
      LOG_LEVEL: 'silent',
      ...env,
    },
  );
  // Tests seed and read rows through ctx.db directly: outside any tenant context that is the bypass
  // here (the application's own paths still run in theirs; a real `vigil` process denies).
  const vigil = await startVigil(config, { logger: pino({ level: config.LOG_LEVEL }), storeTemplate: await pgliteTemplate(), untenanted: 'system', ...options });
  return {
    ...vigil,
    config,
    api(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key !== null) headers.set('x-api-key', key ?? ADMIN_TOKEN);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(vigil.url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
    },
    async dispose() {
      await vigil.close();
      await pgdb?.drop();
    },
  };
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
