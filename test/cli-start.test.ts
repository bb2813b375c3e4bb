import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { VIGIL_BIN } from './support/process.js';

// `vigil start` as users run it (the built CLI), for what it refuses before anything starts.
const BUILT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function start(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [VIGIL_BIN, 'start', ...args], {
    env: { ...process.env, NATS_URL: '', DATABASE_URL: '', VIGIL_ROLES: '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error('test/cli-start.test.ts runs the built CLI (bin/vigil.js): run `npm run build` first');
});

describe('vigil start refuses a bad configuration with status 2, naming the setting', () => {
  it('a setting that is wrong on its own (a flag)', async () => {
    const { code, stderr } = await start(['--port', '99999']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^vigil start: Invalid configuration:\n {2}- PORT: /);
  });

  it('settings that do not fit together (found when the server is set up)', async () => {
    const { code, stderr } = await start(['--port', '0'], { VIGIL_INFLUX_URL: '', VIGIL_INFLUX_DB: 'metrics' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^vigil start: Invalid configuration:\n {2}- VIGIL_INFLUX_URL: not set, but VIGIL_INFLUX_DB is/);
  });
});
