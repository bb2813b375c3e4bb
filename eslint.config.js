// @ts-check
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['scratch/**', 'dist/**', 'web/dist/**', 'node_modules/**', '.vigil/**', 'coverage/**'] },
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
