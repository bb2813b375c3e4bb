import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIGRATION_NAMES, loadMigrations, parseMigrationSql } from './index.js';

describe('SQL migrations', () => {
  it('lists every .sql file of the folder, in order, and each has an up and a down script', () => {
    const files = readdirSync(new URL('./', import.meta.url)).filter((f) => f.endsWith('.sql'));
    expect(files.map((f) => f.replace(/\.sql$/, ''))).toEqual([...MIGRATION_NAMES]);
    for (const name of MIGRATION_NAMES) {
      const { up, down } = parseMigrationSql(name, readFileSync(new URL(`./${name}.sql`, import.meta.url), 'utf8'));
      expect(up, name).toMatch(/^(CREATE|ALTER|DO)\b/);
      expect(down, name).not.toBe('');
    }
    expect(Object.keys(loadMigrations())).toEqual([...MIGRATION_NAMES]);
  });

  it('refuses a file without its sections', () => {
    expect(() => parseMigrationSql('008_x', 'CREATE TABLE x (id int);')).toThrow(/migrate:up/);
    expect(() => parseMigrationSql('008_x', '-- migrate:down\nDROP TABLE x;\n-- migrate:up\nCREATE TABLE x (id int);')).toThrow(/migrate:up/);
    expect(parseMigrationSql('008_x', '-- about x\n-- migrate:up\nCREATE TABLE x (id int);\n\n-- migrate:down\nDROP TABLE x;\n')).toEqual({
      up: 'CREATE TABLE x (id int);',
      down: 'DROP TABLE x;',
    });
  });
});
