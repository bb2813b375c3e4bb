import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import type { LogEvent } from '../src/domains/logs/event.js';
import { PartitionManager, countEventsByBucket, insertEvents } from '../src/domains/logs/store.js';
import { foldVolume, planVolume, type VolumeAnswer as Volume } from '../src/domains/logs/volume.js';
import { STORE_KINDS, startTestServer, storeAvailable, type TestServer } from './support/server.js';


/**
 * `GET /api/v1/logs/volume`: how many events a search matches (the Logs page said "100 events in the
 * last hour", the size of the page it had loaded, while thousands matched), per time bucket, with
 * the search's own filters: the total is the number of events paging through the search yields.
 */
describe.each(STORE_KINDS)('log volume on %s', (kind) => {
  let server: TestServer;
  const now = Date.now();
  beforeAll(async () => {
    if (!storeAvailable(kind)) return;
    server = await startTestServer(kind);
    // 2,400 events over the last 40 minutes, one a second: services a/b alternate, every 10th is a 503
    // whose message says "timeout"; plus 5 events of another organisation the count must never see.
    const event = (i: number): LogEvent => {
      const ts = now - 40 * 60_000 + i * 1000;
      const failed = i % 10 === 0;
      return {
        timestamp: ts,
        receivedAt: ts,
        service: i % 2 === 0 ? 'a' : 'b',
        host: null,
        source: null,
        level: null,
        message: failed ? `upstream timeout ${i}` : `ok ${i}`,
        method: 'GET',
        path: i % 3 === 0 ? '/api/x' : '/web/y',
        section: i % 3 === 0 ? '/api' : '/web',
        status: failed ? 503 : 200,
        bytes: null,
        durationMs: null,
        remoteAddr: null,
        userAgent: null,
        attributes: {},
      };
    };
    const partitions = new PartitionManager(server.ctx.db);
    await insertEvents(server.ctx.db, partitions, server.org.id, Array.from({ length: 2_400 }, (_, i) => event(i)));
    const other = await createOrg(server.ctx.db, 'Other');
    await insertEvents(server.ctx.db, partitions, other.id, Array.from({ length: 5 }, (_, i) => event(i)));
  }, 60_000);
  afterAll(async () => server?.dispose());
  const run = it.skipIf(!storeAvailable(kind));

  const volume = async (query: string) => {
    const res = await server.api(`/api/v1/logs/volume?${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Volume;
  };
  const from = () => new Date(now - 60 * 60_000).toISOString();

  run('counts every match of the last hour, not the page loaded, in one-minute buckets', async () => {
    const page = (await (await server.api(`/api/v1/logs?from=${from()}`)).json()) as { events: unknown[] };
    expect(page.events).toHaveLength(100);
    // An explicit end: "now" would be later than the hour the events span by however long setup took
    // under load, and one more minute bucket would start.
    const v = await volume(`from=${from()}&to=${new Date(now).toISOString()}&step=60`);
    expect(v).toMatchObject({ total: 2_400, exact: true, counted_from: null, step: 60 });
    expect(v.counts.length).toBeLessThanOrEqual(61);
    expect(v.counts.reduce((a, n) => a! + n!, 0)).toBe(2_400);
    expect(v.timestamps).toHaveLength(v.counts.length);
    // One event a second: whole minutes inside the 40 filled ones hold 60.
    expect(v.counts.filter((n) => n === 60).length).toBeGreaterThanOrEqual(38);
  });

  run('applies every filter of the search: text, service, status, section, range', async () => {
    expect((await volume(`from=${from()}&q=TIMEOUT`)).total).toBe(240);
    expect((await volume(`from=${from()}&service=a`)).total).toBe(1_200);
    expect((await volume(`from=${from()}&status=503&service=a`)).total).toBe(240); // every 10th is even
    expect((await volume(`from=${from()}&section=/api`)).total).toBe(800);
    const to = new Date(now - 30 * 60_000).toISOString(); // the first 10 minutes only
    expect((await volume(`from=${from()}&to=${to}`)).total).toBe(600);
    expect((await volume(`from=${from()}&q=100%25`)).total).toBe(0); // LIKE wildcards match literally
  });

  run('agrees with paging through the search to its end', async () => {
    const query = `from=${from()}&section=/api&q=timeout`;
    let seen = 0;
    let cursor: string | null = null;
    do {
      const res = await server.api(`/api/v1/logs?${query}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await res.json()) as { events: unknown[]; next_cursor: string | null };
      seen += body.events.length;
      cursor = body.next_cursor;
    } while (cursor);
    expect((await volume(query)).total).toBe(seen);
    expect(seen).toBe(80);
  });

  run('past the cap, counts the newest matches only and says so (store function with a small cap)', async () => {
    const plan = planVolume(now - 60 * 60_000, now, false, 60);
    const answer = foldVolume(plan, await countEventsByBucket(server.ctx.db, server.org.id, { from: new Date(now - 60 * 60_000) }, plan, 150), 150);
    expect(answer.exact).toBe(false);
    expect(answer.total).toBe(150);
    const known = answer.counts.filter((n): n is number => n !== null);
    // The newest 150 events span the last 150 s: the complete buckets hold fewer, the rest is unknown.
    expect(known.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(150);
    expect(answer.counts[0]).toBeNull();
    expect(Date.parse(answer.counted_from!)).toBeGreaterThan(now - 20 * 60_000);
  });

  run('refuses what it cannot count, naming the parameter', async () => {
    const bad = await server.api(`/api/v1/logs/volume?from=${new Date(now).toISOString()}&to=${new Date(now - 1000).toISOString()}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^to: must be after from/);
    const many = await server.api('/api/v1/logs/volume?buckets=401');
    expect(many.status).toBe(400);
    expect(((await many.json()) as { error: { message: string } }).error.message).toMatch(/buckets/);
    const narrow = await server.api('/api/v1/logs/volume?step=1'); // 30 days by the second
    expect(narrow.status).toBe(400);
    expect(((await narrow.json()) as { error: { message: string } }).error.message).toMatch(/^step: 1 s cuts the range into more than 400 buckets/);
  });
});
