/**
 * The hand-written table types (test/support/tables.ts) match the database the migrations build:
 * a fresh database is migrated, kysely-codegen writes its types, and the TypeScript compiler
 * checks, table by table and column by column, that
 * - the same tables and the same columns exist on both sides;
 * - each column's nullability is the same;
 * - each hand-written column type (as selected) is assignable to the generated one — a
 *   string-literal union narrowing a text column is fine, a number for a text column is not.
 * A second unit runs the same checks on deliberately drifted types and expects them to fail.
 *
 * Mapped on purpose (what the drivers really return, which the generator cannot know):
 * int8 is a string on PostgreSQL (store.ts keeps it exact) and a number on PGlite; bytea is a
 * Buffer (PostgreSQL) or a Uint8Array (PGlite); json/jsonb has the shape the code gives it, so only
 * its nullability is checked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate, PostgresDialect as CodegenPostgresDialect } from 'kysely-codegen';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore } from '../src/platform/store/index.js';
import { TEST_DATABASE_URL, freshPostgresDatabase } from './support/server.js';

const root = resolve(import.meta.dirname, '..');

interface DbColumn {
  table: string;
  column: string;
  nullable: boolean;
}

/** A TypeScript identifier made of a table and column name (both are snake_case SQL identifiers). */
const label = (...parts: string[]) => parts.join('__');

/**
 * The assertion module: every check is one `type` line whose name says what it checks, so a
 * compiler error on that line reads as "checks__status__nullability" and so on.
 */
function assertionModule(handImport: string, columns: DbColumn[]): string {
  const tables = [...new Set(columns.map((c) => c.table))];
  const lines = [
    `import type { Selectable } from 'kysely';`,
    `import type { DB } from './db.js';`,
    handImport,
    `type Ok<T extends true> = T;`,
    `type None<T extends never> = T;`,
    `type Table<T extends string> = T extends keyof Hand ? Hand[T] : never;`,
    `type Declared<T extends string, C extends string> = [T] extends [keyof Hand] ? (C extends keyof Table<T> ? true : false) : false;`,
    `type HandCol<T extends string, C extends string> = C extends keyof Selectable<Table<T>> ? Selectable<Table<T>>[C] : never;`,
    `type DbCol<T extends keyof DB, C extends string> = C extends keyof Selectable<DB[T]> ? Selectable<DB[T]>[C] : never;`,
    `type Nullable<X> = null extends X ? true : false;`,
    `type Assignable<A, B> = [A] extends [never] ? true : [A] extends [B] ? true : false;`,
    `type Is<A extends boolean, B extends boolean> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;`,
    `export type tables_missing_from_types = None<Exclude<keyof DB, keyof Hand>>;`,
    `export type tables_not_in_database = None<Exclude<keyof Hand, keyof DB>>;`,
  ];
  for (const table of tables) {
    lines.push(`export type ${label(table, 'columns_not_in_database')} = None<Exclude<keyof Table<'${table}'>, keyof DB['${table}']>>;`);
  }
  for (const { table, column, nullable } of columns) {
    lines.push(`export type ${label(table, column, 'declared')} = Ok<Declared<'${table}', '${column}'>>;`);
    lines.push(`export type ${label(table, column, 'nullability')} = Ok<Is<Nullable<HandCol<'${table}', '${column}'>>, ${nullable}>>;`);
    lines.push(`export type ${label(table, column, 'type')} = Ok<Assignable<HandCol<'${table}', '${column}'>, DbCol<'${table}', '${column}'>>>;`);
  }
  return lines.join('\n') + '\n';
}

/** What a failed check means, in words (the compiler only says `false` is not `true`). */
function explain(check: string, compilerText: string): string {
  if (check.endsWith('__declared')) return 'the database has this column, the hand-written types do not';
  if (check.endsWith('__nullability')) return 'nullable in one, NOT NULL in the other';
  if (check.endsWith('__type')) return "the hand-written column type (as selected) is not assignable to the database's";
  return compilerText; // None<...>: the compiler names the extra tables or columns
}

