/**
 * The stream processor: consumes accepted log events from the bus and, in ONE transaction per
 * batch, stores them raw (hot store), adds them to the event-time statistics, and saves its
 * watermarks and bus position. A crash at any point either commits all of that or none of it, and
 * a redelivered message is recognised by its position (`planBatch`), so every acknowledged event
 * is stored once and counted once.
 *
 * Invariants:
 * - Raw events, their too-late flags, counters, sketches, the watermark progress and the bus
 *   position of a batch are committed together, so the statistics always equal a recount of the
 *   stored events that are not too late.
 * - Between batches the processor keeps the progress it committed (watermarks, sources) in memory
 *   with the checkpoint's version (the "tip"), and works a batch out before its transaction. The
 *   work is written only if the locked checkpoint still has the version the tip expects (no other
 *   instance committed since); otherwise the batch is worked out again inside the transaction from
 *   what it reads there.
 */
import type { Logger } from 'pino';
import { LOG_TOPIC, readLogMessage, ensurePartitionsFor, insertEventGroups, PartitionManager, recordRejections, sampleOf, type LogMessage } from '../logs/index.js';
import { planBatch, type BatchContext, type BatchPlan, type BusCheckpoint, type BusMessage, type EventBus, type Subscription } from '../../platform/bus/index.js';
import type { LiveHub } from '../../platform/live.js';
import { asSystem, transactionWithCopy, type Store } from '../../platform/store/index.js';
import { addCounts, createCheckpoint, loadProgress, lockCheckpoint, mergeSketches, saveCheckpoint, saveProgress } from './processor-store.js';
import { findPoison, isDataError } from './poison.js';
import { aggregateBatch, type BatchAggregate, type OrgProgress, type StreamTiming } from './traffic-aggregate.js';

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

/** Thrown at the end of a trial transaction so that it rolls back. */
const TRIAL = Symbol('trial');

/** One event of a batch: the bus message it came in and its index there. */
interface EventRef {
  seq: number;
  index: number;
}

const keyOf = (ref: EventRef): string => `${ref.seq}:${ref.index}`;

/** Organisations whose progress is kept in memory; the least recently used are read again when needed. */
const CACHED_ORGS = 256;

/** A batch worked out against a known checkpoint and progress: everything its transaction writes. */
interface Prepared {
  plan: BatchPlan;
  groups: LogMessage[];
  result: BatchAggregate;
}

/** A batch prepared against the tip, and the checkpoint version it expects. */
interface Ahead {
  prepared: Prepared;
  expected: number;
}

/** What one batch's transaction committed. */
interface Committed {
  updates: Map<string, TrafficUpdate>;
  progress: Map<string, OrgProgress>;
  version: number;
  position: BusCheckpoint;
}

/**
 * What the database will hold once every batch this processor has prepared is committed: the
 * checkpoint's version and position and the progress of recently seen organisations. Unknown at
 * start, after a failed batch and when an organisation is not in memory; then the next batch is
 * worked out inside its transaction from what it reads there. Keys are kept in use order (a used
 * organisation moves to the end) so the oldest are dropped first.
 *
 * Safety does not depend on this being right: a batch prepared against the tip is written only if
 * the locked checkpoint has exactly the version the tip expected (every commit adds one, ours and
 * other instances'), and is worked out again inside the transaction otherwise.
 */
class Tip {
  known = false;
  version = -1;
  position: BusCheckpoint | null = null;
  private readonly progress = new Map<string, OrgProgress>();

  reset(): void {
    this.known = false;
    this.progress.clear();
  }

  /**
   * After a batch was worked out and committed inside its transaction: the tip is what it committed.
   * Nothing else is kept: another instance may have changed any other organisation before it.
   */
  establish(version: number, position: BusCheckpoint, progress: ReadonlyMap<string, OrgProgress>): void {
    this.progress.clear();
    this.known = true;
    this.advance(version, position, progress);
  }

  /** The progress of `orgIds`, when all of it is in memory. */
  lookup(orgIds: Iterable<string>): Map<string, OrgProgress> | undefined {
    const found = new Map<string, OrgProgress>();
    for (const orgId of orgIds) {
      const p = this.progress.get(orgId);
      if (!p) return undefined;
      found.set(orgId, p);
    }
    return found;
  }

