/**
 * The stream processor: consumes accepted log events from the bus and, in ONE transaction per
 * batch, stores them raw (hot store) with their too-late flags and saves its bus position; it adds
 * them to the event-time statistics in memory and writes those (counters, sketches, watermark
 * progress) with a batch at most a second later. A crash at any point either commits a batch or
 * not, a redelivered message is recognised by its position (`planBatch`), and statistics lost with
 * a processor's memory are counted again from the stored rows, so every acknowledged event is
 * stored once and counted once.
 *
 * Invariants:
 * - Raw events, their too-late flags and the bus position of a batch are committed together.
 * - The statistics tables (counters, sketches, progress) include exactly the batches through the
 *   checkpoint's `counted_version`, and of log_events the rows through `counted_id`. Every batch
 *   takes the checkpoint's lock before it inserts, so ids grow in commit order and the events of
 *   the batches after `counted_version` are exactly the rows above `counted_id`.
 * - Every commit that writes the checkpoint adds one to its version (batches, and statistics
 *   written on their own). A processor keeps in memory (the "tip") the version it committed last,
 *   the progress of recent organisations and the statistics of its batches not yet written
 *   (`PendingStats`: exactly the batches after `counted_version`). They are used only while the
 *   locked checkpoint still has that version (no other instance committed since); otherwise, or
 *   after any failed transaction, they are dropped, and the transaction first counts the batches
 *   after `counted_version` again from their rows (judged as stored), writes that with its own batch
 *   and so brings `counted_version` up to date. Hence the statistics always equal a recount of the
 *   stored events that are not too late, once written.
 * - Readers see statistics and watermarks of the same write (both are written together), never a
 *   watermark ahead of its counters. After a lost memory the watermark continues from the written
 *   one: it never goes back as readers see it.
 */
import type { Logger } from 'pino';
import { LOG_TOPIC, readLogMessage, countableEventsAfter, ensurePartitionsFor, insertEventGroups, PartitionManager, recordRejections, sampleOf, type LogMessage } from '../logs/index.js';
import { planBatch, type BatchContext, type BatchPlan, type BusCheckpoint, type BusMessage, type EventBus, type Subscription } from '../../platform/bus/index.js';
import type { LiveHub } from '../../platform/live.js';
import { asSystem, transactionWithCopy, type Db, type Store } from '../../platform/store/index.js';
import { addCounts, createCheckpoint, loadProgress, lockCheckpoint, mergeSketches, saveCheckpoint, saveProgress, type LockedCheckpoint } from './processor-store.js';
import { PendingStats } from './pending-stats.js';
import { findPoison, isDataError } from './poison.js';
import { BatchCounter, countJudged, judgeBatch, type BatchAggregate, type BatchJudgement, type OrgProgress, type StreamTiming } from './traffic-aggregate.js';
import { SourceBook } from './sources.js';

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

/**
 * Statistics are written with the first batch that starts this long after they began waiting. Under
 * sustained load, batches follow each other without a pause, and their statistics are merged in
 * memory until then (ingest bench, few shape: a counter upsert of ~1,550 rows, ~30 ms, with every
 * ~4-request batch, was ~35 % of PostgreSQL's time per batch).
 */
const STATS_WRITE_INTERVAL_MS = 1000;
/** Statistics waiting after the last commit are written on their own when no batch comes within this. */
const IDLE_WRITE_MS = 50;
/** Counter rows waiting at most: beyond, the next batch writes them whatever the interval (bounds memory and one write's size). */
const MAX_PENDING_COUNT_ROWS = 50_000;

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

/** A batch worked out against a known checkpoint and progress: everything its transaction writes but the statistics, counted while it stores the events. */
interface Prepared {
  plan: BatchPlan;
  groups: LogMessage[];
  judged: BatchJudgement;
}

/** A batch prepared against the tip, and the checkpoint version it expects. */
interface Ahead {
  prepared: Prepared;
  expected: number;
}

/** What one batch's transaction committed. */
interface Committed {
  progress: Map<string, OrgProgress>;
  version: number;
  position: BusCheckpoint;
  /** The statistics waiting in the tip were written with it (and are to be cleared). */
  wroteStats: boolean;
}