/** Compiles the given files together; returns, per file, the names of the checks that failed. */
function failedChecks(dir: string, files: string[]): Map<string, string[]> {
  // The project's own compiler options: the hand-written types pull in domain code (through the
  // domains' index files), which must compile as it does in `npm run typecheck`.
  const project = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.check.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram(
    files.map((f) => join(dir, f)),
    { ...project?.options, noEmit: true, skipLibCheck: true },
  );
  const failed = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? d.file.fileName.slice(dir.length + 1) : '(no file)';
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    let what = text;
    if (d.file && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const source = d.file.text.split('\n')[line] ?? '';
      const name = /^export type (\w+)/.exec(source)?.[1];
      what = name ? `${name}: ${explain(name, text)}` : `line ${line + 1}: ${text}`;
    }
    (failed.get(file) ?? failed.set(file, []).get(file)!).push(what);
  }
  return failed;
}

describe('table types', () => {
  let dir: string;
  let columns: DbColumn[];
  /** Failed checks per compiled file. */
  let failed: Map<string, string[]>;
  let cleanup = async () => {};

  beforeAll(async () => {
    // PostgreSQL when the test has one; PGlite (the same SQL) otherwise, so the check never skips.
    const pgdb = TEST_DATABASE_URL ? await freshPostgresDatabase() : undefined;
    const store = await openStore({ untenanted: 'system', dataDir: 'memory://', ...(pgdb ? { databaseUrl: pgdb.url } : {}) });
    cleanup = async () => {
      await store.close();
      await pgdb?.drop();
    };
    await migrateToLatest(store.db);
    const tables = await store.db.introspection.getTables();
    columns = tables
      .filter((t) => !t.name.startsWith('kysely_'))
      .flatMap((t) => t.columns.map((c) => ({ table: t.name, column: c.name, nullable: c.isNullable })));
    // A folder inside the repository, so the generated files resolve `kysely` and test/support.
    dir = mkdtempSync(join(root, 'test/.table-types-'));
    await generate({
      // kysely-codegen brings its own copy of Kysely: the same API, a different class to the compiler.
      db: store.db as unknown as Parameters<typeof generate>[0]['db'],
      dialect: new CodegenPostgresDialect(),
      outFile: join(dir, 'db.ts'),
      excludePattern: 'kysely_*',
      typeMapping: { int8: 'string | number', bytea: 'Uint8Array', json: 'unknown', jsonb: 'unknown' },
      logger: undefined,
      print: false,
    });
    writeFileSync(join(dir, 'assert-tables.ts'), assertionModule(`import type { AllTables as Hand } from '../support/tables.js';`, columns));
    // Drift of each kind the check must catch: a nullable column declared NOT NULL, a column the
    // database lacks, a column left out, a column of the wrong type, a table the database lacks.
    writeFileSync(
      join(dir, 'drifted.ts'),
      `import type { AllTables } from '../support/tables.js';
export type Drifted = Omit<AllTables, 'checks' | 'orgs'> & {
  checks: Omit<AllTables['checks'], 'last_ping_at' | 'name'> & { last_ping_at: Date; not_a_column: string };
  orgs: Omit<AllTables['orgs'], 'ping_key'> & { ping_key: number };
  not_a_table: { id: string };
};
`,
    );
    writeFileSync(join(dir, 'assert-drifted.ts'), assertionModule(`import type { Drifted as Hand } from './drifted.js';`, columns));
    failed = failedChecks(dir, ['assert-tables.ts', 'assert-drifted.ts']);
  });
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cleanup();
  });

  it('the hand-written table types match the migrated database', () => {
    expect(failed.get('assert-tables.ts'), 'hand-written table types (test/support/tables.ts) differ from the database').toEqual([]);
    // Any other file with errors (e.g. a table declaration that no longer compiles) is shown with its messages.
    const elsewhere = Object.fromEntries([...failed].filter(([file]) => !file.startsWith('assert-')));
    expect(elsewhere, 'errors in files other than the assertions').toEqual({});
  });

  it('the same checks fail on drifted table types, one failure per kind of drift', () => {
    // Failures the real types have too are not the drift's (the unit above reports those).
    const real = new Set((failed.get('assert-tables.ts') ?? []).map((f) => f.split(':')[0]));
    const drift = (failed.get('assert-drifted.ts') ?? []).map((f) => f.split(':')[0]).filter((name) => !real.has(name));
    expect(new Set(drift)).toEqual(
      new Set(['checks__last_ping_at__nullability', 'checks__columns_not_in_database', 'checks__name__declared', 'orgs__ping_key__type', 'tables_not_in_database']),
    );
  });
});
