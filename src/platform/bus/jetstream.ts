import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import pRetry from 'p-retry';
import { OutageLog } from '../outage.js';
import { every, type Worker } from '../worker.js';
import { BusClosedError, BusFullError, BusMessageTooLargeError, BusUnavailableError } from './errors.js';
import { runHandler } from './handler.js';
import { assertConsumer, assertTopic, durableName, resolveSubscribeOptions, toPublishMessage, type ResolvedSubscribeOptions } from './names.js';
import { Signal, settlesBefore } from './signal.js';
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
 * The scaled-out bus: one JetStream stream (file storage) holding every topic as subject
 * `<subjectPrefix>.<topic>`; each consumer is a durable pull consumer `<topic>__<name>` with
 * explicit acks. Publish resolves when the stream acknowledged every message. Subscriptions ack a
 * batch only after its handler resolved, so a crash leads to redelivery (at least once), never loss.
 *
 * Messages are removed once every durable consumer has acknowledged them: the stream holds the
 * backlog, not history. The stream has limits retention and the bus trims it below its consumers'
 * lowest ack floor itself (`trim`), rather than leaving that to interest retention: nats-server 2.9 loses acknowledged messages of an interest-retention stream across a
 * server restart (a publish acknowledged just before the restart is never delivered to the
 * consumer; seen in a few restarts out of five under load), and "acknowledged" must mean kept.
 * Declare the consumers (`consumers`) so messages published before a processor first subscribes
 * are trimmed only once it has them (as with interest retention, a topic nobody consumes does not
 * keep its messages once the other consumers are past them).
 */
export interface JetStreamBusOptions {
  natsUrl: string;
  logger: BusLogger;
  /** Default "VIGIL". */
  streamName?: string;
  /** Subjects are `<prefix>.<topic>`; the stream owns `<prefix>.>`. Default "vigil". */
  subjectPrefix?: string;
  /** Stream size limit; at the limit publishes fail with BusFullError (discard policy "new"). Default 1 GiB; -1 unlimited. */
  maxBytes?: number;
  /** Default -1 (unlimited). */
  maxMessages?: number;
  /** Age after which messages are dropped even if unread; 0 (default) never. */
  maxAgeMs?: number;
  /** Window in which a repeated publisher id is dropped as a duplicate. Default 2 min. */
  duplicateWindowMs?: number;
  /** Wait for one publish acknowledgement. Default 5 s. */
  publishTimeoutMs?: number;
  /** Messages being published and not yet acknowledged, beyond which publish fails fast. Default 50,000. */
  maxPendingPublishes?: number;
  /** Retry-After suggested by BusFullError. Default 1 s. */
  retryAfterSeconds?: number;
  /** Default of `close()`'s timeout. Default 30 s. */
  drainTimeoutMs?: number;
  /** How often a subscription re-reads its consumer's ack floor for `BatchContext.ackFloor`. Default 1 s. */
  ackFloorRefreshMs?: number;
  /** Durables created at open (if missing) so interest-retention keeps messages for them. */
  consumers?: readonly ConsumerDeclaration[];
  /** Shown in the NATS server's connection list. Default "vigil". */
  connectionName?: string;
  /** How often acknowledged messages are removed from the stream (see `trim`). Default 1 s. */
  trimIntervalMs?: number;
}

/** Headers (message id) travel inside NATS's max_payload; keep room for them. */
const HEADER_ROOM = 1024;
const MAX_ID_LENGTH = 256;

const apiCode = (error: unknown): number | undefined => (error instanceof JetStreamApiError ? error.code : undefined);
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;
/** "maximum messages/bytes exceeded": the stream is at a limit with discard policy "new". */
const STORE_FULL = 10077;

class JetStreamSubscription implements Subscription {
  /** Fetched, not yet handed to the handler. Bounded by the consumer's max_ack_pending. */
  private buffer: JsMsg[] = [];
  private inFlight: JsMsg[] = [];
  private readonly arrivals = new Signal();
  private pullClosed = false;
  private stopping: Promise<void> | undefined;
  private done: Promise<void> = Promise.resolve();
  private keepAlive: NodeJS.Timeout | undefined;
  private messages: ConsumerMessages | undefined;
  private ackFloor = 0;
  private ackFloorAt = 0;

  constructor(
    private readonly bus: JetStreamBus,
    readonly topic: string,
    readonly consumer: string,
    private readonly source: Consumer,
    private readonly handler: BatchHandler,
    private readonly options: ResolvedSubscribeOptions,
    private readonly epoch: string,
  ) {}

