// @ts-check
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

// Boundary rules resolve imports to files, so they speak in absolute paths (lint may run from any cwd).
const root = import.meta.dirname;
const domains = readdirSync(`${root}/src/domains`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** A domain reaches another domain only through that domain's index.ts (its public surface). */
const domainZones = domains.map((domain) => ({
  target: `${root}/src/domains/${domain}/**`,
  from: `${root}/src/domains/*/**`,
  except: [`${root}/src/domains/${domain}/**`, `${root}/src/domains/*/index.ts`],
  message: `A domain imports another domain only through its index.ts (src/domains/<name>/index.js), never a deeper file.`,
}));

export default tseslint.config(
  // test/.table-types-* and test/.openapi-*: files the tests generate (and remove) while they run.
  { ignores: ['scratch/**', 'dist/**', 'web/dist/**', 'node_modules/**', '.vigil/**', 'coverage/**', 'test/.table-types-*/**', 'test/.openapi-*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Import rules that need imports resolved to files (TypeScript's resolution: `./x.js` -> `./x.ts`).
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${root}/tsconfig.check.json` })],
    },
    rules: {
      // No module cycles anywhere in src: dependencies point one way (cli -> server -> domains -> platform),
      // and within a layer too (type-only imports are not followed: they vanish at run time).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: root,
          zones: [
            ...domainZones,
            {
              // The rule evaluator follows the stream processor and reports to the alert manager:
              // rules imports stream, logs and alerting (through their index.ts), never the reverse.
              target: ['stream', 'logs', 'alerting'].map((d) => `${root}/src/domains/${d}`),
              from: `${root}/src/domains/rules`,
              message: 'stream, logs and alerting never import the rules domain (rules depends on them).',
            },
            {
              target: `${root}/src/platform`,
              from: `${root}/src/domains`,
              message: 'The platform never imports a domain: domains build on the platform, not the other way round.',
            },
            {
              target: [`${root}/src/domains`, `${root}/src/platform`],
              from: [`${root}/src/server`, `${root}/src/cli`],
              message: 'Domains and the platform never import the server or CLI layer.',
            },
          ],
        },
      ],
    },
  },
  {
    // Dependencies point one way (cli -> server -> domains -> platform): a domain takes what it needs
    // from the platform (store, bus, http context, error answerer) and never reaches into the server.
    files: ['src/domains/**/*.ts', 'src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/*', '**/server/**', '**/cli/**'], message: 'Domains and the platform never import the server or CLI layer.' }] }],
    },
  },
  {
    // Contracts are shared with the browser bundle: zod and each other only.
    files: ['src/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '../**', 'node:*'], message: 'Contracts import only zod and each other (they are bundled into the web app).' }] }],
    },
  },
  {
    // React: the rules of hooks, and effects/memos that list what they read (a missing dependency
    // shows stale data; an extra one refetches for nothing).
    files: ['web/src/**/*.tsx', 'web/src/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
);
