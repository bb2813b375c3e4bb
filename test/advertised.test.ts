import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIGIL_BIN } from './support/process.js';
import { startTestServer, type TestServer } from './support/server.js';

// What Vigil says it does (the OpenAPI description, the CLI help) names only what it has: every
// feature the description names is backed by a route. (Fraud criteria were once advertised before any
// route existed; they are now served under /api/v1/fraud.)
const BUILT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

interface OpenApiDoc {
  info: { description?: string };
  paths: Record<string, Record<string, unknown>>;
}

describe('the OpenAPI document', () => {
  let server: TestServer;
  let doc: OpenApiDoc;
  beforeAll(async () => {
    server = await startTestServer('pglite');
    doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as OpenApiDoc;
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  it('backs every feature its description names with routes', () => {
    const description = doc.info.description ?? '';
    // Each phrase of the description, and a route that serves it (method and path).
    const served: Record<string, [method: string, path: string]> = {
      'job checks': ['get', '/api/v1/checks'],
      pings: ['get', '/api/v1/checks/{id}/pings'],
      'Healthchecks-compatible': ['post', '/api/v3/checks/'],
      'log ingest': ['post', '/api/v1/logs'],
      search: ['get', '/api/v1/logs'],
      statistics: ['get', '/api/v1/stats'],
      archive: ['get', '/api/v1/archive'],
      'notification channels': ['post', '/api/v1/channels'],
      'maintenance windows': ['post', '/api/v1/maintenance'],
      accounts: ['get', '/api/v1/me'],
      'shipment intake': ['post', '/api/v1/shipments'],
      'fraud criteria': ['post', '/api/v1/fraud/criteria'],
      'fraud alert inbox': ['get', '/api/v1/fraud/alerts'],
    };
    for (const [phrase, [method, path]] of Object.entries(served)) {
      expect(description, `the description names ${phrase}`).toContain(phrase);
      expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} (for "${phrase}")`).toBeDefined();
    }
  });
});

describe('the CLI help', () => {
  beforeAll(() => {
    if (!existsSync(BUILT)) throw new Error('test/advertised.test.ts runs the built CLI (bin/vigil.js): run `npm run build` first');
  });
  const help = (...args: string[]) => execFileSync(process.execPath, [VIGIL_BIN, ...args, '--help'], { encoding: 'utf8' });

  it('advertises only the commands and features that exist', () => {
    const main = help();
    expect(main).toContain('Vigil: job and log monitoring');
    const commands = [...main.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
    expect(commands).toEqual(expect.arrayContaining(['start', 'migrate', 'run', 'monitor']));
    for (const command of ['start', 'migrate', 'run', 'monitor']) expect(help(command)).toContain('Usage');
  });
});
