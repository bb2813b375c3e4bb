/**
 * The layering rules of eslint.config.js bite: small snippets are linted as if they were files at
 * the given places in src (ESLint's Node API, the repository's own config), and each rule must
 * report the import it exists to forbid — and leave the allowed import next to it alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

/** The boundary/cycle problems ESLint reports for `code` placed at `file` (a path relative to the repo). */
async function boundaryProblems(code: string, file: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  const boundaryRules = ['import-x/no-cycle', 'import-x/no-restricted-paths', 'no-restricted-imports'];
  return (result?.messages ?? []).filter((m) => m.fatal || boundaryRules.includes(m.ruleId ?? '')).map(({ ruleId, message }) => ({ ruleId, message }));
}

describe('lint boundaries', () => {
  it('a domain importing the server layer is an error', async () => {
    const problems = await boundaryProblems(`import { buildApp } from '../../server/app.js';\nexport const app = buildApp;\n`, 'src/domains/jobs/x.ts');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/never import the server or CLI/);
  });

  it('a domain importing the CLI layer is an error', async () => {
    const problems = await boundaryProblems(`import { main } from '../../cli/main.js';\nexport const m = main;\n`, 'src/domains/notify/x.ts');
    expect(problems.map((p) => p.message).join('\n')).toMatch(/never import the server or CLI/);
  });

  it("a domain importing a deeper file of another domain is an error; that domain's index.ts is fine", async () => {
    const deep = await boundaryProblems(`import { pathOf } from '../logs/normalise.js';\nexport const b = pathOf;\n`, 'src/domains/jobs/x.ts');
    expect(deep).toEqual([expect.objectContaining({ ruleId: 'import-x/no-restricted-paths', message: expect.stringMatching(/only through its index\.ts/) })]);

    const viaIndex = await boundaryProblems(`import { AccessLogParser } from '../logs/index.js';\nexport const p = AccessLogParser;\n`, 'src/domains/jobs/x.ts');
    expect(viaIndex).toEqual([]);
    // Within its own domain a file imports whatever it needs.
    const ownDeep = await boundaryProblems(`import { validateCron } from './schedule.js';\nexport const n = validateCron;\n`, 'src/domains/jobs/x.ts');
    expect(ownDeep).toEqual([]);
  });

  it('the platform importing a domain is an error', async () => {
    const problems = await boundaryProblems(`import { AccessLogParser } from '../domains/logs/index.js';\nexport const p = AccessLogParser;\n`, 'src/platform/x.ts');
    expect(problems.map((p) => p.message).join('\n')).toMatch(/platform never imports a domain/);
  });

  it('contracts importing anything but zod and each other is an error', async () => {
    const problems = await boundaryProblems(`import { DomainError } from '../platform/errors.js';\nexport const e = DomainError;\n`, 'src/contracts/x.ts');
    expect(problems.map((p) => p.message).join('\n')).toMatch(/Contracts import only zod/);
  });

  describe('cycles', () => {
    // A real cycle needs real files: the rule follows imports on disk. Two files in a throwaway
    // folder inside src (so the repository's config applies to them), removed afterwards.
    const dir = mkdtempSync(join(root, 'src/platform/lint-fixture-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('two modules importing each other are an error', async () => {
      const a = `import { b } from './b.js';\nexport const a = (): number => b() + 1;\n`;
      writeFileSync(join(dir, 'a.ts'), a);
      writeFileSync(join(dir, 'b.ts'), `import { a } from './a.js';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n`);
      const problems = await boundaryProblems(a, `${dir.slice(root.length + 1)}/a.ts`);
      expect(problems).toEqual([expect.objectContaining({ ruleId: 'import-x/no-cycle' })]);
    });

    it('a one-way import is not a cycle', async () => {
      const c = `import { d } from './d.js';\nexport const c = (): number => d() + 1;\n`;
      writeFileSync(join(dir, 'c.ts'), c);
      writeFileSync(join(dir, 'd.ts'), `export const d = (): number => 1;\n`);
      expect(await boundaryProblems(c, `${dir.slice(root.length + 1)}/c.ts`)).toEqual([]);
    });
  });
});
