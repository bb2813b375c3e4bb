import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';

interface Search {
  events: { id: string; message: string; timestamp: string }[];
  next_cursor: string | null;
}

/**
 * `GET /api/v1/logs?after_id=` is what the dashboard's live tail asks: "what arrived since the
 * newest event I have", which must include events that arrive late (an event time older than
 * rows already shown, e.g. an agent that flushes every few seconds) and events sharing the
 * timestamp of the newest row, and must not repeat rows already fetched.
 */
describe.each(STORE_KINDS)('log search tail (after_id) on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    if (storeAvailable(kind)) server = await startTestServer(kind);
  });
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  const ingest = async (events: object[]) => {
    const res = await server.api('/api/v1/logs', { method: 'POST', json: events });
    expect(res.status).toBe(200);
  };
  const search = async (query: string) => {
    const res = await server.api(`/api/v1/logs?${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Search;
  };

  run('returns only events stored after the given one, late and same-timestamp ones included, newest first', async () => {
    const now = Date.now();
    const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();
    await ingest([
      { timestamp: at(-3000), message: 'first', service: 'tail' },
      { timestamp: at(-1000), message: 'second', service: 'tail' },
    ]);
    const before = await search('service=tail');
    expect(before.events.map((e) => e.message)).toEqual(['second', 'first']);
    const newest = before.events[0]!;

    await ingest([
      { timestamp: at(-2000), message: 'late, older than the newest shown', service: 'tail' },
      { timestamp: newest.timestamp, message: 'same instant as the newest shown', service: 'tail' },
      { timestamp: at(500), message: 'newer', service: 'tail' },
      { timestamp: at(600), message: 'other service', service: 'elsewhere' },
    ]);
    const from = new Date(now - 60_000).toISOString();
    const after = await search(`service=tail&from=${from}&after_id=${newest.id}`);
    expect(after.events.map((e) => e.message)).toEqual(['newer', 'same instant as the newest shown', 'late, older than the newest shown']);
    expect(after.events.every((e) => BigInt(e.id) > BigInt(newest.id))).toBe(true);

    // Asking again from the newest id seen returns nothing: a quiet tail fetches no rows.
    const maxId = after.events.map((e) => BigInt(e.id)).reduce((a, b) => (a > b ? a : b));
    expect((await search(`service=tail&from=${from}&after_id=${maxId}`)).events).toEqual([]);
  });

  run('refuses an after_id that is not an event id, naming the parameter', async () => {
    for (const bad of ['abc', '-1', '99999999999999999999']) {
      const res = await server.api(`/api/v1/logs?after_id=${bad}`);
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/after_id/);
    }
  });
});
