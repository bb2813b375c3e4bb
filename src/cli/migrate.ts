import type { Command } from 'commander';
import { loadConfig } from '../config.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply database migrations (also done at every start)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const { migrateToLatest, openStore } = await import('../platform/store/index.js');
      const store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.VIGIL_DATA_DIR });
      try {
        const result = await migrateToLatest(store.db);
        const applied = (result.results ?? []).map((r) => r.migrationName);
        if (opts.json) process.stdout.write(`${JSON.stringify({ store: store.location, applied })}\n`);
        else process.stdout.write(applied.length ? `Applied ${applied.join(', ')} to ${store.location}\n` : `${store.location} is up to date\n`);
      } finally {
        await store.close();
      }
    });
}
