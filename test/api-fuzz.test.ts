import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';

/**
 * Fuzzes every route of the running app (enumerated from it, so new routes are covered without
 * touching this file) with hostile path parameters, query parameters and bodies, as the admin and
 * unauthenticated: no answer may be a 5xx, and every answer must arrive.
 *
 * - A deterministic sweep first: every route and method with NUL, a lone surrogate, invalid UTF-8
 *   and a huge value in every parameter and body field it documents.
 * - Then a fast-check run: random seed (printed on failure with the path to replay it), 300 requests
 *   by default. Locally: `VIGIL_FUZZ_RUNS=20000 npx vitest run test/api-fuzz.test.ts`, and
 *   `VIGIL_FUZZ_SEED=<seed>` to replay a failure.
 */

const RUNS = Number(process.env.VIGIL_FUZZ_RUNS ?? 300);
const SEED = process.env.VIGIL_FUZZ_SEED === undefined ? undefined : Number(process.env.VIGIL_FUZZ_SEED);
/** An answer slower than this is a hang (generous: the machine is shared). */
const ANSWER_TIMEOUT_MS = 20_000;

interface Schema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  minLength?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  items?: Schema;
  default?: unknown;
}

interface Route {
  method: string;
  /** fastify syntax: `/api/v1/checks/:id`, `/ping/*`. */
  path: string;
  query: string[];
  body: string[];
  /** Query parameters and body fields that take any text: where a hostile string passes validation. */
  freeQuery: string[];
  bodySchema: Schema | undefined;
}

/** `printRoutes({ commonPrefix: false })` as (method, path) pairs: every route, documented or not. */
function routesOfTree(tree: string): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const start = line.search(/[^│├└─\s]/u);
    if (start < 0) continue;
    const depth = Math.round(start / 4);
    const m = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(start))!;
    stack.length = depth;
    stack.push(m[1]!);
    const path = stack.join('').replace(/\/{2,}/g, '/');
    for (const method of (m[2] ?? '').split(',').map((s) => s.trim())) if (method !== '' && method !== 'HEAD') out.push({ method, path });
  }
  return out;
}

interface OpenApi {
  paths: Record<string, Record<string, { parameters?: { in: string; name: string; schema?: Schema }[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
}

/** Text a field takes whatever it says (no format, enum or pattern). */
const isFreeText = (s: Schema | undefined): boolean =>
  s !== undefined && (s.type === 'string' || (Array.isArray(s.type) && s.type.includes('string'))) && s.format === undefined && s.enum === undefined && s.pattern === undefined;

/**
 * A body the route would accept, with `text` in every free-text field: other required fields get a
 * plausible value, so validation lets the request through to where the text is used.
 */
function bodyWith(schema: Schema | undefined, text: string, field?: string): unknown {
  const valueOf = (s: Schema, key?: string): unknown => {
    const union = s.anyOf ?? s.oneOf;
    if (union) return valueOf(union.find((x) => isFreeText(x)) ?? union[0]!, key);
    if (isFreeText(s)) return field === undefined || key === field ? text : 'fuzz';
    if (s.enum) return s.enum[0];
    if (s.default !== undefined) return s.default;
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    if (s.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
    if (s.format === 'date-time') return new Date(Date.now() + 3_600_000).toISOString();
    if (s.format === 'email') return 'fuzz@example.com';
    if (s.format === 'uri') return 'https://example.com/hook';
    if (type === 'integer' || type === 'number') return Math.max(s.minimum ?? 60, 60);
    if (type === 'boolean') return false;
    if (type === 'array') return s.items && isFreeText(s.items) && (field === undefined || key === field) ? [text] : [];
    if (type === 'object') {
      // The field under test plus what is required: an optional field with a made-up value (a cron
      // expression "fuzz") would only get the request refused before the text is used.
      const keep = ([k]: [string, Schema]) => field === undefined || k === field || (s.required ?? []).includes(k);
      return Object.fromEntries(Object.entries(s.properties ?? {}).filter(keep).map(([k, v]) => [k, valueOf(v, k)]));
    }
    return text;
  };
  return schema ? valueOf(schema) : { name: text };
}

/** Top-level body fields that take text (or lists of text). */
const freeFields = (schema: Schema | undefined): string[] =>
  Object.entries((schema?.oneOf ?? schema?.anyOf)?.[0]?.properties ?? schema?.properties ?? {})
    .filter(([, v]) => isFreeText(v) || (v.anyOf ?? []).some(isFreeText) || (v.type === 'array' && isFreeText(v.items)))
    .map(([k]) => k);

/** The app's routes, with the query parameters and body fields its OpenAPI document names. */
function routesOf(server: TestServer): Route[] {
  const doc = server.app.swagger() as unknown as OpenApi;
  const documented = new Map<string, Omit<Route, 'method' | 'path'>>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? []).filter((p) => p.in === 'query');
      const bodySchema = Object.values(op.requestBody?.content ?? {})[0]?.schema;
      documented.set(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, {
        query: params.map((p) => p.name),
        freeQuery: params.filter((p) => isFreeText(p.schema) || (p.schema?.anyOf ?? []).some(isFreeText)).map((p) => p.name),
        body: Object.keys(bodySchema?.properties ?? {}),
        bodySchema,
      });
    }
  }
  const routes: Route[] = [];
  for (const { method, path } of routesOfTree(server.app.printRoutes({ commonPrefix: false }))) {
    // The web UI's files and the API docs' assets are static files, not endpoints.
    if (/^\/(assets\/|index\.html|api\/docs)/.test(path)) continue;
    const known = documented.get(`${method} ${path}`) ?? { query: [], body: [], freeQuery: [], bodySchema: undefined };
    routes.push({ method, path, ...known });
  }
  return routes;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Stands for bytes that are not UTF-8, in a URL or a body. */
const BAD_UTF8 = '\uE000bad\uE000';
const BAD_BYTES = Buffer.from([0xff, 0xc3, 0x28]);
const HOSTILE = ['a\u0000b', '\u0000', 'x\ud800y', '\udfff', BAD_UTF8, 'x'.repeat(20_000), '-1', '1e400', 'NaN', '__proto__', 'constructor', '', ' ', '../../etc/passwd', '%00', '{"a":1}'];

/** One character for a URL; a lone surrogate as its CESU-8 bytes, which are invalid UTF-8. */
function pctChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code >= 0xd800 && code <= 0xdfff) return `%ED%${(0xa0 + ((code >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 + (code & 0x3f)).toString(16).toUpperCase()}`;
  return encodeURIComponent(ch);
}
const pct = (s: string): string => s.split(BAD_UTF8).map((part) => [...part].map(pctChar).join('')).join('%FF%C3%28');

