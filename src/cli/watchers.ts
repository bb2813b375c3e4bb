import type { Command } from 'commander';
import { watcherInput } from '../contracts/watchers.js';
import { UsageError, action, operatorName, withOperatorStore } from './operator.js';

/**
 * `vigil watcher add|list|remove`: shipment table watchers straight on the database (DATABASE_URL
 * or VIGIL_DATA_DIR, as `vigil org`), for platform administrators and scripts. The same checks as
 * the API: the table and every mapped column are looked up in the watched database.
 *
 * The connection URL usually holds a password: `--connection -` reads it from stdin, so that it
 * shows in no process list or shell history. Listings never print the password.
 *
 * Exit codes: 0 success, 1 refused by the store or the watched database (not found, a column that
 * does not exist…), 2 usage error.
 */

/** `a=b` pairs of repeated options into an object. */
function pairs(option: string, values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError(`${option} takes name=value, not ${v}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}
const collect = (value: string, previous: string[]) => [...previous, value];

async function readLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trim();
}

interface AddOptions {
  connection: string;
  table: string;
  map: string[];
  orderColumn: string;
  org?: string;
  orgColumn?: string;
  orgMap: string[];
  interval: string;
  batch: string;
  fromStart?: boolean;
  json?: boolean;
}

export function registerWatchers(program: Command): void {
  const watcher = program.command('watcher').description("Manage shipment table watchers of the platform's PostgreSQL (on the database directly)");

  watcher
    .command('add')
    .description('Watch a table for new shipments; prints the watcher')
    .argument('<name>', 'a name for the watcher')
    .requiredOption('--connection <url>', "the watched database's postgres:// URL, or '-' to read it from stdin (when it holds a password)")
    .requiredOption('--table <table>', 'schema.table (schema defaults to public)')
    .option('--map <field=column>', 'shipment field = column (repeat; external_id and created_at are required)', collect, [])
    .option('--order-column <column>', 'unique, indexed integer column that grows with inserts', 'id')
    .option('--org <org>', "every row is this organisation's (name or id)")
    .option('--org-column <column>', "the column naming each row's organisation (with --org-map)")
    .option('--org-map <value=org>', 'value of --org-column = organisation name or id (repeat)', collect, [])
    .option('--interval <ms>', 'poll interval in milliseconds', '1000')
    .option('--batch <rows>', 'rows per transaction', '5000')
    .option('--from-start', 'read every row already in the table (default: only rows inserted from now on)')
    .option('--json', 'print the watcher as JSON')
    .action(
      action('watcher add', async (name: string, opts: AddOptions) => {
        const columns = pairs('--map', opts.map);
        const orgValues = pairs('--org-map', opts.orgMap);
        if ((opts.org === undefined) === (opts.orgColumn === undefined)) throw new UsageError('give either --org, or --org-column with --org-map');
        const connection = opts.connection === '-' ? await readLine() : opts.connection;
        const { createWatcher } = await import('../domains/watchers/index.js');
        const { resolveOrg } = await import('../domains/accounts/index.js');
        const view = await withOperatorStore(async (db) => {
          const orgId = opts.org === undefined ? undefined : (await resolveOrg(db, opts.org)).id;
          const orgMap: Record<string, string> = {};
          for (const [value, org] of Object.entries(orgValues)) orgMap[value] = (await resolveOrg(db, org)).id;
          const parsed = watcherInput.safeParse({
            name,
            connection_url: connection,
            table: opts.table,
            order_column: opts.orderColumn,
            columns,
            ...(orgId ? { org_id: orgId } : { org_column: opts.orgColumn, org_map: orgMap }),
            poll_interval_ms: Number(opts.interval),
            batch_size: Number(opts.batch),
            start: opts.fromStart ? 'beginning' : 'end',
          });
          if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
          return createWatcher(db, { cli: operatorName() }, parsed.data);
        });
        process.stdout.write(opts.json ? `${JSON.stringify(view)}\n` : `${view.id}\t${view.name}\t${view.table}\n`);
      }),
    );

  watcher
    .command('list')
    .description('List watchers: id, name, table, rows stored, last error')
    .option('--json', 'print them as JSON')
    .action(
      action('watcher list', async (opts: { json?: boolean }) => {
        const { listWatchers } = await import('../domains/watchers/index.js');
        const watchers = await withOperatorStore((db) => listWatchers(db, { cli: operatorName() }));
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ watchers })}\n`
            : watchers.map((w) => `${w.id}\t${w.name}\t${w.table}\t${w.state.rows_stored}\t${w.state.last_error ?? '-'}\n`).join(''),
        );
      }),
    );

  watcher
    .command('remove')
    .description('Remove a watcher (the shipments it stored stay)')
    .argument('<watcher>', 'its name or id')
    .action(
      action('watcher remove', async (which: string) => {
        const { removeWatcher, resolveWatcher } = await import('../domains/watchers/index.js');
        await withOperatorStore(async (db) => removeWatcher(db, { cli: operatorName() }, await resolveWatcher(db, which)));
      }),
    );
}
