/**
 * The event bus between ingest and processing. Import from here only.
 *
 *   const bus = await openBus({ natsUrl: config.NATS_URL, logger, consumers: [{ topic: 'logs', name: 'stats' }] });
 *   await bus.publish('logs', [encoded]);                 // resolves once durably accepted
 *   await bus.subscribe('logs', 'stats', async (messages, ctx) => { ... }, { batchSize: 500 });
 *   await bus.close();
 *
 * Delivery is at least once; make effects exactly once with `planBatch` (tracker.ts).
 */
import { createMemoryBus, type MemoryBusOptions } from './memory.js';
import { openJetStreamBus, type JetStreamBusOptions } from './jetstream.js';
import type { BusLogger, ConsumerDeclaration, EventBus } from './types.js';

export type { BatchContext, BusLogger, BusMessage, ConsumerDeclaration, EventBus, PublishMessage, Subscription } from './types.js';
export { BusDeliveryError, BusFullError, BusMessageTooLargeError } from './errors.js';
export { planBatch, type BatchPlan, type BusCheckpoint } from './tracker.js';

export interface OpenBusOptions {
  /** NATS server URL(s), e.g. from NATS_URL. Set: JetStream bus. Unset: in-process bus. */
  natsUrl?: string | undefined;
  logger: BusLogger;
  /** JetStream stream name. Default "VIGIL". */
  streamName?: string;
  /** JetStream subjects are `<prefix>.<topic>`. Default "vigil". */
  subjectPrefix?: string;
  /** Consumers that must receive every message from the start, even before they first subscribe. */
  consumers?: readonly ConsumerDeclaration[];
  /** Settings for the in-process bus (queue bounds...). */
  memory?: Omit<MemoryBusOptions, 'logger' | 'consumers'>;
  /** Settings for the JetStream bus (stream limits, timeouts...). */
  jetstream?: Omit<JetStreamBusOptions, 'natsUrl' | 'logger' | 'consumers' | 'streamName' | 'subjectPrefix'>;
}

/** The in-process bus without a NATS URL, the JetStream bus with one. */
export async function openBus(options: OpenBusOptions): Promise<EventBus> {
  const { natsUrl, logger, consumers } = options;
  if (!natsUrl) return createMemoryBus({ ...options.memory, logger, ...(consumers ? { consumers } : {}) });
  return openJetStreamBus({
    ...options.jetstream,
    natsUrl,
    logger,
    ...(consumers ? { consumers } : {}),
    ...(options.streamName ? { streamName: options.streamName } : {}),
    ...(options.subjectPrefix ? { subjectPrefix: options.subjectPrefix } : {}),
  });
}