/**
 * What the database will hold once every batch this processor has prepared is committed: the
 * checkpoint's version and position, the progress of recently seen organisations, and the
 * statistics of the batches committed since they were last written (`pending`). Unknown at start,
 * after a failed transaction and when another instance committed; then the next batch is worked
 * out inside its transaction from what it reads there. Keys are kept in use order (a used
 * organisation moves to the end) so the oldest are dropped first; organisations whose progress is
 * waiting to be written are always found in `pending`.
 *
 * Safety does not depend on this being right: a batch prepared against the tip is written only if
 * the locked checkpoint has exactly the version the tip expected (every commit adds one, ours and
 * other instances'), and is worked out again inside the transaction otherwise, where `pending` is
 * dropped and counted again from the stored rows.
 */
class Tip {
  known = false;
  version = -1;
  position: BusCheckpoint | null = null;
  private readonly progress = new Map<string, OrgProgress>();
  /** Statistics of the batches after the checkpoint's counted_version: kept exactly as long as they are known to be that. */
  readonly pending = new PendingStats();

  reset(): void {
    this.known = false;
    this.progress.clear();
    this.pending.clear();
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

  private find(orgId: string): OrgProgress | undefined {
    return this.pending.progress.get(orgId) ?? this.progress.get(orgId);
  }

  /** The progress of `orgIds`, when all of it is in memory. */
  lookup(orgIds: Iterable<string>): Map<string, OrgProgress> | undefined {
    const found = new Map<string, OrgProgress>();
    for (const orgId of orgIds) {
      const p = this.find(orgId);
      if (!p) return undefined;
      found.set(orgId, p);
    }
    return found;
  }

  /**
   * Organisations among `orgIds` whose progress is known for checkpoint version `version`, and the
   * others. Progress waiting to be written is known whenever the tip is (it is dropped with it).
   */
  partial(version: number, orgIds: readonly string[]): { known: Map<string, OrgProgress>; missing: string[] } {
    const known = new Map<string, OrgProgress>();
    const missing: string[] = [];
    const valid = this.known && version === this.version;
    for (const orgId of orgIds) {
      const p = valid ? this.find(orgId) : this.pending.progress.get(orgId);
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

/** Writes counters, sketches and progress (the rows of `PendingStats`, or of one trial batch). */
async function writeStats(trx: Db, stats: Pick<BatchAggregate, 'counts' | 'sketches' | 'progress'>): Promise<void> {
  await addCounts(trx, stats.counts);
  await mergeSketches(trx, stats.sketches);
  await saveProgress(trx, TRAFFIC_CONSUMER, stats.progress);
}

export async function startStreamProcessor(options: ProcessorOptions): Promise<StreamProcessor> {
  const { store, bus, logger, timing } = options;
  const partitions = new PartitionManager(store.db);
  const live = new TrafficLive(options.live);
  const tip = new Tip();
  await asSystem('the stream processor\'s checkpoint', () => createCheckpoint(store.db, TRAFFIC_CONSUMER));
  /** When the statistics in `tip.pending` began waiting; null when none wait. */
  let waitingSince: number | null = null;
  /** When this processor's last batch transaction ended: a batch whose requests all came later found it idle. */
  let lastCommitAt = -Infinity;
  let idleTimer: NodeJS.Timeout | undefined;
  /**
   * After a write on its own failed (the database away): the delay before trying it again, 0 when
   * none failed. Without a retry, a stream that stays quiet after an outage would keep its
   * statistics behind its stored events until its next event.
   */
  let retryAloneMs = 0;
  /** The statistics being written on their own, which a batch waits for. */
  let writingAlone: Promise<void> = Promise.resolve();
  let handling = false;

  /**
   * What a batch's rows need, against a checkpoint position and the progress before it: its fresh
   * messages and their events judged. Counting them is left to the transaction, while PostgreSQL
   * stores the rows, and so is encoding the rows the decode thread did not (COPY pulls them).
   */
  const work = (position: BusCheckpoint | null, messages: BusMessage[], context: BatchContext, kept: ReadonlyMap<number, LogMessage>, before: ReadonlyMap<string, OrgProgress>): Prepared => {
    const plan = planBatch(position, messages, context);
    const groups = plan.fresh.flatMap((m) => kept.get(m.seq) ?? []);
    return { plan, groups, judged: judgeBatch(groups, before, timing) };
  };

  /** The batch worked out against the tip, ahead of its transaction; undefined when the tip is not known well enough. */
  const speculate = (messages: BusMessage[], context: BatchContext, kept: ReadonlyMap<number, LogMessage>): Ahead | undefined => {
    if (!tip.known) return undefined;
    const orgIds = new Set<string>();
    for (const m of kept.values()) orgIds.add(m.orgId);
    // Organisations not in memory are read inside the transaction (the tip stays valid).
    const before = tip.lookup(orgIds);
    if (!before) return undefined;
    const prepared = work(tip.position, messages, context, kept, before);
    const expected = tip.version;
    tip.advance(expected + 1, prepared.plan.next, prepared.judged.progress);
    return { prepared, expected };
  };

  /**
   * The statistics of the batches after the checkpoint's counted_version, which only a processor
   * that is gone knew: counted again from their rows (judged as stored) into `tip.pending`, which
   * the caller has just dropped, with the progress of their organisations as written plus their
   * too-late events.
   */
  const recount = async (trx: Db, checkpoint: LockedCheckpoint): Promise<void> => {
    let after = checkpoint.countedId;
    let rows = 0;
    const tooLate = new Map<string, number>();
    for (;;) {
      const chunk = await countableEventsAfter(trx, after);
      if (chunk.length === 0) break;
      const judged = countJudged(chunk);
      tip.pending.add({ counts: judged.counts, sketches: judged.sketches, progress: new Map() }, 0);
      for (const [orgId, n] of judged.tooLate) tooLate.set(orgId, (tooLate.get(orgId) ?? 0) + n);
      after = chunk.at(-1)!.id;
      rows += chunk.length;
    }
    const progress = await loadProgress(trx, TRAFFIC_CONSUMER, [...tooLate.keys()]);
    for (const [orgId, n] of tooLate) {
      const p = progress.get(orgId) ?? { watermark: null, sources: SourceBook.empty(), tooLate: 0 };
      progress.set(orgId, { ...p, tooLate: p.tooLate + n });
    }
    tip.pending.add({ counts: [], sketches: [], progress }, checkpoint.version - checkpoint.countedVersion);
    logger.info(
      { batches: checkpoint.version - checkpoint.countedVersion, events: rows },
      'stream processor: counted again, from the stored events, the statistics of batches whose processor stopped before writing them',
    );
  };

  /**
   * Whether the statistics waiting (this batch's included) are written with this batch: when it
   * found the processor idle (a lone request's statistics are then written before its answer, as
   * without waiting), when they have waited long enough, or when they have grown too large.
   */
  const writeNow = (startedIdle: boolean): boolean =>
    startedIdle || (waitingSince !== null && Date.now() - waitingSince >= STATS_WRITE_INTERVAL_MS) || tip.pending.countRows >= MAX_PENDING_COUNT_ROWS;

  /**
   * Stores the events of the batch that `keep` selects and moves the checkpoint, in one
   * transaction; adds their statistics to the tip's and writes those when `writeNow` says so (always
   * after counting lost ones again). Events left out are recorded in `log_rejections` with their
   * reason (`setAside`), in that same transaction, so a redelivery skips them like the rest. A
   * `trial` writes the batch's own statistics, leaves the tip alone and rolls back at the end.
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
    startedIdle: boolean,
    ahead?: Ahead,
  ): Promise<Committed> => {
    // Partitions are created before the transaction (DDL); reading every message is cheap next to storing it.
    await ensurePartitionsFor(partitions, [...kept.values()]);
    return transactionWithCopy(store, async (trx, copy) => {
      const checkpoint = await lockCheckpoint(trx, TRAFFIC_CONSUMER);
      let prepared: Prepared;
      let recounted = false;
      if (!trial && ahead && checkpoint.version === ahead.expected) prepared = ahead.prepared;
      else {
        if (!trial && !(tip.known && checkpoint.version === tip.version)) {
          tip.reset();
          if (checkpoint.countedVersion < checkpoint.version) {
            await recount(trx, checkpoint);
            recounted = true;
          }
        }
        const orgIds = new Set<string>();
        for (const m of planBatch(checkpoint.position, messages, context).fresh) {
          const message = kept.get(m.seq);
          if (message) orgIds.add(message.orgId);
        }
        const { known: before, missing } = trial ? { known: new Map<string, OrgProgress>(), missing: [...orgIds] } : tip.partial(checkpoint.version, [...orgIds]);
        for (const [orgId, p] of await loadProgress(trx, TRAFFIC_CONSUMER, missing)) before.set(orgId, p);
        prepared = work(checkpoint.position, messages, context, kept, before);
      }
      const { plan, groups, judged } = prepared;
      const storing = insertEventGroups(
        trx,
        groups.map((g, i) => ({ orgId: g.orgId, events: g.events, tooLate: judged.tooLate[i]!, rows: g.rows })),
        copy,
      );
      // Awaited below (a failure fails the batch); meanwhile this thread counts what PostgreSQL stores.
      storing.catch(() => undefined);
      const counter = new BatchCounter();
      for (let i = 0; i < groups.length; i++) {
        counter.add(groups[i]!.orgId, groups[i]!.events, judged.tooLate[i]!);
        // Between messages, the COPY's next chunks go out.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const result = { ...counter.result(), progress: judged.progress };
      await storing;
      let counted = false;
      if (trial) await writeStats(trx, result);
      else {
        tip.pending.add(result);
        for (const g of groups) if (g.events.length > 0) tip.pending.noteStored(g.orgId, g.events.length, newestOf(g));
        if (recounted || writeNow(startedIdle)) {
          await writeStats(trx, tip.pending.rows());
          counted = true;
        }
      }
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
      const version = await saveCheckpoint(trx, TRAFFIC_CONSUMER, plan.next, counted);
      if (trial) throw TRIAL;
      if (plan.duplicates > 0) logger.info({ duplicates: plan.duplicates, seqs: [messages[0]?.seq, messages.at(-1)?.seq] }, 'stream processor: skipped redelivered messages');
      for (const m of plan.fresh) {
        const message = decoded.get(m.seq);
        // Not ours to read (another version's format, a stray publisher): skipped, never retried forever.
        if (message instanceof Error) logger.error({ err: message, seq: m.seq, id: m.id }, 'stream processor: skipped a bus message that is not a log message');
      }
      return { progress: judged.progress, version, position: plan.next, wroteStats: counted };
    });
  };

  /** After a commit that wrote the waiting statistics: dashboards are told, and nothing waits any more. */
  const wrote = (): void => {
    for (const [orgId, since] of tip.pending.stored) {
      const watermark = tip.pending.progress.get(orgId)?.watermark ?? null;
      live.publish(orgId, { watermark: watermark === null ? null : new Date(watermark).toISOString(), newest: new Date(since.newest).toISOString(), count: since.count });
    }
    for (const p of tip.pending.progress.values()) p.sources.settle();
    tip.pending.clear();
    waitingSince = null;
  };

  /** A transaction that is not a trial: on success the tip is what it committed, on failure unknown. */
  const commit = async (
    messages: BusMessage[],
    context: BatchContext,
    decoded: ReadonlyMap<number, LogMessage | Error>,
    kept: ReadonlyMap<number, LogMessage>,
    setAside: ReadonlyMap<number, { index: number; reason: string }[]>,
    startedIdle: boolean,
    ahead?: Ahead,
  ): Promise<void> => {
    try {
      const done = await transact(messages, context, decoded, kept, setAside, false, startedIdle, ahead);
      // A batch written as prepared moved the tip when it was prepared.
      if (!(ahead && ahead.prepared.plan.next === done.position)) tip.establish(done.version, done.position, done.progress);
      // Committed against the checkpoint it locked: statistics lost to a failed write were counted again in it.
      retryAloneMs = 0;
      if (done.wroteStats) wrote();
      else waitingSince ??= Date.now();
    } catch (error) {
      tip.reset();
      waitingSince = null;
      throw error;
    } finally {
      lastCommitAt = Date.now();
    }
  };

  /**
   * After a batch failed on its data: the events that fail alone, found with trial transactions
   * (rolled back), then the batch committed without them. A database outage during the search
   * rejects (the bus retries the batch later) and sets nothing aside.
   */
  const isolate = async (messages: BusMessage[], context: BatchContext, decoded: ReadonlyMap<number, LogMessage | Error>, failure: unknown): Promise<void> => {
    const refs: EventRef[] = [];
    for (const [seq, message] of decoded) if (!(message instanceof Error)) message.events.forEach((_, index) => refs.push({ seq, index }));
    const poison = await findPoison(refs, async (subset) => {
      const chosen = new Set(subset.map(keyOf));
      try {
        await transact(messages, context, decoded, keptEvents(decoded, (ref) => chosen.has(keyOf(ref))), new Map(), true, true);
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
    await commit(messages, context, decoded, keptEvents(decoded, (ref) => !out.has(keyOf(ref))), setAside, true);
  };

  /**
   * The waiting statistics written in a transaction of their own (no batch came to take them). When
   * another instance committed since, they are dropped and the lost batches counted again instead,
   * so that nothing stays uncounted while the stream is quiet.
   */
  const writeAlone = async (): Promise<void> => {
    try {
      const version = await transactionWithCopy(store, async (trx) => {
        const checkpoint = await lockCheckpoint(trx, TRAFFIC_CONSUMER);
        if (!(tip.known && checkpoint.version === tip.version)) {
          tip.reset();
          if (checkpoint.countedVersion >= checkpoint.version) return undefined;
          await recount(trx, checkpoint);
        }
        if (tip.pending.empty || checkpoint.position === null) return undefined;
        await writeStats(trx, tip.pending.rows());
        return saveCheckpoint(trx, TRAFFIC_CONSUMER, checkpoint.position, true);
      });
      retryAloneMs = 0;
      if (version === undefined) return;
      if (tip.known) tip.version = version;
      wrote();
    } catch (error) {
      tip.reset();
      waitingSince = null;
      // Told once per run of failures (an outage is logged by the store as well), not every retry.
      const first = retryAloneMs === 0;
      retryAloneMs = Math.min(MAX_RETRY_DELAY_MS, Math.max(IDLE_WRITE_MS, retryAloneMs * 2));
      (first ? logger.warn : logger.debug).call(
        logger,
        { err: error, retryInMs: retryAloneMs },
        'stream processor: could not write the statistics; they are counted again from the stored events by the next batch, or by a retry if none comes',
      );
    }
  };

  /** Once the stream goes quiet, the statistics still waiting are written on their own (again, after a failed attempt). */
  const writeWhenIdle = (): void => {
    clearTimeout(idleTimer);
    if (waitingSince === null && retryAloneMs === 0) return;
    idleTimer = setTimeout(() => {
      if (handling || (waitingSince === null && retryAloneMs === 0)) return;
      writingAlone = asSystem('the stream processor writes the statistics of every organisation', writeAlone).then(() => {
        if (retryAloneMs > 0 && !handling) writeWhenIdle();
      });
    }, retryAloneMs || IDLE_WRITE_MS).unref();
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
   * table into log_events, ~17 ms upserting ~1,500 counter rows. Later (every statement logged, 127
   * batches of ~4 requests, ~120 ms each on a slower machine): COPY straight into log_events 60 ms,
   * the counter upsert 30 ms + 5 ms binding its arrays, COMMIT 1.9 ms; hence the statistics are now
   * written about once a second under load (STATS_WRITE_INTERVAL_MS).
   */
  const handle = async (messages: BusMessage[], context: BatchContext): Promise<void> => {
    clearTimeout(idleTimer);
    await writingAlone;
    handling = true;
    try {
      const decoded = new Map<number, LogMessage | Error>(messages.map((m) => [m.seq, readSafely(m)]));
      const kept = keptEvents(decoded, () => true);
      // Requests received while the previous batch was being written mean load: their statistics
      // can wait. A request received after it (a lone sender, one that waits for each answer) has
      // its statistics written before its answer, as when every batch wrote them.
      const startedIdle = [...kept.values()].every((m) => m.events.length === 0 || m.events[0]!.receivedAt >= lastCommitAt);
      try {
        await commit(messages, context, decoded, kept, new Map(), startedIdle, speculate(messages, context, kept));
      } catch (error) {
        // Only a failure caused by the data is worth searching; an outage is retried by the bus as it is.
        if (!isDataError(error)) throw error;
        await isolate(messages, context, decoded, error);
      }
    } finally {
      handling = false;
      writeWhenIdle();
    }
  };

  // Statistics a stopped processor kept only in memory are counted again now, not when events next come.
  await asSystem('the stream processor writes the statistics of every organisation', writeAlone);
  // The stream carries every organisation's events, and a batch writes them in one transaction.
  const acrossOrgs = (messages: BusMessage[], context: BatchContext) => asSystem('the stream processor stores and aggregates every organisation\'s events', () => handle(messages, context));
  const subscription: Subscription = await bus.subscribe(LOG_TOPIC, TRAFFIC_CONSUMER, acrossOrgs, { batchSize: BATCH_MESSAGES, maxRetryDelayMs: MAX_RETRY_DELAY_MS });
  logger.info({ bus: bus.kind }, 'stream processor started');
  return {
    async stop() {
      await subscription.stop();
      clearTimeout(idleTimer);
      await writingAlone;
      // What is still waiting is written now; if that fails, the next start counts it again.
      if (waitingSince !== null) await asSystem('the stream processor writes the statistics of every organisation', writeAlone);
      live.stop();
    },
  };
}

/** A loop, not Math.max(...spread): a message can hold more events than a call has room for arguments. */
function newestOf(group: LogMessage): number {
  let newest = -Infinity;
  for (const e of group.events) if (e.timestamp > newest) newest = e.timestamp;
  return newest;
}

/** A bus message's events, or why it holds none (it is skipped rather than failing its batch on every retry). */
function readSafely(message: BusMessage): LogMessage | Error {
  try {
    return readLogMessage(message);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
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
