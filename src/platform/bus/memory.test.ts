import { afterEach, describe, expect, it } from 'vitest';
import { BusClosedError, BusDeliveryError, BusFullError, BusMessageTooLargeError } from './errors.js';
import { createMemoryBus, type MemoryBusOptions } from './memory.js';
import type { BatchContext, BusMessage, EventBus } from './types.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const bytes = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff]);
const value = (m: BusMessage) => (m.data[0] ?? 0) + ((m.data[1] ?? 0) << 8);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A promise with its resolver, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const isPending = async (p: Promise<unknown>) => {
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  await new Promise((r) => setTimeout(r, 20));
  return !settled;
};

describe('memory bus', () => {
  let bus: EventBus;
  const open = (options: Partial<MemoryBusOptions> = {}) => (bus = createMemoryBus({ logger: silent, ...options }));
  afterEach(async () => {
    await bus.close({ timeoutMs: 100 });
  });

  it('delivers in publish order, in batches, with positions; publish resolves once handled', async () => {
    open();
    const seen: BusMessage[] = [];
    const batches: number[] = [];
    await bus.subscribe('logs', 'stats', async (messages) => {
      batches.push(messages.length);
      seen.push(...messages);
    }, { batchSize: 4 });
    const receipts = await bus.publish('logs', range(1, 10).map(bytes));
    // Resolved means processed: every message is already in `seen`.
    expect(seen.map(value)).toEqual(range(1, 10));
    expect(receipts.map((r) => r.seq)).toEqual(range(1, 10));
    expect(seen.map((m) => m.seq)).toEqual(range(1, 10));
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    await bus.publish('logs', [{ data: bytes(11), id: 'req-1' }]);
    expect(seen.at(-1)).toMatchObject({ seq: 11, id: 'req-1', deliveries: 1, topic: 'logs' });
    expect(new Set(seen.map((m) => m.epoch)).size).toBe(1);
  });

  it('keeps messages published before anyone subscribed, and resolves when they are handled', async () => {
    open();
    const accepted = bus.publish('logs', [bytes(1), bytes(2)]);
    expect(await isPending(accepted)).toBe(true);
    const seen: number[] = [];
    await bus.subscribe('logs', 'stats', async (messages) => void seen.push(...messages.map(value)));
    await accepted;
    expect(seen).toEqual([1, 2]);
  });

  it('fails fast with BusFullError when the queue is full, keeping nothing of that publish', async () => {
    open({ maxQueuedMessages: 5, maxQueuedBytes: 1000, retryAfterSeconds: 3 });
    const hold = gate();
    const seen: number[] = [];
    await bus.subscribe('logs', 'stats', async (messages) => {
      await hold.promise;
      seen.push(...messages.map(value));
    });
    const first = bus.publish('logs', range(1, 5).map(bytes));
    const error = await bus.publish('logs', [bytes(6)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusFullError);
    expect(error).toMatchObject({ code: 'overloaded', retryAfterSeconds: 3 });
    // Bytes count too: 10 bytes are held, 999 more would pass the 1,000-byte bound.
    await expect(bus.publish('other', [new Uint8Array(999)])).rejects.toBeInstanceOf(BusFullError);
    hold.open();
    await first;
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // Room again once handled.
    await bus.publish('logs', [bytes(7)]);
    expect(seen).toEqual([1, 2, 3, 4, 5, 7]);
  });

  it('rejects a message larger than maxMessageBytes', async () => {
    open({ maxMessageBytes: 10 });
    await expect(bus.publish('logs', [new Uint8Array(11)])).rejects.toBeInstanceOf(BusMessageTooLargeError);
    expect(bus.maxMessageBytes).toBe(10);
  });

  it('hands a value over as it is; its size counts toward the queue bound but is not held to the message limit', async () => {
    open({ maxMessageBytes: 100, maxQueuedBytes: 1_000 });
    const decoded = { events: ['a', 'b'] };
    const seen: BusMessage[] = [];
    const hold = gate();
    await bus.subscribe('logs', 'stats', async (messages) => {
      await hold.promise;
      seen.push(...messages);
    });
    // An estimate above maxMessageBytes: nothing travels, so only the queue bound applies.
    const first = bus.publish('logs', [{ data: new Uint8Array(0), value: decoded, size: 600 }]);
    await expect(bus.publish('logs', [{ data: new Uint8Array(0), value: {}, size: 500 }])).rejects.toBeInstanceOf(BusFullError);
    await expect(bus.publish('logs', [{ data: new Uint8Array(0), value: {}, size: Number.NaN }])).rejects.toThrow(/size must be a finite number/);
    await expect(bus.publish('logs', [{ data: new Uint8Array(101), value: {} }])).rejects.toBeInstanceOf(BusMessageTooLargeError);
    hold.open();
    await first;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.value).toBe(decoded);
    expect(seen[0]!.data.byteLength).toBe(0);
    // Released: the queue has room for it again.
    await bus.publish('logs', [{ data: new Uint8Array(0), value: decoded, size: 600 }]);
    expect(seen).toHaveLength(2);
  });

  it('gives every consumer group every message; publish waits for all groups', async () => {
    open();
    const a: number[] = [];
    const b: number[] = [];
    const holdB = gate();
    await bus.subscribe('logs', 'stats', async (messages) => void a.push(...messages.map(value)));
    await bus.subscribe('logs', 'archive', async (messages) => {
      await holdB.promise;
      b.push(...messages.map(value));
    });
    const accepted = bus.publish('logs', range(1, 20).map(bytes));
    expect(await isPending(accepted)).toBe(true);
    expect(a).toEqual(range(1, 20));
    holdB.open();
    await accepted;
    expect(b).toEqual(range(1, 20));
  });

  it('holds messages for declared groups that have not subscribed yet', async () => {
    open({ consumers: [{ topic: 'logs', name: 'stats' }, { topic: 'logs', name: 'archive' }] });
    await bus.subscribe('logs', 'stats', async () => {});
    const accepted = bus.publish('logs', [bytes(1)]);
    expect(await isPending(accepted)).toBe(true);
    const late: number[] = [];
    await bus.subscribe('logs', 'archive', async (messages) => void late.push(...messages.map(value)));
    await accepted;
    expect(late).toEqual([1]);
  });

  it('shares one group among subscriptions with the same name, each message once', async () => {
    open();
    const byWorker: number[][] = [[], []];
    for (const worker of [0, 1]) {
      await bus.subscribe('logs', 'stats', async (messages) => {
        await new Promise((r) => setTimeout(r, 2));
        byWorker[worker]!.push(...messages.map(value));
      }, { batchSize: 5 });
    }
    await Promise.all(range(0, 9).map((i) => bus.publish('logs', range(i * 10 + 1, i * 10 + 10).map(bytes))));
    const all = [...byWorker[0]!, ...byWorker[1]!].sort((x, y) => x - y);
    expect(all).toEqual(range(1, 100));
    expect(byWorker[0]!.length).toBeGreaterThan(0);
    expect(byWorker[1]!.length).toBeGreaterThan(0);
  });

  it('retries a failing batch in place and reports attempts; the ack floor trails what is done', async () => {
    open();
    const contexts: BatchContext[] = [];
    let failures = 1;
    await bus.subscribe('logs', 'stats', async (_messages, context) => {
      contexts.push(context);
      if (failures-- > 0) throw new Error('database busy');
    }, { retryDelayMs: 1 });
    await bus.publish('logs', [bytes(1), bytes(2)]);
    await bus.publish('logs', [bytes(3)]);
    expect(contexts.map((c) => [c.attempt, c.ackFloor])).toEqual([[1, 0], [2, 0], [1, 2]]);
  });

  it('fails the publish with BusDeliveryError when a handler keeps failing, then carries on', async () => {
    open();
    const seen: number[] = [];
    let calls = 0;
    await bus.subscribe('logs', 'stats', async (messages) => {
      calls += 1;
      if (messages.some((m) => value(m) === 13)) throw new TypeError('bug on 13');
      seen.push(...messages.map(value));
    }, { maxAttempts: 2, retryDelayMs: 1, batchSize: 1 });
    const error = await bus.publish('logs', [bytes(13)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusDeliveryError);
    expect((error as BusDeliveryError).cause).toBeInstanceOf(TypeError);
    expect(calls).toBe(2);
    await bus.publish('logs', [bytes(14)]);
    expect(seen).toEqual([14]);
  });

  it('close() drains queued messages, then refuses publishes and subscriptions', async () => {
    open();
    const seen: number[] = [];
    await bus.subscribe('logs', 'stats', async (messages) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(...messages.map(value));
    }, { batchSize: 3 });
    const accepted = bus.publish('logs', range(1, 30).map(bytes));
    await bus.close();
    await expect(accepted).resolves.toHaveLength(30);
    expect(seen).toEqual(range(1, 30));
    await expect(bus.publish('logs', [bytes(1)])).rejects.toBeInstanceOf(BusClosedError);
    await expect(bus.subscribe('logs', 'x', async () => {})).rejects.toBeInstanceOf(BusClosedError);
  });

  it('close() gives up after its timeout and fails publishers it could not serve', async () => {
    open();
    await bus.subscribe('logs', 'stats', () => new Promise<void>(() => {}));
    const stuck = bus.publish('logs', [bytes(1)]);
    const waiting = bus.publish('idle-topic', [bytes(2)]);
    const started = Date.now();
    await bus.close({ timeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(stuck).rejects.toBeInstanceOf(BusClosedError);
    await expect(waiting).rejects.toBeInstanceOf(BusClosedError);
  });

  it('Subscription.stop() leaves later messages for the next subscriber of the group', async () => {
    open();
    const first: number[] = [];
    const sub = await bus.subscribe('logs', 'stats', async (messages) => void first.push(...messages.map(value)));
    await bus.publish('logs', [bytes(1)]);
    await sub.stop();
    const accepted = bus.publish('logs', [bytes(2)]);
    expect(await isPending(accepted)).toBe(true);
    const second: number[] = [];
    await bus.subscribe('logs', 'stats', async (messages) => void second.push(...messages.map(value)));
    await accepted;
    expect([first, second]).toEqual([[1], [2]]);
  });

  it('validates topic and consumer names', async () => {
    open();
    await expect(bus.publish('a.b', [bytes(1)])).rejects.toThrow(/Invalid bus topic/);
    await expect(bus.subscribe('logs', 'a b', async () => {})).rejects.toThrow(/Invalid bus consumer/);
  });
});
