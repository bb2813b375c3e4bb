import { Command } from 'commander';
import { registerMigrate } from './migrate.js';
import { registerMonitor } from './monitor.js';
import { registerOrgs } from './orgs.js';
import { registerRun } from './run.js';
import { registerStart } from './start.js';
import { registerWatchers } from './watchers.js';

const program = new Command();
program.name('vigil').description('Vigil: job and log monitoring').version('0.1.0');
registerStart(program);
registerMigrate(program);
registerRun(program);
registerMonitor(program);
registerOrgs(program);
registerWatchers(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`vigil: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
