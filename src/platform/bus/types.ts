/**
 * The event bus between ingest and processing: one interface, two adapters (in-process memory and
 * NATS JetStream). Delivery is at least once; every message carries a position (`epoch`, `seq`) so a
 * processor can make its effects exactly once by checkpointing positions with its results
 * (see `planBatch` in tracker.ts).
 */

/** One message as a publisher hands it over. A bare `Uint8Array` is the same as `{ data }`. */
export interface PublishMessage {
  data: Uint8Array;
  /**
   * Optional stable id chosen by the publisher (e.g. derived from an idempotency key). JetStream
   * drops a second publish with the same id inside the stream's duplicate window; both adapters
   * hand it to subscribers as `BusMessage.id`.
   */
  id?: string;
  /**
   * In-process bus only: the decoded form of `data`, handed to subscribers as `BusMessage.value`
   * so one process does not encode and decode every message it hands itself. `data` may then be
   * empty. Every consumer group receives the same object: subscribers must not change it.
   * JetStream carries bytes only and refuses a message with a `value` (it would arrive without
   * it); publishers check `EventBus.kind` to know which to give.
   */
  value?: unknown;
  /**
   * In-process bus only: what the message stands for in the queue's byte bound when `data` does
   * not hold it (default `data.byteLength`). An estimate, so not held to `maxMessageBytes`, which
   * limits bytes that travel.
   */
  size?: number;
}

export interface PublishReceipt {
  /** The position the bus gave the message (for a duplicate: the original's, when the bus knows it). */
  seq: number;
  /** True when JetStream recognised the id as already stored; the message was not stored again. */
  duplicate: boolean;
}

export interface BusMessage {
  topic: string;
  /**
   * Position of the message, increasing in publish order within one epoch (JetStream: the stream
   * sequence, so not contiguous per topic; memory: a per-topic counter).
   */
  seq: number;
  /**
   * Identity of the sequence space `seq` belongs to. It changes when sequences restart: a new
   * process for the memory bus, a deleted and recreated stream for JetStream. Positions from
   * another epoch say nothing about this one.
   */
  epoch: string;
  /** Publisher-given id, else `<epoch>/<seq>`; the same on every redelivery. */
  id: string;
  data: Uint8Array;
  /** The publisher's `value` (in-process bus only): use it instead of decoding `data`; read-only, other groups get it too. */
  value?: unknown;
  publishedAt: Date;
  /** 1 on first delivery; more when the bus redelivers (JetStream after a crash or ack timeout). */
  deliveries: number;
}

/** What a handler learns about the batch besides its messages. */
export interface BatchContext {
  topic: string;
  consumer: string;
  epoch: string;
  /**
   * Every message of this consumer with `seq <= ackFloor` has been acknowledged and will not be
   * delivered again (JetStream: the consumer's ack floor, refreshed about once a second; memory:
   * the group's completed prefix). A processor may forget dedupe state at or below it.
   */
  ackFloor: number;
  /** 1 on the first call for this batch; higher when the bus retries it in place after a failure. */
  attempt: number;
}

/**
 * Processes one batch. Resolve only once the batch's effects are durable (committed): the bus then
 * acknowledges it. Reject to have it retried; never leave the promise pending on purpose.
 */
export type BatchHandler = (messages: BusMessage[], context: BatchContext) => Promise<void>;

export interface SubscribeOptions {
  /** Most messages per handler call. Default 256. */
  batchSize?: number;
  /**
   * Memory bus: calls of the handler for one batch before its publishers get a BusDeliveryError and
   * the group moves on (nothing was acknowledged to them, so nothing is lost). JetStream retries
   * without limit instead: the consumer stalls visibly (error logs, growing backlog, BusFullError at
   * publish) rather than skipping data, because skipping would open a hole every later checkpoint
   * has to carry. Default 3.
   */
  maxAttempts?: number;
  /** Delay before the second attempt; doubles for each further one. Default 200 ms. */
  retryDelayMs?: number;
  /** Cap of that doubling delay. Default 30 s. */
  maxRetryDelayMs?: number;
  /**
   * JetStream only: how long a delivered message may stay unacknowledged before the server
   * delivers it again. The subscriber extends it while a handler is still working, so this is
   * the time to notice a crashed subscriber, not a processing budget. Default 30 s.
   */
  ackWaitMs?: number;
  /** JetStream only: most unacknowledged messages outstanding for the durable. Default 4 × batchSize. */
  maxAckPending?: number;
}

export interface Subscription {
  readonly topic: string;
  readonly consumer: string;
  /**
   * Stops taking new messages, lets the batch in progress finish (and, for JetStream, processes
   * what was already fetched) and resolves. Undelivered messages stay with the durable consumer.
   */
  stop(): Promise<void>;
}

export interface CloseOptions {
  /**
   * How long to wait for queued messages and running handlers to finish. After it, handlers still
   * running are abandoned unacknowledged (JetStream redelivers their messages; the memory bus fails
   * their publishers with BusClosedError). Default: the bus's drainTimeoutMs (30 s).
   */
  timeoutMs?: number;
}

/** A consumer (durable) the bus creates at open, so messages are kept for it before it subscribes. */
export interface ConsumerDeclaration {
  topic: string;
  name: string;
}

export interface EventBus {
  readonly kind: 'memory' | 'jetstream';
  /** Largest `data` one message may carry (JetStream: the server's max_payload minus header room). */
  readonly maxMessageBytes: number;
  /**
   * Publishes messages in order and resolves once the bus has durably accepted all of them:
   * JetStream, when the stream acknowledged each one; memory, when every consumer group of the
   * topic has processed them (durability then comes from what the handlers stored).
   * Fails fast with BusFullError when the bus is at capacity (nothing of the call is kept by the
   * memory bus; JetStream may have stored a prefix, which a retry with the same ids dedupes).
   */
  publish(topic: string, messages: ReadonlyArray<Uint8Array | PublishMessage>): Promise<PublishReceipt[]>;
  /**
   * Delivers the topic's messages in batches to `handler`. Subscriptions with the same `consumer`
   * name share the work (each message goes to one of them); different names each get every
   * message. Resolves once the subscription is set up.
   */
  subscribe(topic: string, consumer: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Refuses new publishes, drains queued work, stops subscriptions and disconnects. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
}

/** The slice of a pino logger the bus uses. */
export interface BusLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}
