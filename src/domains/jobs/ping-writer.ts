import type { Logger } from 'pino';
import { isUnavailableError } from '../../platform/outage.js';
import { recordPingBatch, type PingItem, type PingOutcome } from './pings.js';
import { jobsDb, type JobsDb } from './tables.js';
import { asSystem, type Db } from '../../platform/store/index.js';
import type { ManagerOptions } from '../alerting/index.js';

/** Largest batch written in one transaction (bounded statement size and lock time). */
const MAX_BATCH = 500;
/** Batches in flight at once: one committing while the next is being built keeps the CPU and the disk busy. */
const MAX_IN_FLIGHT = 2;

interface Pending {
  item: PingItem;
  resolve: (outcome: PingOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for pings: concurrent pings are written together in one transaction, and each
 * caller's promise resolves only after that transaction committed (a 2xx still means durable).
 * Under light load a batch is a single ping, so latency is one transaction; under heavy load the
 * cost of a commit is shared by hundreds of pings. If a batch fails, its pings are retried one
 * by one so that a single bad ping cannot fail the others.
 */
export class PingWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];

  private readonly db: JobsDb;

  constructor(
    store: Db,
    private readonly logger: Logger,
    /** For the alert manager (notification links); read at each write, so a base URL known only after listen counts. */
    private readonly alertOptions: ManagerOptions = {},
  ) {
    this.db = jobsDb(store);
  }

  submit(item: PingItem): Promise<PingOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once every submitted ping has been written (for shutdown). */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      // One transaction holds pings of several organisations: across them (see platform/store/tenancy.ts).
      void asSystem('group commit of pings: one batch holds pings of several organisations', () => this.write(batch)).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) for (const done of this.idle.splice(0)) done();
      });
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await this.db.transaction().execute((trx) => recordPingBatch(trx, batch.map((p) => p.item), this.alertOptions));
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (error) {
      // The database is away (a restart, say): every ping of the batch would fail the same way, so
      // they all get the error at once (a 503 for the client to retry) instead of one attempt each.
      if (batch.length === 1 || isUnavailableError(error)) {
        for (const p of batch) p.reject(error);
        return;
      }
      this.logger.warn({ err: error, size: batch.length }, 'ping batch failed; retrying its pings one by one');
      for (const p of batch) {
        try {
          const [outcome] = await this.db.transaction().execute((trx) => recordPingBatch(trx, [p.item], this.alertOptions));
          p.resolve(outcome!);
        } catch (single) {
          p.reject(single);
        }
      }
    }
  }
}
