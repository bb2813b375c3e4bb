import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Start Vigil: store, API, dashboard and background workers in one process')
    .option('-p, --port <port>', 'HTTP port (env PORT, default 8080)')
    .option('--host <host>', 'address to listen on (env HOST, default 0.0.0.0)')
    .option('--data-dir <dir>', 'embedded store directory (env VIGIL_DATA_DIR, default ./.vigil)')
    .option('--database-url <url>', 'PostgreSQL URL instead of the embedded store (env DATABASE_URL)')
    .option('--nats-url <url>', 'NATS JetStream server for the event bus instead of the in-process one (env NATS_URL)')
    .option('--role <roles>', 'what this process runs: all, or a comma-separated list of web, ingest, process, notify (env VIGIL_ROLES)')
    .action(async (opts: { port?: string; host?: string; dataDir?: string; databaseUrl?: string; natsUrl?: string; role?: string }) => {
      let vigil;
      try {
        // Settings are checked twice: each on its own here, and how they fit together by startVigil.
        const config = loadConfig({ PORT: opts.port, HOST: opts.host, VIGIL_DATA_DIR: opts.dataDir, DATABASE_URL: opts.databaseUrl, NATS_URL: opts.natsUrl, VIGIL_ROLES: opts.role });
        // Loaded here, not at the top: other commands (vigil run) should not pay for the server stack.
        const { startVigil } = await import('../server/runtime.js');
        vigil = await startVigil(config);
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`vigil start: ${error.message}\n`);
          process.exit(2);
        }
        throw error;
      }
      process.stderr.write(`Vigil listening on ${vigil.url} (dashboard, API docs at ${vigil.url}/api/docs)\n`);
      const shutdown = (signal: string) => {
        process.stderr.write(`${signal} received, shutting down\n`);
        vigil.close().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`shutdown failed: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