  /** Known organisations among `orgIds` if the tip describes checkpoint version `version`, and the others. */
  partial(version: number, orgIds: readonly string[]): { known: Map<string, OrgProgress>; missing: string[] } {
    const known = new Map<string, OrgProgress>();
    const missing: string[] = [];
    const valid = this.known && version === this.version;
    for (const orgId of orgIds) {
      const p = valid ? this.progress.get(orgId) : undefined;
      if (p) known.set(orgId, p);
      else missing.push(orgId);
    }
    return { known, missing };
  }

  /** A batch prepared against the tip moves it (the tip must be known). */
  advance(version: number, position: BusCheckpoint, progress: ReadonlyMap<string, OrgProgress>): void {
    this.version = version;
    this.position = position;
    for (const [orgId, p] of progress) {
      this.progress.delete(orgId);
      this.progress.set(orgId, p);
    }
    for (const orgId of this.progress.keys()) {
      if (this.progress.size <= CACHED_ORGS) break;
      this.progress.delete(orgId);
    }
  }
}

/** The events of each message that `keep` selects (a message whose events are all kept is reused as is). */
function keptEvents(decoded: ReadonlyMap<number, LogMessage | Error>, keep: (ref: EventRef) => boolean): Map<number, LogMessage> {
  const kept = new Map<number, LogMessage>();
  for (const [seq, message] of decoded) {
    if (message instanceof Error) continue;
    const events = message.events.filter((_, index) => keep({ seq, index }));
    kept.set(seq, events.length === message.events.length ? message : { orgId: message.orgId, events });
  }
  return kept;
}

