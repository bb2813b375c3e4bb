import { readFileSync } from 'node:fs';
import { sql, type Migration } from 'kysely';

/**
 * Every migration, in order: `<name>.sql` beside this file, the same SQL for PostgreSQL and PGlite.
 * Names are stored in `kysely_migration`; never rename one that shipped (the names are those of the
 * TypeScript migrations they replaced, so existing databases do not run them again).
 *
 * A file holds its description as leading comments, then `-- migrate:up` and `-- migrate:down`
 * sections, each run as one multi-statement script. The build copies the .sql files to dist/
 * (tsc does not), next to the compiled loader.
 */
export const MIGRATION_NAMES = [
  '001_initial',
  '002_log_events',
  '003_traffic_stats',
  '004_log_rejections',
  '005_login_throttle',
  '006_healthchecks',
  '007_stream_sources',
  '008_alert_manager',
  '009_alert_rules',
  '010_notify_channel_health',
  '011_mute_windows',
  '012_rule_evaluator_lease',
  '013_platform_admin',
  '014_shipments',
  '015_fraud',
  '016_shipment_arrivals',
  '017_shipment_watchers',
  '018_row_level_security',
  '019_system_role',
  '020_alert_records_immutable',
  '021_shipment_arrival_batches',
  '022_stream_counted',
] as const;

const UP = /^-- migrate:up[ \t]*$/m;
const DOWN = /^-- migrate:down[ \t]*$/m;

/** Splits a migration file into its up and down scripts. */
export function parseMigrationSql(name: string, text: string): { up: string; down: string } {
  const up = UP.exec(text);
  const down = DOWN.exec(text);
  if (!up || !down || down.index < up.index) throw new Error(`Migration ${name}.sql needs a '-- migrate:up' line followed by a '-- migrate:down' line`);
  return { up: text.slice(up.index + up[0].length, down.index).trim(), down: text.slice(down.index + down[0].length).trim() };
}

function sqlMigration(name: string): Migration {
  const { up, down } = parseMigrationSql(name, readFileSync(new URL(`./${name}.sql`, import.meta.url), 'utf8'));
  return {
    up: async (db) => void (await sql.raw(up).execute(db)),
    down: async (db) => void (await sql.raw(down).execute(db)),
  };
}

/** The migrations for Kysely's Migrator, read from their files when first asked for. */
export function loadMigrations(): Record<string, Migration> {
  return Object.fromEntries(MIGRATION_NAMES.map((name) => [name, sqlMigration(name)]));
}