/** JSON as bytes, with BAD_UTF8 turned into invalid bytes (and lone surrogates left as JSON escapes). */
const jsonBytes = (v: unknown): Buffer => {
  const parts = (JSON.stringify(v) ?? 'null').split(BAD_UTF8).map((p) => Buffer.from(p));
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [BAD_BYTES, p])));
};

/**
 * Valid bodies for routes whose schema alone does not say how to make one (a choice between
 * forms, a cron expression): the sweep puts the hostile value in each of their text fields.
 */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'POST /api/v1/maintenance': { starts_at: new Date(Date.now() + 3_600_000).toISOString(), ends_at: new Date(Date.now() + 7_200_000).toISOString(), reason: 'fuzz' },
  'POST /api/v1/channels': { kind: 'webhook', name: 'fuzz', url: 'https://example.com/hook' },
  'POST /api/v1/users': { email: 'fuzz@example.com', password: 'a long enough password', role: 'member' },
  'POST /api/v3/checks/': { name: 'fuzz', schedule: '0 * * * *', tz: 'UTC', grace: 60 },
};

interface FuzzRequest {
  route: Route;
  params: string[];
  query: [string, string][];
  body: { contentType: string | null; data: string | Buffer } | null;
  auth: boolean;
}

function urlOf(req: FuzzRequest): string {
  let i = 0;
  const path = req.route.path.replace(/:\w+|\*/g, () => pct(req.params[i++] ?? 'x'));
  const query = req.query.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
  return query === '' ? path : `${path}?${query}`;
}

async function send(server: TestServer, req: FuzzRequest): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (req.auth) headers['x-api-key'] = ADMIN_TOKEN;
  if (req.body?.contentType) headers['content-type'] = req.body.contentType;
  const res = await fetch(server.url + urlOf(req), {
    method: req.route.method,
    headers,
    body: req.route.method === 'GET' || req.body === null ? undefined : req.body.data,
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    redirect: 'manual',
  });
  // A live stream (SSE) answers and stays open: its headers are the answer.
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, text: '' };
  }
  return { status: res.status, text: (await res.text()).slice(0, 300) };
}

const describeRequest = (req: FuzzRequest) =>
  `${req.auth ? 'admin' : 'anonymous'} ${req.route.method} ${urlOf(req).slice(0, 300)} ${req.body ? `[${req.body.contentType ?? 'no type'}] ${String(req.body.data).slice(0, 200)}` : ''}`;

// ---------------------------------------------------------------------------------------------
// Generators

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1000, maxLength: 5000 }) },
);

const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, -1, 0, 1e308, 2 ** 63, [], {}, [null], { __proto__: null }) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 5 }) },
);

const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-16', 'application/x-protobuf', null];

