import { randomBytes } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BusFullError,
  BusMessageTooLargeError,
  openBus,
  planBatch,
  type BatchContext,
  type BusCheckpoint,
  type BusMessage,
  type EventBus,
  type OpenBusOptions,
} from '../src/platform/bus/index.js';

/**
 * The JetStream adapter against a real NATS server (NATS_URL, e.g. nats://127.0.0.1:4222 with
 * JetStream on). Each run uses its own stream and subject prefix and deletes them at the end.
 */
const NATS_URL = process.env.NATS_URL;
const logger = pino({ level: 'silent' });

const encode = (n: number) => new TextEncoder().encode(String(n));
const decode = (m: BusMessage) => Number(new TextDecoder().decode(m.data));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// 45 s: beyond the consumers' 30 s ack wait, after which a batch held at a restart comes again (20 s failed twice under full-suite load).
async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe('openBus without a NATS URL', () => {
  it('gives the in-process bus', async () => {
    const bus = await openBus({ logger });
    expect(bus.kind).toBe('memory');
    await bus.close();
  });
});

describe.skipIf(!NATS_URL)('JetStream event bus', () => {
  const run = randomBytes(4).toString('hex').toUpperCase();
  const stream = `VIGIL_TEST_${run}`;
  const prefix = `vigil_test_${run.toLowerCase()}`;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  const buses: EventBus[] = [];
  const streams = new Set<string>([stream]);

  const open = async (extra: Partial<OpenBusOptions> = {}): Promise<EventBus> => {
    const bus = await openBus({ natsUrl: NATS_URL, streamName: stream, subjectPrefix: prefix, logger, ...extra });
    buses.push(bus);
    return bus;
  };
  const consumerInfo = (topic: string, name: string, streamName = stream) => jsm.consumers.info(streamName, `${topic}__${name}`);

  beforeAll(async () => {
    admin = await connect({ servers: NATS_URL });
    jsm = await jetstreamManager(admin);
  });

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close({ timeoutMs: 2000 })));
  });

  afterAll(async () => {
    for (const name of streams) await jsm.streams.delete(name).catch(() => undefined);
    await admin?.close();
  });

  it('creates the stream idempotently (file storage, limits retention, discard new) and updates its limits', async () => {
    const first = await open({ jetstream: { maxBytes: 64 * 1024 * 1024 } });
    expect(first.kind).toBe('jetstream');
    expect(first.maxMessageBytes).toBeGreaterThan(1000 * 1000);
    let info = await jsm.streams.info(stream);
    expect(info.config).toMatchObject({ subjects: [`${prefix}.>`], storage: 'file', retention: 'limits', discard: 'new', max_bytes: 64 * 1024 * 1024 });
    const created = info.created;
    await open({ jetstream: { maxBytes: 128 * 1024 * 1024 } });
    info = await jsm.streams.info(stream);
    expect(info.config.max_bytes).toBe(128 * 1024 * 1024);
    expect(info.created).toBe(created);
  });

  it('publishes and consumes in order with positions and ids, then acks up to the last message', async () => {
    const bus = await open({ consumers: [{ topic: 'order', name: 'stats' }] });
    const receipts = [];
    for (let i = 0; i < 10; i += 1) {
      receipts.push(...(await bus.publish('order', range(i * 10 + 1, i * 10 + 10).map((n) => (n === 5 ? { data: encode(n), id: 'request-5' } : encode(n))))));
    }
    expect(receipts.map((r) => r.seq)).toEqual([...receipts.map((r) => r.seq)].sort((a, b) => a - b));
    const seen: BusMessage[] = [];
    const contexts: (BatchContext & { first: number })[] = [];
    await bus.subscribe('order', 'stats', async (messages, context) => {
      seen.push(...messages);
      contexts.push({ ...context, first: messages[0]!.seq });
    }, { batchSize: 16 });
    await eventually(() => seen.length >= 100);
    expect(seen.map(decode)).toEqual(range(1, 100));
    expect(seen.map((m) => m.seq)).toEqual(receipts.map((r) => r.seq));
    expect(seen[4]!.id).toBe('request-5');
    expect(seen[5]!.id).toBe(`${seen[5]!.epoch}/${seen[5]!.seq}`);
    expect(seen.every((m) => m.deliveries === 1 && m.topic === 'order' && m.epoch.startsWith(`${stream}@`))).toBe(true);
    expect(contexts.every((c) => c.attempt === 1 && c.consumer === 'stats' && c.topic === 'order')).toBe(true);
    expect(Math.max(...contexts.map((c) => c.first - c.ackFloor))).toBeGreaterThan(0);
    // The ack floor never claims a message of the batch being handled.
    expect(contexts.every((c) => c.ackFloor < c.first)).toBe(true);
    const last = receipts.at(-1)!.seq;
    await eventually(async () => {
      const info = await consumerInfo('order', 'stats');
      return info.ack_floor.stream_seq === last && info.num_ack_pending === 0 && info.num_pending === 0;
    });
    // Acked by every consumer of the stream, so trimmed from it.
    await eventually(async () => (await jsm.streams.info(stream)).state.messages === 0);
    // A repeated publisher id inside the duplicate window is not stored twice.
    const [again] = await bus.publish('order', [{ data: encode(5), id: 'request-5' }]);
    expect(again).toMatchObject({ duplicate: true });
  });

  it('resumes at the ack floor after the consumer restarts, without loss or repeats', async () => {
    const publisher = await open({ consumers: [{ topic: 'resume', name: 'stats' }] });
    await publisher.publish('resume', range(1, 60).map(encode));

    const first: BusMessage[] = [];
    const busA = await open();
    const subA = await busA.subscribe('resume', 'stats', async (messages) => {
      await sleep(5);
      first.push(...messages);
    }, { batchSize: 10 });
    await eventually(() => first.length >= 20);
    await subA.stop();
    await busA.close();
    const floor = (await consumerInfo('resume', 'stats')).ack_floor.stream_seq;
    expect(floor).toBe(first.at(-1)!.seq);

    await publisher.publish('resume', range(61, 80).map(encode));
    const second: BusMessage[] = [];
    const busB = await open();
    await busB.subscribe('resume', 'stats', async (messages) => void second.push(...messages), { batchSize: 10 });
    await eventually(() => first.length + second.length >= 80);
    await sleep(200);
    expect([...first, ...second].map(decode)).toEqual(range(1, 80));
    expect(second[0]!.seq).toBeGreaterThan(floor);
    expect(second.every((m) => m.deliveries === 1)).toBe(true);
  });

  it('redelivers unacked messages after the ack wait when a consumer dies; the checkpoint makes effects exactly once', async () => {
    const publisher = await open({ consumers: [{ topic: 'crash', name: 'stats' }] });
    await publisher.publish('crash', range(1, 50).map(encode));

    // The "database": results and checkpoint, written together.
    const db: { checkpoint: BusCheckpoint | null; applied: number[] } = { checkpoint: null, applied: [] };
    const commit = (messages: BusMessage[], context: BatchContext) => {
      const plan = planBatch(db.checkpoint, messages, context);
      db.applied.push(...plan.fresh.map(decode));
      db.checkpoint = plan.next;
      return plan;
    };

    // Instance A commits the batch holding 25 and dies before acking it.
    let release!: () => void;
    const never = new Promise<void>((r) => (release = r));
    let held: number[] = [];
    const busA = await open();
    await busA.subscribe('crash', 'stats', async (messages, context) => {
      commit(messages, context);
      if (messages.some((m) => decode(m) === 25)) {
        held = messages.map(decode);
        await never;
      }
    }, { batchSize: 10, ackWaitMs: 1000 });
    await eventually(() => held.length > 0);
    await busA.close({ timeoutMs: 0 });
    const killedAt = Date.now();

    // Instance B takes over the durable with the stored checkpoint.
    const redelivered: { value: number; deliveries: number; after: number }[] = [];
    let duplicates = 0;
    const busB = await open();
    await busB.subscribe('crash', 'stats', async (messages, context) => {
      for (const m of messages) if (m.deliveries > 1) redelivered.push({ value: decode(m), deliveries: m.deliveries, after: Date.now() - killedAt });
      duplicates += commit(messages, context).duplicates;
    }, { batchSize: 10, ackWaitMs: 1000 });
    await eventually(() => held.every((n) => redelivered.some((r) => r.value === n)) && db.applied.length >= 50);
    release();

    expect([...db.applied].sort((a, b) => a - b)).toEqual(range(1, 50));
    expect(duplicates).toBeGreaterThanOrEqual(held.length);
    // A held that batch (kept alive by "working" acks until it died): it came back only after the ack wait.
    const batch = redelivered.filter((r) => held.includes(r.value));
    expect(Math.min(...batch.map((r) => r.after))).toBeGreaterThanOrEqual(500);
    expect(batch.every((r) => r.deliveries >= 2)).toBe(true);
    await eventually(async () => (await consumerInfo('crash', 'stats')).num_ack_pending === 0);
  });

  it('retries a failing batch in place, holding it past the ack wait without a redelivery', async () => {
    const bus = await open({ consumers: [{ topic: 'retry', name: 'stats' }] });
    const calls: { attempt: number; deliveries: number[] }[] = [];
    await bus.subscribe('retry', 'stats', async (messages, context) => {
      calls.push({ attempt: context.attempt, deliveries: messages.map((m) => m.deliveries) });
      if (context.attempt < 3) throw new Error('store unavailable');
    }, { ackWaitMs: 1000, retryDelayMs: 700 });
    await bus.publish('retry', [encode(1), encode(2)]);
    await eventually(() => calls.length >= 3);
    await sleep(1200);
    // 700 + 1400 ms of retries outlast the 1 s ack wait; "working" acks kept the server from redelivering.
    expect(calls).toEqual([
      { attempt: 1, deliveries: [1, 1] },
      { attempt: 2, deliveries: [1, 1] },
      { attempt: 3, deliveries: [1, 1] },
    ]);
  });

  it('shares the work among subscriptions with the same consumer name (each message once)', async () => {
    const publisher = await open({ consumers: [{ topic: 'shared', name: 'workers' }] });
    const byWorker: number[][] = [[], []];
    for (const worker of [0, 1]) {
      const bus = await open();
      await bus.subscribe('shared', 'workers', async (messages) => {
        await sleep(10);
        byWorker[worker]!.push(...messages.map(decode));
      }, { batchSize: 5, maxAckPending: 10 });
    }
    await publisher.publish('shared', range(1, 200).map(encode));
    await eventually(() => byWorker[0]!.length + byWorker[1]!.length >= 200);
    await sleep(200);
    expect([...byWorker[0]!, ...byWorker[1]!].sort((a, b) => a - b)).toEqual(range(1, 200));
    expect(byWorker[0]!.length).toBeGreaterThan(0);
    expect(byWorker[1]!.length).toBeGreaterThan(0);
  });

  it('gives each consumer name every message (fan-out)', async () => {
    const bus = await open({ consumers: [{ topic: 'fanout', name: 'stats' }, { topic: 'fanout', name: 'archive' }] });
    await bus.publish('fanout', range(1, 30).map(encode));
    const stats: number[] = [];
    const archive: number[] = [];
    await bus.subscribe('fanout', 'stats', async (messages) => void stats.push(...messages.map(decode)));
    await bus.subscribe('fanout', 'archive', async (messages) => void archive.push(...messages.map(decode)));
    await eventually(() => stats.length === 30 && archive.length === 30);
    expect(stats).toEqual(range(1, 30));
    expect(archive).toEqual(range(1, 30));
  });

  it('removes a message from the stream only once every consumer acknowledged it', async () => {
    const bus = await open({ consumers: [{ topic: 'trim', name: 'fast' }, { topic: 'trim', name: 'slow' }] });
    await bus.publish('trim', range(1, 20).map(encode));
    const fast: number[] = [];
    await bus.subscribe('trim', 'fast', async (messages) => void fast.push(...messages.map(decode)));
    await eventually(async () => fast.length === 20 && (await consumerInfo('trim', 'fast')).num_ack_pending === 0);
    await sleep(1500); // more than a trim interval
    expect((await jsm.streams.info(stream)).state.messages).toBeGreaterThanOrEqual(20);
    const slow: number[] = [];
    await bus.subscribe('trim', 'slow', async (messages) => void slow.push(...messages.map(decode)));
    await eventually(() => slow.length === 20);
    expect(slow).toEqual(range(1, 20));
    await eventually(async () => (await jsm.streams.info(stream)).state.messages === 0);
  });

  it('close() drains: handles what was fetched and acks it before disconnecting', async () => {
    const publisher = await open({ consumers: [{ topic: 'drain', name: 'stats' }] });
    const receipts = await publisher.publish('drain', range(1, 40).map(encode));
    const seen: number[] = [];
    const bus = await open();
    await bus.subscribe('drain', 'stats', async (messages) => {
      await sleep(20);
      seen.push(...messages.map(decode));
    }, { batchSize: 8, maxAckPending: 40 });
    await eventually(() => seen.length > 0);
    await bus.close();
    const info = await consumerInfo('drain', 'stats');
    // Whatever it handled is acked; nothing is left half-done (delivered but unacked).
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(receipts[seen.length - 1]!.seq);
    expect(seen).toEqual(range(1, seen.length));
  });

  it('fails fast with BusFullError when the stream is at its limit or too many publishes are pending', async () => {
    const small = `${stream}_SMALL`;
    streams.add(small);
    const bus = await open({
      streamName: small,
      subjectPrefix: `${prefix}_small`,
      consumers: [{ topic: 'full', name: 'stats' }],
      jetstream: { maxMessages: 5, retryAfterSeconds: 4, maxPendingPublishes: 3 },
    });
    await bus.publish('full', range(1, 3).map(encode));
    await bus.publish('full', range(4, 5).map(encode));
    const error = await bus.publish('full', [encode(6)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusFullError);
    expect(error).toMatchObject({ code: 'overloaded', retryAfterSeconds: 4 });
    await expect(bus.publish('other', range(1, 4).map(encode))).rejects.toBeInstanceOf(BusFullError);
    await expect(bus.publish('full', [new Uint8Array(bus.maxMessageBytes + 1)])).rejects.toBeInstanceOf(BusMessageTooLargeError);
  });

  it('refuses a handed-over value instead of sending the message without it', async () => {
    const bus = await open({ consumers: [{ topic: 'value', name: 'stats' }] });
    await expect(bus.publish('value', [{ data: new Uint8Array(0), value: { events: [1] }, size: 10 }])).rejects.toThrow(/carries bytes only/);
    // Nothing of the call was stored.
    expect((await consumerInfo('value', 'stats')).num_pending).toBe(0);
  });

  it('refuses to open when NATS is unreachable', async () => {
    await expect(openBus({ natsUrl: 'nats://127.0.0.1:1', logger })).rejects.toThrow();
  });
});