export async function startStreamProcessor(options: ProcessorOptions): Promise<StreamProcessor> {
  const { store, bus, logger, timing } = options;
  const partitions = new PartitionManager(store.db);
  const live = new TrafficLive(options.live);
  const tip = new Tip();
  await asSystem('the stream processor\'s checkpoint', () => createCheckpoint(store.db, TRAFFIC_CONSUMER));

  /** Pure CPU work of a batch against a checkpoint position and the progress before it (encoding the raw rows is left to COPY, where it overlaps PostgreSQL's work). */
  const work = (position: BusCheckpoint | null, messages: BusMessage[], context: BatchContext, kept: ReadonlyMap<number, LogMessage>, before: ReadonlyMap<string, OrgProgress>): Prepared => {
    const plan = planBatch(position, messages, context);
    const groups = plan.fresh.flatMap((m) => kept.get(m.seq) ?? []);
    const result = aggregateBatch(groups, before, timing);
    return { plan, groups, result };
  };

  /** The batch worked out against the tip, ahead of its transaction; undefined when the tip is not known well enough. */
  const speculate = (messages: BusMessage[], context: BatchContext, kept: ReadonlyMap<number, LogMessage>): Ahead | undefined => {
    if (!tip.known) return undefined;
    const orgIds = new Set<string>();
    for (const m of kept.values()) orgIds.add(m.orgId);
    const before = tip.lookup(orgIds);
    if (!before) {
      tip.reset();
      return undefined;
    }
    const prepared = work(tip.position, messages, context, kept, before);
    const expected = tip.version;
    tip.advance(expected + 1, prepared.plan.next, prepared.result.progress);
    return { prepared, expected };
  };

  /**
   * Stores the events of the batch that `keep` selects, aggregates them and moves the checkpoint, in
   * one transaction. Events left out are recorded in `log_rejections` with their reason (`setAside`),
   * in that same transaction, so a redelivery skips them like the rest. A `trial` rolls back at the end.
   * `ahead` is the batch prepared against the tip: written as it is when the checkpoint is where
   * the tip expected it, else the batch is worked out again here.
   */
  const transact = async (
    messages: BusMessage[],
    context: BatchContext,
    decoded: ReadonlyMap<number, LogMessage | Error>,
    kept: ReadonlyMap<number, LogMessage>,
    setAside: ReadonlyMap<number, { index: number; reason: string }[]>,
    trial: boolean,
    ahead?: Ahead,
  ): Promise<Committed> => {
    // Partitions are created before the transaction (DDL); reading every message is cheap next to storing it.
    await ensurePartitionsFor(partitions, [...kept.values()]);
    return transactionWithCopy(store, async (trx, copy) => {
      const checkpoint = await lockCheckpoint(trx, TRAFFIC_CONSUMER);
      let prepared: Prepared;
      if (ahead && checkpoint.version === ahead.expected) prepared = ahead.prepared;
      else {
        const orgIds = new Set<string>();
        for (const m of planBatch(checkpoint.position, messages, context).fresh) {
          const message = kept.get(m.seq);
          if (message) orgIds.add(message.orgId);
        }
        const { known: before, missing } = tip.partial(checkpoint.version, [...orgIds]);
        for (const [orgId, p] of await loadProgress(trx, TRAFFIC_CONSUMER, missing)) before.set(orgId, p);
        prepared = work(checkpoint.position, messages, context, kept, before);
      }
      const { plan, groups, result } = prepared;
      await insertEventGroups(
        trx,
        groups.map((g, i) => ({ orgId: g.orgId, events: g.events, tooLate: result.tooLate[i]! })),
        copy,
      );
      await addCounts(trx, result.counts);
      await mergeSketches(trx, result.sketches);
      await saveProgress(trx, TRAFFIC_CONSUMER, result.progress);
      for (const m of plan.fresh) {
        const message = decoded.get(m.seq);
        const aside = setAside.get(m.seq);
        if (message === undefined || message instanceof Error || aside === undefined) continue;
        await recordRejections(
          trx,
          message.orgId,
          aside.map(({ index, reason }) => ({ stage: 'processing', protocol: null, position: {}, reason, sample: sampleOf(message.events[index]) })),
        );
      }
      const version = await saveCheckpoint(trx, TRAFFIC_CONSUMER, plan.next);
      if (trial) throw TRIAL;
      if (plan.duplicates > 0) logger.info({ duplicates: plan.duplicates, seqs: [messages[0]?.seq, messages.at(-1)?.seq] }, 'stream processor: skipped redelivered messages');
      for (const m of plan.fresh) {
        const message = decoded.get(m.seq);
        // Not ours to read (another version's format, a stray publisher): skipped, never retried forever.
        if (message instanceof Error) logger.error({ err: message, seq: m.seq, id: m.id }, 'stream processor: skipped a bus message that is not a log message');
      }
      return { updates: updatesOf(groups, result.progress), progress: result.progress, version, position: plan.next };
    });
  };

  /** A transaction that is not a trial: on success the tip is what it committed, on failure unknown. */
  const commit = async (
    messages: BusMessage[],
    context: BatchContext,
    decoded: ReadonlyMap<number, LogMessage | Error>,
    kept: ReadonlyMap<number, LogMessage>,
    setAside: ReadonlyMap<number, { index: number; reason: string }[]>,
    ahead?: Ahead,
  ): Promise<Map<string, TrafficUpdate>> => {
    try {
      const done = await transact(messages, context, decoded, kept, setAside, false, ahead);
      // A batch written as prepared moved the tip when it was prepared.
      if (!(ahead && ahead.prepared.plan.next === done.position)) tip.establish(done.version, done.position, done.progress);
      return done.updates;
    } catch (error) {
      tip.reset();
      throw error;
    }
  };

  /**
   * After a batch failed on its data: the events that fail alone, found with trial transactions
   * (rolled back), then the batch committed without them. A database outage during the search
   * rejects (the bus retries the batch later) and sets nothing aside.
   */
  const isolate = async (messages: BusMessage[], context: BatchContext, decoded: ReadonlyMap<number, LogMessage | Error>, failure: unknown): Promise<Map<string, TrafficUpdate>> => {
    const refs: EventRef[] = [];
    for (const [seq, message] of decoded) if (!(message instanceof Error)) message.events.forEach((_, index) => refs.push({ seq, index }));
    const poison = await findPoison(refs, async (subset) => {
      const chosen = new Set(subset.map(keyOf));
      try {
        await transact(messages, context, decoded, keptEvents(decoded, (ref) => chosen.has(keyOf(ref))), new Map(), true);
        return undefined;
      } catch (error) {
        if (error === TRIAL) return undefined;
        if (isDataError(error)) return error;
        throw error;
      }
    });
    if (poison.length === 0) throw failure;
    const setAside = new Map<number, { index: number; reason: string }[]>();
    const out = new Set<string>();
    for (const { item, error } of poison) {
      out.add(keyOf(item));
      const reason = `could not be stored, set aside: ${error instanceof Error ? error.message : String(error)}`;
      setAside.set(item.seq, [...(setAside.get(item.seq) ?? []), { index: item.index, reason }]);
    }
    logger.warn(
      { err: failure, setAside: poison.map((p) => ({ seq: p.item.seq, index: p.item.index, reason: p.error instanceof Error ? p.error.message : String(p.error) })) },
      'stream processor: events that failed their batch were set aside; the rest is stored',
    );
    return commit(messages, context, decoded, keptEvents(decoded, (ref) => !out.has(keyOf(ref))), setAside);
  };

  /**
   * One bus batch: decoded and, when the tip is known, aggregated before its transaction (the
   * checkpoint lock is held only for the writes), then written. The bus hands batches over one at a
   * time. Two subscriptions, so that the next batch would be prepared while one is written, were
   * measured and did not pay: the second took messages as soon as they arrived, batches shrank from
   * ~6 requests to ~2.7 and the cost per batch ate the overlap (53,000 against 62,000 events/s).
   * Measured again (issue 11, git history of this file): raw events stored before the lock so that
   * they overlap the previous commit, the next batch cut only once the previous one got far enough
   * (a `ready` gate on the bus): 43,500 ungated, 50,800 cut after the raw events, 55,900–56,700 cut
   * after the counters, against 55,100–56,700 as here. Then (before migration 019's BYPASSRLS
   * role) a 4-request batch (~62 ms) spent ~15 ms in COPY, ~15 ms moving the rows from a staging
   * table into log_events, ~17 ms upserting ~1,500 counter rows. Now (every statement logged, 97
   * batches of ~4 requests, ~82 ms each on a slower machine): COPY straight into log_events 32.5 ms
   * (Node's encoding streams into it), the counter upsert 14 ms, COMMIT 1.9 ms, the rest ~2.5 ms.
   * Batches are what amortises this: with 16 clients instead of 8 (batches of ~8 requests) the
   * same build took 59,000 events/s instead of 41,000.
   */
  const handle = async (messages: BusMessage[], context: BatchContext): Promise<void> => {
    const decoded = new Map<number, LogMessage | Error>(messages.map((m) => [m.seq, readSafely(m)]));
    const kept = keptEvents(decoded, () => true);
    let updates: Map<string, TrafficUpdate>;
    try {
      updates = await commit(messages, context, decoded, kept, new Map(), speculate(messages, context, kept));
    } catch (error) {
      // Only a failure caused by the data is worth searching; an outage is retried by the bus as it is.
      if (!isDataError(error)) throw error;
      updates = await isolate(messages, context, decoded, error);
    }
    for (const [orgId, update] of updates) live.publish(orgId, update);
  };

  // The stream carries every organisation's events, and a batch writes them in one transaction.
  const acrossOrgs = (messages: BusMessage[], context: BatchContext) => asSystem('the stream processor stores and aggregates every organisation\'s events', () => handle(messages, context));
  const subscription: Subscription = await bus.subscribe(LOG_TOPIC, TRAFFIC_CONSUMER, acrossOrgs, { batchSize: BATCH_MESSAGES, maxRetryDelayMs: MAX_RETRY_DELAY_MS });
  logger.info({ bus: bus.kind }, 'stream processor started');
  return {
    async stop() {
      await subscription.stop();
      live.stop();
    },
  };
}

/** A bus message's events, or why it holds none (it is skipped rather than failing its batch on every retry). */
function readSafely(message: BusMessage): LogMessage | Error {
  try {
    return readLogMessage(message);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function updatesOf(groups: readonly LogMessage[], progress: ReadonlyMap<string, { watermark: number | null }>): Map<string, TrafficUpdate> {
  const updates = new Map<string, TrafficUpdate>();
  for (const g of groups) {
    if (g.events.length === 0) continue;
    // A loop, not Math.max(...spread): a message can hold more events than a call has room for arguments.
    let newest = -Infinity;
    for (const e of g.events) if (e.timestamp > newest) newest = e.timestamp;
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
