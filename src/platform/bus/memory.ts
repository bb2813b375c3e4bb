import { randomUUID } from 'node:crypto';
import { BusClosedError, BusDeliveryError, BusFullError, BusMessageTooLargeError } from './errors.js';
import { isUnavailableError } from '../outage.js';
import { runHandler } from './handler.js';
import { assertConsumer, assertTopic, resolveSubscribeOptions, toPublishMessage, type ResolvedSubscribeOptions } from './names.js';
import { Signal, settlesBefore, waitUntil } from './signal.js';
import type {
  BatchHandler,
  BusLogger,
  BusMessage,
  CloseOptions,
  ConsumerDeclaration,
  EventBus,
  PublishMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from './types.js';

/**
 * The in-process bus of the embedded deployment. Nothing here survives the process, so durability
 * comes from the consumers: `publish` resolves only when every consumer group of the topic has
 * processed the messages (their handlers committed them to the store). A crash loses only messages
 * no publisher was told were accepted.
 *
 * The queue is bounded (messages and bytes across topics); a publish that does not fit fails at once
 * with BusFullError and keeps nothing. Consumer groups: subscriptions with the same name share the
 * group's messages; each group sees every message. A group created at subscribe time starts at the
 * oldest message still held; declare groups in `consumers` so messages wait for them from the start.
 */
export interface MemoryBusOptions {
  logger: BusLogger;
  /** Messages held (published, not yet processed by every group), all topics together. Default 100,000. */
  maxQueuedMessages?: number;
  /** Bytes of message data held, all topics together. Default 256 MiB. */
  maxQueuedBytes?: number;
  /** Largest `data` of one message. Default 1 MiB - 1 KiB, what the JetStream bus allows on a default
   * NATS server, so a publisher that fits here fits there. */
  maxMessageBytes?: number;
  /** Retry-After suggested by BusFullError. Default 1 s. */
  retryAfterSeconds?: number;
  /** Default of `close()`'s timeout. Default 30 s. */
  drainTimeoutMs?: number;
  consumers?: readonly ConsumerDeclaration[];
}

interface Ticket {
  remaining: number;
  settled: boolean;
  receipts: PublishReceipt[];
  resolve: (receipts: PublishReceipt[]) => void;
  reject: (error: unknown) => void;
}

interface Entry {
  message: BusMessage;
  bytes: number;
  ticket: Ticket;
}

interface Taken {
  first: number;
  last: number;
  messages: BusMessage[];
  ackFloor: number;
}

/** Counts one message of a publish as processed by every group, or fails the whole publish at once. */
function settle(ticket: Ticket, failure?: unknown): void {
  if (ticket.settled) return;
  if (failure !== undefined) {
    ticket.settled = true;
    ticket.reject(failure);
    return;
  }
  ticket.remaining -= 1;
  if (ticket.remaining === 0) {
    ticket.settled = true;
    ticket.resolve(ticket.receipts);
  }
}

class Group {
  readonly subscriptions = new Set<MemorySubscription>();
  private readonly inFlight = new Set<Taken>();

  constructor(
    readonly name: string,
    private readonly topic: Topic,
    /** Next seq to hand out. */
    private nextSeq: number,
  ) {}

  /** Every seq at or below it has been processed by this group. */
  floor(): number {
    let floor = this.nextSeq - 1;
    for (const taken of this.inFlight) floor = Math.min(floor, taken.first - 1);
    return floor;
  }

  caughtUp(): boolean {
    return this.inFlight.size === 0 && this.nextSeq >= this.topic.nextSeq;
  }

  take(max: number): Taken | undefined {
    const count = Math.min(max, this.topic.nextSeq - this.nextSeq);
    if (count <= 0) return undefined;
    const taken: Taken = { first: this.nextSeq, last: this.nextSeq + count - 1, messages: [], ackFloor: this.floor() };
    for (let seq = taken.first; seq <= taken.last; seq += 1) taken.messages.push(this.topic.entry(seq).message);
    this.nextSeq += count;
    this.inFlight.add(taken);
    return taken;
  }

  complete(taken: Taken, failure?: unknown): void {
    this.inFlight.delete(taken);
    if (failure !== undefined) {
      for (let seq = taken.first; seq <= taken.last; seq += 1) {
        const entry = this.topic.find(seq);
        if (entry) settle(entry.ticket, failure);
      }
    }
    this.topic.trim();
  }
}

class Topic {
  /** Held entries in seq order; `head` is the index of the oldest (cheap removal from the front). */
  private entries: (Entry | undefined)[] = [];
  private head = 0;
  nextSeq = 1;
  readonly groups = new Map<string, Group>();
  readonly arrivals = new Signal();

  constructor(
    readonly name: string,
    private readonly bus: MemoryBus,
  ) {}

  firstHeldSeq(): number {
    return this.entries[this.head]?.message.seq ?? this.nextSeq;
  }

  group(name: string): Group {
    let group = this.groups.get(name);
    if (!group) {
      group = new Group(name, this, this.firstHeldSeq());
      this.groups.set(name, group);
    }
    return group;
  }

  append(entry: Entry): void {
    this.entries.push(entry);
    this.nextSeq = entry.message.seq + 1;
  }

  find(seq: number): Entry | undefined {
    const first = this.firstHeldSeq();
    return seq < first ? undefined : this.entries[this.head + seq - first];
  }

  entry(seq: number): Entry {
    const entry = this.find(seq);
    if (!entry) throw new Error(`memory bus: message ${seq} of topic ${this.name} is no longer held`);
    return entry;
  }

  /** Releases messages every group has processed and settles their publishers. */
  trim(): void {
    if (this.groups.size === 0) return;
    let floor = Number.POSITIVE_INFINITY;
    for (const group of this.groups.values()) floor = Math.min(floor, group.floor());
    for (let entry = this.entries[this.head]; entry && entry.message.seq <= floor; entry = this.entries[this.head]) {
      this.entries[this.head] = undefined;
      this.head += 1;
      this.bus.release(entry.bytes);
      settle(entry.ticket);
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.bus.progress.notify();
  }

  /** Fails the publishers of everything still held (at close). */
  failAll(error: unknown): void {
    for (let i = this.head; i < this.entries.length; i += 1) {
      const entry = this.entries[i];
      if (!entry) continue;
      this.bus.release(entry.bytes);
      settle(entry.ticket, error);
    }
    this.entries = [];
    this.head = 0;
  }
}

class MemorySubscription implements Subscription {
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly bus: MemoryBus,
    private readonly source: Topic,
    private readonly group: Group,
    private readonly handler: BatchHandler,
    private readonly options: ResolvedSubscribeOptions,
  ) {
    this.done = this.run();
  }

  get topic(): string {
    return this.source.name;
  }

  get consumer(): string {
    return this.group.name;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const taken = this.group.take(this.options.batchSize);
      if (!taken) {
        await this.source.arrivals.wait();
        continue;
      }
      let failure: unknown;
      try {
        await runHandler(
          this.handler,
          taken.messages,
          { topic: this.topic, consumer: this.consumer, epoch: this.bus.epoch, ackFloor: taken.ackFloor },
          this.options,
          { unlimited: false, signal: this.bus.abort.signal, logger: this.bus.logger },
        );
      } catch (error) {
        failure = error instanceof BusClosedError ? error : new BusDeliveryError(this.consumer, error);
        // An outage is logged once by the store; its publishers get a 503 with Retry-After.
        if (!(error instanceof BusClosedError) && !isUnavailableError(error)) {
          this.bus.logger.error({ err: error, topic: this.topic, consumer: this.consumer, firstSeq: taken.first, count: taken.messages.length }, 'bus handler gave up; publishers get an error');
        }
      }
      this.group.complete(taken, failure);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.source.arrivals.notify();
    await this.done;
    this.group.subscriptions.delete(this);
    this.bus.progress.notify();
  }

  /** Resolves when the loop ended; for close(), which may give up on it. */
  finished(): Promise<void> {
    return this.done;
  }
}

class MemoryBus implements EventBus {
  readonly kind = 'memory' as const;
  readonly maxMessageBytes: number;
  readonly epoch = `memory-${randomUUID()}`;
  readonly progress = new Signal();
  /** Aborted when close() stops waiting: retry delays end and pending publishers are failed. */
  readonly abort = new AbortController();
  readonly logger: BusLogger;
  private readonly topics = new Map<string, Topic>();
  private readonly maxQueuedMessages: number;
  private readonly maxQueuedBytes: number;
  private readonly retryAfterSeconds: number;
  private readonly drainTimeoutMs: number;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private closing: Promise<void> | undefined;

  constructor(options: MemoryBusOptions) {
    this.logger = options.logger;
    this.maxQueuedMessages = options.maxQueuedMessages ?? 100_000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 256 * 1024 * 1024;
    this.maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024 - 1024;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    for (const { topic, name } of options.consumers ?? []) {
      assertTopic(topic);
      assertConsumer(name);
      this.topic(topic).group(name);
    }
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = new Topic(name, this);
      this.topics.set(name, topic);
    }
    return topic;
  }

  release(bytes: number): void {
    this.queuedMessages -= 1;
    this.queuedBytes -= bytes;
  }

  async publish(topicName: string, input: ReadonlyArray<Uint8Array | PublishMessage>): Promise<PublishReceipt[]> {
    assertTopic(topicName);
    if (this.closing) throw new BusClosedError();
    if (input.length === 0) return [];
    const messages = input.map(toPublishMessage);
    let bytes = 0;
    for (const { data, size = data.byteLength } of messages) {
      // The limit is on bytes that would travel; `size` of a handed-over value is only an estimate
      // for the queue bound (a publisher's rounding must not turn an acceptable request into a 413).
      if (data.byteLength > this.maxMessageBytes) throw new BusMessageTooLargeError(data.byteLength, this.maxMessageBytes);
      if (!(Number.isFinite(size) && size >= 0)) throw new TypeError(`A bus message size must be a finite number >= 0, got ${size}.`);
      bytes += size;
    }
    if (this.queuedMessages + messages.length > this.maxQueuedMessages || this.queuedBytes + bytes > this.maxQueuedBytes) {
      throw new BusFullError(
        `The in-process event queue is full (${this.queuedMessages} messages, ${this.queuedBytes} bytes held); retry later.`,
        this.retryAfterSeconds,
      );
    }
    const topic = this.topic(topicName);
    const publishedAt = new Date();
    const accepted = new Promise<PublishReceipt[]>((resolve, reject) => {
      const ticket: Ticket = { remaining: messages.length, settled: false, receipts: [], resolve, reject };
      for (const { data, id, value, size = data.byteLength } of messages) {
        const seq = topic.nextSeq;
        ticket.receipts.push({ seq, duplicate: false });
        const message: BusMessage = { topic: topicName, seq, epoch: this.epoch, id: id ?? `${this.epoch}/${seq}`, data, publishedAt, deliveries: 1 };
        if (value !== undefined) message.value = value;
        topic.append({ message, bytes: size, ticket });
      }
    });
    this.queuedMessages += messages.length;
    this.queuedBytes += bytes;
    topic.arrivals.notify();
    return accepted;
  }

  async subscribe(topicName: string, consumer: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription> {
    assertTopic(topicName);
    assertConsumer(consumer);
    if (this.closing) throw new BusClosedError();
    const topic = this.topic(topicName);
    const group = topic.group(consumer);
    const subscription = new MemorySubscription(this, topic, group, handler, resolveSubscribeOptions(options));
    group.subscriptions.add(subscription);
    return subscription;
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(Date.now() + (options.timeoutMs ?? this.drainTimeoutMs));
    return this.closing;
  }

  private async shutdown(deadline: number): Promise<void> {
    const groups = () => [...this.topics.values()].flatMap((t) => [...t.groups.values()]);
    // Drain: groups with a running subscription work off what is queued; the others cannot.
    const drained = await waitUntil(() => groups().every((g) => g.subscriptions.size === 0 || g.caughtUp()), this.progress, deadline);
    const subscriptions = groups().flatMap((g) => [...g.subscriptions]);
    const stopped = drained && (await settlesBefore(Promise.all(subscriptions.map((s) => s.stop())), deadline));
    if (!stopped) {
      this.logger.warn({ subscriptions: subscriptions.length }, 'memory bus closed before its consumers finished; their publishers get an error');
      this.abort.abort(new BusClosedError());
      for (const subscription of subscriptions) void subscription.stop();
    }
    for (const topic of this.topics.values()) {
      topic.failAll(new BusClosedError());
      topic.arrivals.notify();
    }
  }
}

export function createMemoryBus(options: MemoryBusOptions): EventBus {
  return new MemoryBus(options);
}
