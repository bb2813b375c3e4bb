import { randomBytes, randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg } from '../src/domains/accounts/index.js';
import { LOG_TOPIC, logMessagesFor, type LogEvent } from '../src/domains/logs/index.js';
import { TRAFFIC_CONSUMER, startStreamProcessor, type StreamProcessor } from '../src/domains/stream/index.js';
import { DIMENSION_MAX_LENGTH } from '../src/domains/stream/traffic-aggregate.js';
import { openBus, type EventBus } from '../src/platform/bus/index.js';
import { LiveHub } from '../src/platform/live.js';
import { migrateToLatest, openStore, type Store } from '../src/platform/store/index.js';
import { STREAM_TIMING, requestEvent as event } from './support/log-events.js';
import { DEPLOYMENTS, deploymentAvailable, eventually, freshPostgresDatabase } from './support/server.js';

/**
 * The processor's last line of defence: events that reach it although no decoder would let them
 * through (another version's ingest, a bug, a hand-published message) and fail their batch's
 * transaction. The batch is committed without them, they are recorded as set aside for their
 * organisation, and the publishers of the batch (other tenants included) get their success.
 */

const NATS_URL = process.env.NATS_URL;
const logger = pino({ level: 'silent' });
const timing = STREAM_TIMING;

describe.each(DEPLOYMENTS)('stream processor poison isolation on $name', (setup) => {
  let store: Store;
  let bus: EventBus;
  let processor: StreamProcessor;
  let drop: (() => Promise<void>) | undefined;
  let orgA: string;
  let orgB: string;
  const stream = `VIGILPPOISON_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    if (!deploymentAvailable(setup)) return;
    const pg = setup.kind === 'postgres' ? await freshPostgresDatabase() : undefined;
    drop = pg?.drop;
    store = await openStore({ untenanted: 'system', dataDir: 'memory://', databaseUrl: pg?.url });
    await migrateToLatest(store.db);
    orgA = (await createOrg(store.db, 'A')).id;
    orgB = (await createOrg(store.db, 'B')).id;
    bus = await openBus({ natsUrl: setup.nats ? NATS_URL : undefined, logger, streamName: stream, subjectPrefix: stream.toLowerCase(), consumers: [{ topic: LOG_TOPIC, name: TRAFFIC_CONSUMER }] });
    processor = await startStreamProcessor({ store, bus, live: new LiveHub(), logger, timing });
  }, 60_000);
  afterAll(async () => {
    await processor?.stop();
    await bus?.close();
    await store?.close();
    await drop?.();
    if (setup.nats && NATS_URL) {
      const nc = await connect({ servers: NATS_URL });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });
  const run = it.skipIf(!deploymentAvailable(setup));

  run(
    'stores and counts every good event of the batch, sets the poison aside with the reason, for its organisation',
    async () => {
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 10_000; i++) deep = { a: deep };
      // Random text does not compress: a btree key this long cannot be indexed. It is no poison: the
      // statistics count it under its first DIMENSION_MAX_LENGTH characters, the raw event keeps it whole.
      const longSection = `/${randomBytes(6000).toString('base64')}`;
      const unindexable = event('long section', { path: longSection, section: longSection });
      const poison: [string, LogEvent][] = [
        ['bigint overflow', event('poison bytes', { bytes: 1e300 })],
        ['integer overflow', event('poison status', { status: 1e12 })],
        ['escaped lone surrogate key', event('poison surrogate', { attributes: JSON.parse('{"\\udc00\\u0000": "\\ud800"}') as Record<string, unknown> })],
      ];
      if (!setup.nats) {
        // Only an in-process hand-over can carry these: JSON would have turned them into something storable.
        poison.push(['nesting too deep to serialise', event('poison deep', { attributes: deep })]);
        poison.push(['no time', event('poison time', { timestamp: Number.NaN })]);
      }
      const goodA = [event('good A 1'), event('good A 2')];
      const goodB = Array.from({ length: 5 }, (_, i) => event(`good B ${i}`));
      const messages = [
        ...logMessagesFor(bus, orgB, goodB.slice(0, 2), 100).messages,
        ...logMessagesFor(bus, orgA, [goodA[0]!, ...poison.map(([, e]) => e), unindexable, goodA[1]!], 100).messages,
        ...logMessagesFor(bus, orgB, goodB.slice(2), 100).messages,
      ];
      if (setup.nats) {
        // A message that is not a Vigil log message at all, in the middle of the stream.
        const nc = await connect({ servers: NATS_URL! });
        await bus.publish(LOG_TOPIC, messages.slice(0, 1));
        await jetstream(nc).publish(`${stream.toLowerCase()}.${LOG_TOPIC}`, Buffer.from('not json {'));
        await bus.publish(LOG_TOPIC, messages.slice(1));
        await nc.close();
      } else {
        // One publish: one batch. It resolves only once the processor committed it.
        await bus.publish(LOG_TOPIC, messages);
      }

      const count = async (orgId: string) =>
        Number((await store.db.selectFrom('log_events').select(sql<string>`count(*)`.as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow()).n);
      const hits = async (orgId: string) =>
        Number(
          (await store.db.selectFrom('traffic_counts').select(sql<string>`coalesce(sum(hits), 0)`.as('n')).where('org_id', '=', orgId).where('resolution', '=', 1).executeTakeFirstOrThrow()).n,
        );
      await eventually(async () => (await count(orgB)) === 5 && (await count(orgA)) >= 2, 30_000);
      expect(await hits(orgB)).toBe(5);
      const storedA = await store.db.selectFrom('log_events').select(['message', 'attributes']).where('org_id', '=', orgA).execute();
      const kept = storedA.map((r) => r.message).sort();
      // The escaped surrogate and NUL are made storable (pgJson), so that event is kept, cleaned.
      expect(kept).toEqual(['good A 1', 'good A 2', 'long section', 'poison surrogate']);
      expect(storedA.find((r) => r.message === 'poison surrogate')!.attributes).toEqual({ '\ufffd\ufffd': '\ufffd' });
      expect(await hits(orgA)).toBe(4);
      const sections = await store.db.selectFrom('traffic_counts').select('section').distinct().where('org_id', '=', orgA).where('resolution', '=', 1).execute();
      expect(sections.map((r) => r.section).sort()).toEqual(['/ok', longSection.slice(0, DIMENSION_MAX_LENGTH)].sort());

      const aside = await eventually(async () => {
        const rows = await store.db.selectFrom('log_rejections').selectAll().where('stage', '=', 'processing').execute();
        return rows.length === poison.length - 1 ? rows : undefined;
      }, 30_000);
      expect(aside.every((r) => r.org_id === orgA)).toBe(true);
      const reasons = aside.map((r) => r.reason).join('\n');
      expect(reasons).toMatch(/type bigint/);
      expect(reasons).toMatch(/type integer|integer out of range/);
      if (!setup.nats) expect(reasons).toMatch(/call stack/);
      expect(aside.map((r) => r.sample ?? '').join('\n')).toMatch(/poison bytes/);
      for (const r of aside) expect(r.reason).toMatch(/^could not be stored, set aside: /);
    },
    120_000,
  );
});
