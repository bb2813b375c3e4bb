/**
 * What the table watcher (watchers domain) uses: the intake of rows read from a table, with the
 * same validation and conversion as `POST /api/v1/shipments` (rows.ts, intake.ts), stored by the
 * same store function, with the watcher's own writes in the same transaction.
 *
 * Invariant: a refused row never costs the others; the refusals are handed to `inSameTransaction`
 * (the watcher records them there), so rows, refusals and position commit together.
 */
import type { Db, Store } from '../../platform/store/index.js';
import { announceArrivals } from './for-fraud.js';
import { toStoredRows } from './intake.js';
import { validateRows, type RawRow, type RowError } from './rows.js';
import { insertShipments, loadRates, type StoredRow } from './store.js';

/** One row read from a watched table: `line` is its ordering key, `value` a shipment as the intake takes it. */
export interface WatchedRow extends RawRow {
  orgId: string;
}

export interface WatchedIntake {
  stored: number;
  duplicates: number;
  /** Refused rows; `line` is the row's ordering key. */
  errors: RowError[];
}

/** Validates, converts and stores the rows (each under its organisation) in one transaction with `inSameTransaction`. */
export async function intakeWatchedRows(store: Store, rows: WatchedRow[], inSameTransaction: (trx: Db, outcome: WatchedIntake) => Promise<void>): Promise<WatchedIntake> {
  const byOrg = new Map<string, RawRow[]>();
  for (const r of rows) {
    const list = byOrg.get(r.orgId) ?? [];
    list.push({ line: r.line, value: r.value });
    byOrg.set(r.orgId, list);
  }
  const rates = await loadRates(store.db);
  const stored: StoredRow[] = [];
  const errors: RowError[] = [];
  for (const [orgId, raw] of byOrg) {
    const checked = validateRows(raw);
    const converted = toStoredRows(orgId, checked.valid, rates);
    stored.push(...converted.rows);
    errors.push(...checked.errors, ...converted.errors);
  }
  errors.sort((a, b) => a.line - b.line);
  let outcome: WatchedIntake = { stored: 0, duplicates: 0, errors };
  await insertShipments(store, stored, async (trx, n) => {
    outcome = { stored: n, duplicates: stored.length - n, errors };
    await inSameTransaction(trx, outcome);
  });
  // Committed: the rows are in the fraud detector's arrivals queue (same statement); wake it now rather than at its next poll.
  if (outcome.stored > 0) announceArrivals();
  return outcome;
}
