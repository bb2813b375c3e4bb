/**
 * The table watcher as a background loop of the `process` role: for each enabled watcher whose
 * turn it is, read pages of new rows from its table (source.ts) and store them through the
 * shipments intake with the watcher's new position in the same transaction (position.ts).
 *
 * Invariants:
 * - Exactly once: a page's shipments, refused rows and position commit together, and only if the
 *   watcher's `state_version` is the one the page was read at (store.ts#commitBatch). A crash
 *   before the commit re-reads the page from the stored position; after it, never.
 * - One reader per watcher: the process holding the watcher's lease (database time) reads it and
 *   renews the lease at each turn; others skip it until the lease lapses. Exactly-once does not
 *   rest on the lease but on the version check.
 * - Bounded work: a turn reads at most POLL_BUDGET_MS worth of pages of `batch_size` rows, then
 *   yields to the other watchers (a backlog is read on the next tick, without waiting the interval).
 * - A watched database that is down, or a table that no longer fits, is that watcher's error:
 *   recorded in its state (shown by the API), retried with back-off (position.ts#retryDelayMs);
 *   the process and the other watchers go on. Vigil's own store being away is thrown to the loop,
 *   which retries quietly (platform/worker.ts).
 * - Tenancy: runs as `asSystem` (see TENANCY_REASON): it writes shipments of the organisations
 *   its watchers' mappings name, each row under exactly one of them.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { resolveOrg } from '../accounts/index.js';
import { intakeWatchedRows, type WatchedRow } from '../shipments/index.js';
import { DomainError } from '../../platform/errors.js';
import { isUnavailableError } from '../../platform/outage.js';
import { asSystem, type Store } from '../../platform/store/index.js';
import { every, type Worker } from '../../platform/worker.js';
import { orgOf, shipmentOf } from './mapping.js';
import { advance, retryDelayMs } from './position.js';
import { readPage, withWatched } from './source.js';
import { commitBatch, holdLease, listWatcherRows, recordFailure, releaseLeases, type BatchOutcome, type WatcherRow } from './store.js';
import { watchedTableOf } from './verbs.js';

const TENANCY_REASON =
  "table watcher: reads the platform's watched tables and stores each row as a shipment of the one organisation its watcher's mapping names (org_id, or org_column through org_map)";

/** Pages read per turn of one watcher, at most this long (then the next tick goes on). */
const POLL_BUDGET_MS = 2000;

export interface WatcherWorkerOptions {
  store: Store;
  logger: Logger;
  /** Between ticks (default 200 ms); each watcher is read at its own poll interval. */
  tickMs?: number;
  /** How long a watcher stays with the process that read it last (default 15 s; 0 = no lease). */
  leaseMs?: number;
  /** Pages of one watcher per turn, for at most this long (default POLL_BUDGET_MS; 0 = one page). */
  turnBudgetMs?: number;
}

/** The watched side failed (connection, table, query): the watcher's error, not the process's. */
class WatchedError extends Error {}
/** Another process (or a reset of the position) committed first: this turn is dropped. */
class Superseded extends Error {}

export class WatcherRunner {
  private readonly owner = randomUUID();
  private readonly due = new Map<string, number>();

  constructor(private readonly options: WatcherWorkerOptions) {}

  /** One pass over the watchers whose turn it is. Throws (after all of them) when Vigil's store is away. */
  tick(): Promise<void> {
    return asSystem(TENANCY_REASON, async () => {
      const { store } = this.options;
      let outage: unknown;
      for (const w of await listWatcherRows(store.db)) {
        if (!w.enabled) continue;
        if ((this.due.get(w.id) ?? 0) > Date.now()) continue;
        try {
          if (!(await this.lease(w))) {
            this.due.set(w.id, Date.now() + w.pollIntervalMs);
            continue;
          }
          const more = await this.turn(w);
          this.due.set(w.id, more ? 0 : Date.now() + w.pollIntervalMs);
        } catch (error) {
          if (error instanceof Superseded) continue;
          if (!(error instanceof WatchedError) && isUnavailableError(error)) {
            outage ??= error;
            continue;
          }
          const message = describe(error);
          const failures = await recordFailure(store.db, w.id, message);
          this.due.set(w.id, Date.now() + retryDelayMs(failures, w.pollIntervalMs));
          if (failures === 1) this.options.logger.warn({ watcher: w.name, err: error }, `shipment watcher ${w.name}: ${message} (retrying with back-off)`);
        }
      }
      if (outage) throw outage;
    });
  }

