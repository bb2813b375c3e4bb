import { userInfo } from 'node:os';
import { loadConfig, ConfigError, type Config } from '../config.js';
import type { Db } from '../platform/store/index.js';

/**
 * What the operator's commands that act straight on the database (`vigil org`, `vigil user`,
 * `vigil watcher`) share: who runs them, the store they open (DATABASE_URL or VIGIL_DATA_DIR,
 * migrated first, as at every start) and the Unix exit codes — 0 success, 1 refused by the store,
 * 2 usage error — with the message on stderr.
 */

/** A mistake in how the command was called (exit 2). */
export class UsageError extends Error {}

/** The login name the admin action log records the command under (`cli:<name>`). */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/**
 * Opens the store, migrates it and runs `work` across organisations: the operator acts on the
 * whole installation, like a platform administrator (a documented bypass of row-level security).
 */
export async function withOperatorStore<T>(work: (db: Db, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { asSystem, migrateToLatest, openStore } = await import('../platform/store/index.js');
  const store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.VIGIL_DATA_DIR });
  try {
    await migrateToLatest(store.db);
    return await asSystem("the operator's CLI acts on every organisation", () => work(store.db, config));
  } finally {
    await store.close();
  }
}

/** Runs a command's action: maps failures to the exit codes above, with the message on stderr. */
export function action<A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (error) {
      const usage = error instanceof UsageError || error instanceof ConfigError;
      process.stderr.write(`vigil ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = usage ? 2 : 1;
    }
  };
}