  async start(): Promise<void> {
    await this.pull();
    // Held messages (fetched or being handled) would be redelivered after ack_wait although this
    // subscriber is alive and busy; "working" acks restart their timers.
    this.keepAlive = setInterval(() => {
      try {
        for (const message of this.inFlight) message.working();
        for (const message of this.buffer) message.working();
      } catch (error) {
        // Connection closed under us: the server will redeliver, nothing to keep alive any more.
        this.bus.logger.debug({ err: error, topic: this.topic, consumer: this.consumer }, 'could not extend ack wait');
      }
    }, Math.max(250, Math.floor(this.options.ackWaitMs / 3)));
    this.keepAlive.unref();
    this.done = this.run();
  }

  /** Starts pulling; if the pull ends with an error while we still want messages, starts it again. */
  private async pull(): Promise<void> {
    const messages = await this.source.consume({
      max_messages: this.options.batchSize,
      // The library's callback must be synchronous: it only queues, the loop below does the work.
      callback: (message) => {
        this.buffer.push(message);
        this.arrivals.notify();
      },
    });
    this.messages = messages;
    void messages.closed().then((error) => {
      if (!error || this.stopping || this.pullClosed) return;
      // The client gives up on a pull only for good reasons (consumer deleted, say); NATS restarts
      // are ridden out inside it. Try again with a back-off rather than stop processing for good.
      this.bus.logger.error({ err: error, topic: this.topic, consumer: this.consumer }, 'JetStream consumer stopped delivering; pulling again');
      void pRetry(() => this.pull(), { retries: Number.POSITIVE_INFINITY, minTimeout: 500, maxTimeout: 5000, signal: this.bus.abort.signal, shouldRetry: () => !this.stopping && !this.pullClosed }).catch(
        () => undefined,
      );
    });
  }

  private toBusMessage(message: JsMsg): BusMessage {
    return {
      topic: this.topic,
      seq: message.seq,
      epoch: this.epoch,
      id: message.headers?.get('Nats-Msg-Id') || `${this.epoch}/${message.seq}`,
      data: message.data,
      publishedAt: message.time,
      deliveries: message.info.deliveryCount,
    };
  }

  private async refreshAckFloor(): Promise<void> {
    // While NATS is away the request would only wait for its timeout; the floor we have is still correct.
    if (!this.bus.connected || Date.now() - this.ackFloorAt < this.bus.ackFloorRefreshMs) return;
    try {
      const info = await this.source.info();
      this.ackFloor = Math.max(this.ackFloor, info.ack_floor.stream_seq);
      this.ackFloorAt = Date.now();
    } catch (error) {
      // A stale floor is still a correct lower bound; try again at the next batch.
      this.bus.logger.debug({ err: error, topic: this.topic, consumer: this.consumer }, 'could not read the consumer ack floor');
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.buffer.length === 0) {
        if (this.pullClosed) return;
        await this.arrivals.wait();
        continue;
      }
      const batch = this.buffer.splice(0, this.options.batchSize);
      this.inFlight = batch;
      await this.refreshAckFloor();
      try {
        await runHandler(
          this.handler,
          batch.map((m) => this.toBusMessage(m)),
          { topic: this.topic, consumer: this.consumer, epoch: this.epoch, ackFloor: this.ackFloor },
          this.options,
          { unlimited: true, signal: this.bus.abort.signal, logger: this.bus.logger },
        );
      } catch {
        // Only the bus's forced close ends the retries: leave the batch unacknowledged so the
        // server redelivers it to whoever subscribes next.
        this.inFlight = [];
        return;
      }
      try {
        for (const message of batch) message.ack();
      } catch (error) {
        // The connection is gone: the batch comes back as a redelivery, which the checkpoint dedupes.
        this.bus.logger.warn({ err: error, topic: this.topic, consumer: this.consumer }, 'could not acknowledge a handled batch');
      }
      this.inFlight = [];
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Stop pulling; what was fetched already is still handled (and acked) before we finish.
      await this.messages?.close().catch(() => undefined);
      this.pullClosed = true;
      this.arrivals.notify();
      await this.done;
      clearInterval(this.keepAlive);
      this.bus.forget(this);
    })();
    return this.stopping;
  }

  /** Forced close: hand fetched-but-unhandled messages back to the server at once. */
  abandon(): void {
    try {
      for (const message of this.buffer) message.nak();
    } catch {
      // Connection already gone: the server redelivers after ack wait anyway.
    }
    this.buffer = [];
    this.pullClosed = true;
    this.arrivals.notify();
    clearInterval(this.keepAlive);
  }
}

