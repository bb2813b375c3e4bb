import DatadogWinston from 'datadog-winston';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STORE_KINDS, eventually, startTestServer, storeAvailable, type TestServer } from './support/server.js';

interface Search {
  events: { message: string; service: string | null; host: string | null; level: string | null; attributes?: Record<string, unknown> }[];
}

/**
 * Datadog's v1 HTTP intake (`POST /v1/input[/<api key>]`), as `datadog-winston` and older agents
 * use it: driven here by the real datadog-winston transport, pointed at Vigil (it has no URL option:
 * its intake URL is a property set at construction, replaced after).
 */
describe.each(STORE_KINDS)('Datadog v1 intake on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind);
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));
  const search = async (query: string) => (await (await server.api(`/api/v1/logs?${query}`)).json()) as Search;

  run('stores what datadog-winston sends (key in the path, tags and service in the query)', async () => {
    const transport = new DatadogWinston({ apiKey: ADMIN_TOKEN, hostname: 'worker-7', service: 'billing', ddsource: 'nodejs', ddtags: 'env:test,team:pay' });
    transport.api = `${server.url}/v1/input/${ADMIN_TOKEN}`;
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('invoice 42 sent', { invoice: 42 });
    logger.error('payment gateway timeout');
    const found = await eventually(async () => {
      const r = await search('service=billing');
      return r.events.length === 2 ? r : undefined;
    });
    expect(found.events.map((e) => e.message).sort()).toEqual(['invoice 42 sent', 'payment gateway timeout']);
    expect(found.events.every((e) => e.host === 'worker-7')).toBe(true);
  });

  run('answers like the v2 intake otherwise: DD-API-KEY header, JSON array or object, 200 {}; a wrong key is 401 before the body is read', async () => {
    const body = JSON.stringify([{ message: 'from an old agent', service: 'legacy', hostname: 'h1', status: 'warn' }]);
    const ok = await fetch(`${server.url}/v1/input`, { method: 'POST', headers: { 'dd-api-key': ADMIN_TOKEN, 'content-type': 'application/json' }, body });
    expect([ok.status, await ok.json()]).toEqual([200, {}]);
    expect((await search('service=legacy')).events.map((e) => e.message)).toEqual(['from an old agent']);
    const wrong = await fetch(`${server.url}/v1/input/not-a-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(wrong.status).toBe(401);
    const none = await fetch(`${server.url}/v1/input`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(none.status).toBe(401);
  });
});