function bodyArb(route: Route): fc.Arbitrary<FuzzRequest['body']> {
  const known = route.body.length > 0 ? route.body : ['name', 'x'];
  const object = fc.dictionary(fc.oneof(fc.constantFrom(...known), fc.constantFrom('__proto__', 'constructor'), hostileString), hostileJson, { maxKeys: 8 });
  const data: fc.Arbitrary<string | Buffer> = fc.oneof(
    { weight: 5, arbitrary: object.map(jsonBytes) },
    { weight: 1, arbitrary: fc.constantFrom(`${'['.repeat(50_000)}${']'.repeat(50_000)}`, `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`, '', 'null', '{', '"\\u0000"', `"${'x'.repeat(2_000_000)}"`, '{"__proto__":{"polluted":1}}') },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: hostileJson.map(jsonBytes) },
  );
  return fc.option(fc.record({ contentType: fc.constantFrom(...CONTENT_TYPES), data }), { nil: null, freq: 5 });
}

function requestArb(routes: Route[]): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      params: fc.array(fc.oneof(hostileString, fc.uuid()), { minLength: 3, maxLength: 3 }),
      query: fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(route.query.length > 0 ? route.query : ['q'])) }, { weight: 1, arbitrary: hostileString }), hostileString), { maxLength: 6 }),
      body: route.method === 'GET' ? fc.constant(null) : bodyArb(route),
      auth: fc.boolean(),
    }),
  );
}

// ---------------------------------------------------------------------------------------------

describe.each(STORE_KINDS)('every endpoint under hostile input on %s', (kind) => {
  let server: TestServer;
  let routes: Route[];
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind);
    routes = routesOf(server);
  }, 60_000);
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  run('finds the routes from the app itself, documented or not', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const expected of ['POST /api/v1/logs', 'GET /api/v1/logs', 'GET /api/v1/checks/:id', 'POST /api/v3/checks/', 'POST /loki/api/v1/push', 'GET /healthz']) expect(names).toContain(expected);
    expect(routes.find((r) => r.method === 'GET' && r.path === '/api/v1/logs')!.query).toEqual(expect.arrayContaining(['q', 'service', 'cursor']));
    expect(routes.length).toBeGreaterThan(40);
  });

  run(
    'sweep: NUL, lone surrogates, invalid UTF-8 and huge values in every documented parameter and field',
    async () => {
      const failures: string[] = [];
      for (const route of routes) {
        const example = EXAMPLES[`${route.method} ${route.path}`];
        for (const value of ['a\u0000b', 'x\ud800y', BAD_UTF8, 'x'.repeat(3000)]) {
          // One hostile place per request: an invalid value elsewhere would stop it at validation.
          const variants: Omit<FuzzRequest, 'route' | 'auth'>[] = [{ params: [value, value, value], query: [], body: null }];
          for (const q of route.freeQuery) variants.push({ params: [], query: [[q, value]], body: null });
          if (route.method !== 'GET') {
            const fields = freeFields(route.bodySchema);
            for (const field of fields.length > 0 ? fields : [undefined]) {
              variants.push({ params: [], query: [], body: { contentType: 'application/json', data: jsonBytes(bodyWith(route.bodySchema, value, field)) } });
            }
            for (const field of Object.keys(example ?? {}).filter((k) => typeof example![k] === 'string')) {
              variants.push({ params: [], query: [], body: { contentType: 'application/json', data: jsonBytes({ ...example, [field]: value }) } });
            }
            // Bodies read as text or bytes (pings, ingest): the value as raw bytes.
            if (route.bodySchema === undefined) variants.push({ params: [], query: [], body: { contentType: 'text/plain', data: jsonBytes(value).subarray(1, -1) } });
          }
          for (const variant of variants) {
            for (const auth of [true, false]) {
              const req: FuzzRequest = { route, auth, ...variant };
              try {
                const res = await send(server, req);
                if (res.status >= 500) failures.push(`${res.status} ${describeRequest(req)} -> ${res.text}`);
              } catch (error) {
                failures.push(`no answer (${(error as Error).message}) ${describeRequest(req)}`);
              }
            }
          }
        }
      }
      expect(failures).toEqual([]);
    },
    600_000,
  );

  run(
    `fast-check: ${RUNS} random hostile requests`,
    async () => {
      await fc.assert(
        fc.asyncProperty(requestArb(routes), async (req) => {
          let res: { status: number; text: string };
          try {
            res = await send(server, req);
          } catch (error) {
            throw new Error(`no answer (${(error as Error).message}): ${describeRequest(req)}`, { cause: error });
          }
          if (res.status >= 500) throw new Error(`${res.status}: ${describeRequest(req)} -> ${res.text}`);
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
      );
    },
    1_800_000,
  );
});