class JetStreamBus implements EventBus {
  readonly kind = 'jetstream' as const;
  readonly maxMessageBytes: number;
  readonly abort = new AbortController();
  readonly logger: BusLogger;
  readonly ackFloorRefreshMs: number;
  private readonly js: JetStreamClient;
  private readonly subscriptions = new Set<JetStreamSubscription>();
  private readonly pendingPublishes = new Set<Promise<unknown>>();
  private pendingCount = 0;
  private closing: Promise<void> | undefined;
  /** False from a disconnect until the client reconnected (it keeps trying without limit). */
  connected = true;
  /** NATS outages, logged once each (not once per refused publish). */
  private readonly outage: OutageLog;
  /** The sequence below which this bus last trimmed the stream. */
  private trimmedBelow = 0;
  private trimmer: Worker | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly prefix: string,
    private readonly options: JetStreamBusOptions,
  ) {
    this.logger = options.logger;
    this.js = jetstream(nc);
    this.maxMessageBytes = nc.info ? nc.info.max_payload - HEADER_ROOM : 1024 * 1024 - HEADER_ROOM;
    this.ackFloorRefreshMs = options.ackFloorRefreshMs ?? 1000;
    this.outage = new OutageLog(options.logger, 'NATS');
    void this.watchConnection();
  }

  startTrimming(): void {
    this.trimmer = every(this.options.trimIntervalMs ?? 1000, () => this.trim(), (error) => {
      // Harmless when it fails: messages stay a little longer and the next round removes them.
      this.logger.warn({ err: error, stream: this.stream }, 'could not remove acknowledged messages from the JetStream stream');
    });
  }

  /**
   * Removes the messages every durable consumer of the stream has acknowledged: those below the
   * lowest ack floor. A consumer with nothing pending has all its messages up to the stream's last
   * sequence acknowledged (read before the consumers, so a message published meanwhile is above
   * it), however old its floor: a quiet topic does not hold the others back. Without consumers
   * nothing is removed. Consumers persist their ack floors, so what goes has been acknowledged for
   * good. One purge below a sequence for the whole stream, not per subject: nats-server 2.9 drops a
   * consumer's unacknowledged deliveries on a purge filtered by subject, which would lose them.
   */
  async trim(): Promise<void> {
    if (!this.connected || this.closing) return;
    const last = (await this.jsm.streams.info(this.stream)).state.last_seq;
    let floor = Number.POSITIVE_INFINITY;
    for await (const consumer of this.jsm.consumers.list(this.stream)) {
      const caughtUp = consumer.num_pending === 0 && consumer.num_ack_pending === 0;
      floor = Math.min(floor, caughtUp ? Math.max(consumer.ack_floor.stream_seq, last) : consumer.ack_floor.stream_seq);
    }
    // Nothing to remove (and a purge "below 1" would not be a no-op: the server reads it as "purge all").
    if (!Number.isFinite(floor) || floor < 1 || floor + 1 <= this.trimmedBelow) return;
    // Purge by sequence keeps the message with `seq` and everything after it.
    await this.jsm.streams.purge(this.stream, { seq: floor + 1 });
    this.trimmedBelow = floor + 1;
  }

  /** Follows the connection's status: publishes fail fast while it is down, and the outage is logged once. */
  private async watchConnection(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') {
          this.connected = false;
          this.outage.began();
        } else if (status.type === 'reconnect') {
          this.connected = true;
          this.outage.reachable();
        }
      }
    } catch (error) {
      this.logger.debug({ err: error }, 'NATS status stream ended');
    }
  }

  subject(topic: string): string {
    return `${this.prefix}.${topic}`;
  }

  async epoch(): Promise<string> {
    // The stream's creation time tells a recreated stream (sequences restarted) from the old one.
    const info = await this.jsm.streams.info(this.stream);
    return `${this.stream}@${info.created}`;
  }

  async publish(topic: string, input: ReadonlyArray<Uint8Array | PublishMessage>): Promise<PublishReceipt[]> {
    assertTopic(topic);
    if (this.closing) throw new BusClosedError();
    if (input.length === 0) return [];
    const messages = input.map(toPublishMessage);
    for (const { data, id, value } of messages) {
      // Only `data` reaches the server: a value handed over in place of bytes would arrive as nothing.
      if (value !== undefined) throw new TypeError('The JetStream bus carries bytes only: publish the encoded message as data, without a value.');
      if (data.byteLength > this.maxMessageBytes) throw new BusMessageTooLargeError(data.byteLength, this.maxMessageBytes);
      if (id !== undefined && (id.length === 0 || id.length > MAX_ID_LENGTH)) {
        throw new TypeError(`A bus message id must have 1-${MAX_ID_LENGTH} characters.`);
      }
    }
    // Published while disconnected, a message would wait in the client's buffer past the request
    // timeout and might still be stored after the client was told it was not (it would then send
    // it again): refuse at once instead.
    if (!this.connected) throw new BusUnavailableError('Vigil is not connected to NATS right now (reconnecting); retry after the delay in Retry-After.');
    const limit = this.options.maxPendingPublishes ?? 50_000;
    if (this.pendingCount + messages.length > limit) {
      throw new BusFullError(`Too many messages are waiting for JetStream to acknowledge them (${this.pendingCount}); retry later.`, this.options.retryAfterSeconds);
    }
    const subject = this.subject(topic);
    const timeout = this.options.publishTimeoutMs ?? 5000;
    this.pendingCount += messages.length;
    // All sent at once (pipelined on one connection, so stored in this order), then all awaited.
    const all = Promise.allSettled(messages.map(({ data, id }) => this.js.publish(subject, data, id === undefined ? { timeout } : { msgID: id, timeout })));
    this.pendingPublishes.add(all);
    let results: PromiseSettledResult<PubAck>[];
    try {
      results = await all;
    } finally {
      this.pendingPublishes.delete(all);
      this.pendingCount -= messages.length;
    }
    const receipts: PublishReceipt[] = [];
    for (const result of results) {
      if (result.status === 'rejected') throw this.publishError(result.reason);
      receipts.push({ seq: result.value.seq, duplicate: result.value.duplicate });
    }
    this.outage.reachable();
    return receipts;
  }

  private publishError(error: unknown): Error {
    if (apiCode(error) === STORE_FULL) {
      return new BusFullError(`The event stream is at its size limit; retry later.`, this.options.retryAfterSeconds, { cause: error });
    }
    // Timeouts, no responders (NATS restarting), disconnects: the outage is logged once.
    this.outage.began(error);
    // Timeouts, no responders (reported as "jetstream is not enabled"), reconnecting, draining.
    return new BusUnavailableError('The event stream did not accept the messages; retry later.', undefined, { cause: error });
  }

  /** Creates the durable if missing; with `options`, brings ack wait and max ack pending in line. */
  async ensureConsumer(topic: string, name: string, options?: ResolvedSubscribeOptions): Promise<void> {
    const durable = durableName(topic, name);
    const filter = this.subject(topic);
    const settings = options ?? resolveSubscribeOptions();
    const tunables = { ack_wait: nanos(settings.ackWaitMs), max_ack_pending: settings.maxAckPending };
    const existing = await this.jsm.consumers.info(this.stream, durable).catch((error: unknown) => {
      if (apiCode(error) === CONSUMER_NOT_FOUND) return undefined;
      throw error;
    });
    if (!existing) {
      const config: Partial<ConsumerConfig> = {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: filter,
        // Never give up on a message: a dropped one would be lost to the processor.
        max_deliver: -1,
        ...tunables,
      };
      await this.jsm.consumers.add(this.stream, config);
      this.logger.info({ stream: this.stream, consumer: durable }, 'created JetStream consumer');
      return;
    }
    if (existing.config.filter_subject !== filter) {
      throw new Error(`JetStream consumer ${durable} filters ${existing.config.filter_subject ?? '(nothing)'}, expected ${filter}; delete it or pick another name.`);
    }
    if (options && (existing.config.ack_wait !== tunables.ack_wait || existing.config.max_ack_pending !== tunables.max_ack_pending)) {
      await this.jsm.consumers.update(this.stream, durable, tunables);
      this.logger.info({ stream: this.stream, consumer: durable, ...tunables }, 'updated JetStream consumer');
    }
  }

  async subscribe(topic: string, consumer: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription> {
    assertTopic(topic);
    assertConsumer(consumer);
    if (this.closing) throw new BusClosedError();
    const resolved = resolveSubscribeOptions(options);
    await this.ensureConsumer(topic, consumer, resolved);
    const source = await this.js.consumers.get(this.stream, durableName(topic, consumer));
    const subscription = new JetStreamSubscription(this, topic, consumer, source, handler, resolved, await this.epoch());
    await subscription.start();
    this.subscriptions.add(subscription);
    return subscription;
  }

  forget(subscription: JetStreamSubscription): void {
    this.subscriptions.delete(subscription);
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(Date.now() + (options.timeoutMs ?? this.options.drainTimeoutMs ?? 30_000));
    return this.closing;
  }

  private async shutdown(deadline: number): Promise<void> {
    await this.trimmer?.stop();
    const subscriptions = [...this.subscriptions];
    const stopped = await settlesBefore(Promise.all(subscriptions.map((s) => s.stop())), deadline);
    if (!stopped) {
      this.logger.warn({ subscriptions: subscriptions.length }, 'JetStream bus closed before its handlers finished; their messages will be redelivered');
      this.abort.abort(new BusClosedError());
      for (const subscription of subscriptions) subscription.abandon();
    }
    await settlesBefore(Promise.all(this.pendingPublishes), deadline);
    // drain() flushes the acks still in the socket buffer; close() does not wait for anything.
    if (stopped) await this.nc.drain().catch(() => this.nc.close());
    else await this.nc.close();
  }
}