  private lease(w: WatcherRow): Promise<boolean> {
    const leaseMs = this.options.leaseMs ?? 15_000;
    return leaseMs <= 0 ? Promise.resolve(true) : holdLease(this.options.store.db, w.id, this.owner, leaseMs);
  }

  /** Reads and stores pages for up to POLL_BUDGET_MS; true when more rows are waiting. */
  private async turn(w: WatcherRow): Promise<boolean> {
    const started = Date.now();
    const table = watchedTableOf(w);
    let client: pg.Client | undefined;
    const session = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
      try {
        return await work(client!);
      } catch (error) {
        throw new WatchedError(describe(error), { cause: error });
      }
    };
    return withWatched(w.connectionUrl, async (c) => {
      client = c;
      let position = w.position;
      let version = w.version;
      for (;;) {
        const page = await session((c) => readPage(c, table, position, w.batchSize));
        const next = advance(position, { xmin: page.xmin, xmax: page.xmax, maxVisible: page.maxVisible, keys: page.rows.map((r) => r.key), full: page.full });
        const rows: WatchedRow[] = [];
        const rejections: BatchOutcome['rejections'] = [];
        const orgOfKey = new Map<number, string>();
        const exists = new Map<string, boolean>();
        for (const r of page.rows) {
          const org = orgOf(w.orgId, w.orgMap, r.org);
          if ('error' in org) {
            rejections.push({ key: r.key, orgId: null, field: w.orgColumn ?? 'org_id', message: org.error });
            continue;
          }
          if (!exists.has(org.orgId)) exists.set(org.orgId, await orgExists(this.options.store, org.orgId));
          if (!exists.get(org.orgId)) {
            rejections.push({ key: r.key, orgId: org.orgId, field: 'org_id', message: `organisation ${org.orgId} does not exist (any more): fix the watcher's mapping` });
            continue;
          }
          orgOfKey.set(r.key, org.orgId);
          rows.push({ line: r.key, orgId: org.orgId, value: shipmentOf(r.values) });
        }
        await intakeWatchedRows(this.options.store, rows, async (trx, outcome) => {
          const refused = [...rejections, ...outcome.errors.map((e) => ({ key: e.line, orgId: orgOfKey.get(e.line) ?? null, field: e.field, message: e.message }))];
          const ok = await commitBatch(trx, w.id, version, { position: next, maxSeen: page.maxVisible, read: page.rows.length, stored: outcome.stored, caughtUp: !page.full, rejections: refused });
          if (!ok) throw new Superseded(`shipment watcher ${w.name}: its position moved under this process; dropping this page`);
        });
        position = next;
        version += 1;
        if (!page.full) return false;
        if (Date.now() - started >= (this.options.turnBudgetMs ?? POLL_BUDGET_MS)) return true;
      }
    }).catch((error: unknown) => {
      // Connecting (or closing) failed: the watched side.
      if (error instanceof WatchedError || error instanceof Superseded || client !== undefined) throw error;
      throw new WatchedError(describe(error), { cause: error });
    });
  }

  async releaseLeases(): Promise<void> {
    await releaseLeases(this.options.store.db, this.owner);
  }
}

async function orgExists(store: Store, id: string): Promise<boolean> {
  try {
    return (await resolveOrg(store.db, id)).id === id;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'not_found') return false;
    throw error;
  }
}

/** An error as one line for the state (pg errors carry a code worth showing). */
function describe(error: unknown): string {
  if (error instanceof WatchedError) return error.message;
  if (error instanceof DomainError) return error.message;
  if (error instanceof AggregateError && error.errors.length) return describe(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.message || error.name}${typeof code === 'string' ? ` (${code})` : ''}`;
  }
  return String(error);
}

/** The watchers as a background loop (the `process` role). */
export function startShipmentWatchers(options: WatcherWorkerOptions): Worker {
  const runner = new WatcherRunner(options);
  const loop = every(options.tickMs ?? 200, () => runner.tick(), (error) => options.logger.error({ err: error }, 'shipment watchers: a pass failed'));
  return {
    async stop() {
      await loop.stop();
      // A clean stop hands its watchers over at once rather than after the lease lapses.
      await runner.releaseLeases().catch((error: unknown) => options.logger.warn({ err: error }, 'shipment watchers: could not release the leases'));
    },
  };
}
