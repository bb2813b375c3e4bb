import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The dependency between the rules domain and the domains it follows points one way (eslint.config.js).
const root = resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });
const messages = async (code: string, file: string) => ((await eslint.lintText(code, { filePath: join(root, file) }))[0]?.messages ?? []).map((m) => m.message).join('\n');

describe('rules domain boundaries', () => {
  it('stream may not import rules; rules may import stream through its index', async () => {
    expect(await messages(`import { ruleRoutes } from '../rules/index.js';\nexport const r = ruleRoutes;\n`, 'src/domains/stream/x.ts')).toMatch(/never import the rules domain/);
    expect(await messages(`import { ruleRoutes } from '../rules/index.js';\nexport const r = ruleRoutes;\n`, 'src/domains/alerting/x.ts')).toMatch(/never import the rules domain/);
    expect(await messages(`import { watermarksOf } from '../stream/index.js';\nexport const w = watermarksOf;\n`, 'src/domains/rules/x.ts')).toBe('');
  });
});
