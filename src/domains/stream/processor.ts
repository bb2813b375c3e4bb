/**
 * The stream processor: consumes accepted log events from the bus and, in ONE transaction per
 * batch, stores them raw (hot store), adds them to the event-time statistics, and saves its
 * watermarks and bus position. A crash at any point either commits all of that or none of it, and
 * a redelivered message is recognised by its position (`planBatch`), so every acknowledged event
 * is stored once and counted once.
 */
import type { Logger } from 'pino';
import { LOG_TOPIC, readLogMessage, ensurePartitionsFor, insertEventGroups, PartitionManager, type LogMessage } from '../logs/index.js';
import { planBatch, type BatchContext, type BusMessage, type EventBus, type Subscription } from '../../platform/bus/index.js';
import type { LiveHub } from '../../platform/live.js';
import { transactionWithCopy, type Store } from '../../platform/store/index.js';
import { addCounts, createCheckpoint, loadProgress, lockCheckpoint, mergeSketches, saveCheckpoint, saveProgress } from './processor-store.js';
import { aggregateBatch, type StreamTiming } from './traffic-aggregate.js';

/** The bus consumer group of the statistics processor; its checkpoint row has this name. */
export const TRAFFIC_CONSUMER = 'traffic';

/** Bus messages (each up to one ingest request) per transaction: larger batches, fewer commits. */
const BATCH_MESSAGES = 64;
/**
 * Cap of the doubling delay between attempts at a failed batch. Failures that last are outages
 * (the database restarting), after which the backlog must move again within seconds, not after
 * the bus's default 30 s.
 */
const MAX_RETRY_DELAY_MS = 2000;

export interface ProcessorOptions {
  store: Store;
  bus: EventBus;
  live: LiveHub;
  logger: Logger;
  timing: StreamTiming;
}

/** What one committed batch changed for one organisation (the live event's payload). */
export interface TrafficUpdate {
  /** ISO; buckets ending at or before it are final. */
  watermark: string | null;
  /** ISO of the newest event time in the batch. */
  newest: string;
  /** Events stored for this organisation by the batch. */
  count: number;
}

export interface StreamProcessor {
  stop(): Promise<void>;
}

export async function startStreamProcessor(options: ProcessorOptions): Promise<StreamProcessor> {
  const { store, bus, logger, timing } = options;
  const partitions = new PartitionManager(store.db);
  const live = new TrafficLive(options.live);
  await createCheckpoint(store.db, TRAFFIC_CONSUMER);

  const handle = async (messages: BusMessage[], context: BatchContext): Promise<void> => {
    // Partitions are created before the transaction (DDL); reading every message is cheap next to storing it.
    const decoded = new Map<number, LogMessage>(messages.map((m) => [m.seq, readLogMessage(m)]));
    await ensurePartitionsFor(partitions, [...decoded.values()]);
    const updates = await transactionWithCopy(store, async (trx, copy) => {
      const checkpoint = await lockCheckpoint(trx, TRAFFIC_CONSUMER);
      const plan = planBatch(checkpoint, messages, context);
      const groups = plan.fresh.map((m) => decoded.get(m.seq)!);
      const before = await loadProgress(trx, TRAFFIC_CONSUMER, [...new Set(groups.map((g) => g.orgId))]);
      const result = aggregateBatch(groups, before, timing);
      await insertEventGroups(
        trx,
        groups.map((g, i) => ({ orgId: g.orgId, events: g.events, tooLate: result.tooLate[i]! })),
        copy,
      );
      await addCounts(trx, result.counts);
      await mergeSketches(trx, result.sketches);
      await saveProgress(trx, TRAFFIC_CONSUMER, result.progress);
      await saveCheckpoint(trx, TRAFFIC_CONSUMER, plan.next);
      if (plan.duplicates > 0) logger.info({ duplicates: plan.duplicates, seqs: [messages[0]?.seq, messages.at(-1)?.seq] }, 'stream processor: skipped redelivered messages');
      return updatesOf(groups, result.progress);
    });
    for (const [orgId, update] of updates) live.publish(orgId, update);
  };

  const subscription: Subscription = await bus.subscribe(LOG_TOPIC, TRAFFIC_CONSUMER, handle, { batchSize: BATCH_MESSAGES, maxRetryDelayMs: MAX_RETRY_DELAY_MS });
  logger.info({ bus: bus.kind }, 'stream processor started');
  return {
    async stop() {
      await subscription.stop();
      live.stop();
    },
  };
}

function updatesOf(groups: readonly LogMessage[], progress: ReadonlyMap<string, { watermark: number | null }>): Map<string, TrafficUpdate> {
  const updates = new Map<string, TrafficUpdate>();
  for (const g of groups) {
    if (g.events.length === 0) continue;
    const newest = Math.max(...g.events.map((e) => e.timestamp));
    const watermark = progress.get(g.orgId)?.watermark ?? null;
    const prior = updates.get(g.orgId);
    updates.set(g.orgId, {
      watermark: watermark === null ? null : new Date(watermark).toISOString(),
      newest: new Date(Math.max(newest, prior ? Date.parse(prior.newest) : -Infinity)).toISOString(),
      count: (prior?.count ?? 0) + g.events.length,
    });
  }
  return updates;
}

/** Live events are sent at most this often per organisation; the last update of a burst is always sent. */
const LIVE_INTERVAL_MS = 500;

/**
 * Tells dashboards that traffic statistics and logs changed: `traffic` and `logs` events on this
 * instance, and an announcement for other instances (which turn it into the same events when
 * they have watchers). Throttled per organisation so a busy ingest does not flood browsers.
 */
class TrafficLive {
  private readonly pending = new Map<string, TrafficUpdate>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly hub: LiveHub) {}

  publish(orgId: string, update: TrafficUpdate): void {
    const waiting = this.pending.get(orgId);
    this.pending.set(orgId, waiting ? { ...update, count: waiting.count + update.count } : update);
    if (this.timers.has(orgId)) return;
    this.flush(orgId);
    this.timers.set(
      orgId,
      setTimeout(() => {
        this.timers.delete(orgId);
        if (this.pending.has(orgId)) this.flush(orgId);
      }, LIVE_INTERVAL_MS).unref(),
    );
  }

  private flush(orgId: string): void {
    const update = this.pending.get(orgId);
    if (!update) return;
    this.pending.delete(orgId);
    publishTrafficUpdate(this.hub, orgId, update);
    this.hub.announce(orgId, { topic: TRAFFIC_TOPIC, id: JSON.stringify(update) });
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

const TRAFFIC_TOPIC = 'traffic';

function publishTrafficUpdate(hub: LiveHub, orgId: string, update: TrafficUpdate): void {
  hub.publish(orgId, { type: 'traffic', data: { watermark: update.watermark, newest: update.newest } });
  hub.publish(orgId, { type: 'logs', data: { count: update.count, newest: update.newest } });
}

/**
 * On every instance that serves dashboards: turns other instances' announcements of committed
 * batches into local live events (the announcement carries the whole small update).
 */
export function relayTrafficUpdates(hub: LiveHub): void {
  hub.onRemoteChange(TRAFFIC_TOPIC, async (orgId, id) => {
    const update = JSON.parse(id) as TrafficUpdate;
    publishTrafficUpdate(hub, orgId, update);
  });
}
