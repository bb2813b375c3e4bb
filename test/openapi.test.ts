/**
 * `/api/openapi.json` describes the whole API:
 * - it validates as OpenAPI 3;
 * - every route the app registers (except the dashboard's static files and the Swagger UI under
 *   /api/docs) declares a response schema for its success status — the type provider's serializer
 *   then checks every answer against it;
 * - a client generated from it (openapi-typescript + openapi-fetch) type-checks against a few real
 *   calls, which then run against a test server and get the typed answers.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validate } from '@readme/openapi-parser';
import type { RouteOptions } from 'fastify';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startTestServer, type TestServer } from './support/server.js';

const root = resolve(import.meta.dirname, '..');

/** URLs @fastify/static registers for the built dashboard (one route per file, and `/`). */
function dashboardFiles(): Set<string> {
  const dist = join(root, 'web/dist');
  const files = new Set<string>(['/']);
  try {
    for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.add('/' + relative(dist, join(entry.parentPath, entry.name)).split('\\').join('/'));
    }
  } catch {
    // no built dashboard: no static routes
  }
  return files;
}

/** A success status key of a fastify response schema: 200, 201, 204, 2XX or default. */
const isSuccessKey = (key: string) => /^(2\d\d|2xx|default)$/i.test(key);

/** Type-checks one file; returns its diagnostics as text. */
function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    skipLibCheck: true,
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, ' ');
  });
}

/**
 * Real calls written against the generated client. Each reads fields of the typed answer, so a
 * route whose answer the document does not describe fails to compile here.
 */
const CALLS = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export type Client = ReturnType<typeof createClient<paths>>;

export function client(baseUrl: string, apiKey: string): Client {
  return createClient<paths>({ baseUrl, headers: { 'x-api-key': apiKey } });
}

export async function createCheck(c: Client, name: string): Promise<{ id: string; name: string }> {
  const { data, error } = await c.POST('/api/v1/checks', { body: { name, tags: ['openapi'] } });
  if (!data) throw new Error('create check: ' + JSON.stringify(error));
  const id: string = data.id;
  const created: string = data.name;
  return { id, name: created };
}

export async function listChecks(c: Client): Promise<{ id: string; name: string }[]> {
  const { data, error } = await c.GET('/api/v1/checks', {});
  if (!data) throw new Error('list checks: ' + JSON.stringify(error));
  return data.checks.map((check) => ({ id: check.id, name: check.name }));
}

export async function ingestLogs(c: Client, events: { timestamp: string; message: string; service: string }[]): Promise<number> {
  // The intake reads raw bodies of several formats (JSON, NDJSON, access logs), so the document
  // declares no JSON request body for it: the body goes as JSON, untyped.
  const { data, error } = await c.POST('/api/v1/logs', { params: { query: { service: 'openapi' } }, body: events as never });
  if (!data) throw new Error('ingest: ' + JSON.stringify(error));
  const accepted: number = data.accepted;
  return accepted;
}

export async function searchLogs(c: Client, q: string): Promise<{ messages: string[]; next: string | null }> {
  const { data, error } = await c.GET('/api/v1/logs', { params: { query: { q, limit: 50 } } });
  if (!data) throw new Error('search: ' + JSON.stringify(error));
  const messages: string[] = data.events.map((event) => event.message);
  return { messages, next: data.next_cursor };
}
`;

interface Calls {
  client(baseUrl: string, apiKey: string): unknown;
  createCheck(c: unknown, name: string): Promise<{ id: string; name: string }>;
  listChecks(c: unknown): Promise<{ id: string; name: string }[]>;
  ingestLogs(c: unknown, events: { timestamp: string; message: string; service: string }[]): Promise<number>;
  searchLogs(c: unknown, q: string): Promise<{ messages: string[]; next: string | null }>;
}

describe('OpenAPI document', () => {
  let server: TestServer;
  let doc: Record<string, unknown>;
  const routes: RouteOptions[] = [];
  let dir: string | undefined;

  beforeAll(async () => {
    server = await startTestServer('pglite', {}, { onRoute: (route) => void routes.push(route) });
    doc = (await (await server.api('/api/openapi.json')).json()) as Record<string, unknown>;
  });
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await server?.dispose();
  });

  it('validates as OpenAPI 3', async () => {
    expect(String(doc.openapi)).toMatch(/^3\./);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors, 'OpenAPI validation errors').toEqual([]);
  });

  it('every route declares a response schema for its success status', () => {
    const statics = dashboardFiles();
    const checked = routes.filter((r) => !r.url.startsWith('/api/docs') && !statics.has(r.url));
    expect(checked.length).toBeGreaterThan(30);
    const missing = new Set<string>();
    for (const route of checked) {
      const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response ?? {};
      if (Object.keys(response).some(isSuccessKey)) continue;
      // fastify adds a HEAD twin for every GET; the GET is listed.
      const methods = [route.method].flat().filter((m) => m !== 'HEAD');
      for (const method of methods) missing.add(`${method} ${route.url}`);
    }
    expect([...missing], `routes without a response schema for their success status:\n  ${[...missing].join('\n  ')}\n`).toEqual([]);
  });

  it('a client generated from it type-checks against real calls, which get the typed answers', async () => {
    dir = mkdtempSync(join(root, 'test/.openapi-'));
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(doc as never)));
    writeFileSync(join(dir, 'calls.ts'), CALLS);
    const errors = typeErrors(join(dir, 'calls.ts'));
    expect(errors, `the generated client does not fit the calls:\n  ${errors.join('\n  ')}\n`).toEqual([]);

    const calls = (await import(pathToFileURL(join(dir, 'calls.ts')).href)) as Calls;
    const c = calls.client(server.url, ADMIN_TOKEN);
    const created = await calls.createCheck(c, 'nightly export');
    expect(created).toEqual({ id: expect.any(String), name: 'nightly export' });
    expect(await calls.listChecks(c)).toContainEqual(created);

    const now = Date.now();
    const events = [0, 1, 2].map((i) => ({ timestamp: new Date(now - i * 1000).toISOString(), message: `openapi client event ${i}`, service: 'openapi' }));
    expect(await calls.ingestLogs(c, events)).toBe(3);
    const found = await eventually(async () => {
      const answer = await calls.searchLogs(c, 'openapi client event');
      return answer.messages.length === 3 ? answer : undefined;
    });
    expect(found.messages.sort()).toEqual(events.map((e) => e.message).sort());
    expect(found.next).toBeNull();
  });
});