async function ensureStream(jsm: JetStreamManager, name: string, prefix: string, options: JetStreamBusOptions): Promise<StreamInfo> {
  // Not interest retention: see the note on JetStreamBusOptions (the bus trims acknowledged messages itself).
  const retention = RetentionPolicy.Limits;
  const mutable = {
    subjects: [`${prefix}.>`],
    discard: DiscardPolicy.New,
    max_bytes: options.maxBytes ?? 1024 ** 3,
    max_msgs: options.maxMessages ?? -1,
    max_age: nanos(options.maxAgeMs ?? 0),
    duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
  } satisfies Partial<StreamConfig>;
  const existing = await jsm.streams.info(name).catch((error: unknown) => {
    if (apiCode(error) === STREAM_NOT_FOUND) return undefined;
    throw error;
  });
  if (!existing) {
    try {
      return await jsm.streams.add({ name, storage: StorageType.File, retention, num_replicas: 1, ...mutable });
    } catch (error) {
      // Another instance created it between our look-up and our create: use theirs.
      if (apiCode(error) !== STREAM_NAME_IN_USE) throw error;
      return ensureStream(jsm, name, prefix, options);
    }
  }
  const config = existing.config;
  if (config.storage !== StorageType.File) {
    throw new Error(`JetStream stream ${name} exists with storage=${config.storage}; Vigil needs storage=file, which cannot be changed in place. Delete the stream or set VIGIL_NATS_STREAM to another name.`);
  }
  if (config.retention !== retention) {
    // Streams made by earlier versions have interest retention, which NATS does not change in place
    // (and which loses messages across restarts, see above): the stream must be replaced.
    throw new Error(
      `JetStream stream ${name} has retention=${config.retention}; Vigil needs retention=${retention}. ` +
        `Stop the ingest instances, let the processors catch up, then delete the stream (nats stream rm ${name}) or set VIGIL_NATS_STREAM to a new name.`,
    );
  }
  const differs =
    config.subjects.join(',') !== mutable.subjects.join(',') ||
    config.discard !== mutable.discard ||
    config.max_bytes !== mutable.max_bytes ||
    config.max_msgs !== mutable.max_msgs ||
    config.max_age !== mutable.max_age ||
    config.duplicate_window !== mutable.duplicate_window;
  return differs ? jsm.streams.update(name, { ...config, ...mutable }) : existing;
}

/**
 * Connects, creates or updates the stream and the declared consumers. Fails (and disconnects) when
 * NATS is unreachable or JetStream is off, so a misconfigured deployment stops at start.
 */
export async function openJetStreamBus(options: JetStreamBusOptions): Promise<EventBus> {
  const stream = options.streamName ?? 'VIGIL';
  const prefix = options.subjectPrefix ?? 'vigil';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) throw new TypeError(`Invalid JetStream stream name "${stream}".`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) throw new TypeError(`Invalid subject prefix "${prefix}".`);
  const nc = await connect({
    servers: options.natsUrl,
    name: options.connectionName ?? 'vigil',
    // Keep trying through a NATS restart; publishes meanwhile fail with BusUnavailableError.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await ensureStream(jsm, stream, prefix, options);
    options.logger.info({ stream, subjects: info.config.subjects, retention: info.config.retention }, 'JetStream event bus ready');
    const bus = new JetStreamBus(nc, jsm, stream, prefix, options);
    for (const { topic, name } of options.consumers ?? []) {
      assertTopic(topic);
      assertConsumer(name);
      await bus.ensureConsumer(topic, name);
    }
    bus.startTrimming();
    return bus;
  } catch (error) {
    await nc.close();
    throw error;
  }
}
