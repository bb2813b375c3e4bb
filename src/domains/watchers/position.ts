/**
 * Where a watcher is in its table, and how one read moves it. Pure: no SQL; the reader (reader.ts)
 * takes the snapshot and the page, the batch's transaction stores the new position.
 *
 * The watched table has a unique, indexed integer ordering column K (a serial/identity id). A
 * cursor on K alone loses rows: transaction A takes K = 10, B takes K = 11 and commits, the watcher
 * reads 11 and moves past it, then A commits 10 — never read. So the position is not one number:
 *
 * Invariant (what "read" means): a row of the table has been handed to the intake if and only if
 * its K is <= `settled`, or lies in one of the `readAbove` ranges. Every row with K <= `settled`
 * that will ever be visible has been read (nothing below it can still appear); above it, exactly the
 * K values in `readAbove` were read, and gaps between them may still fill in (rows of transactions
 * that were in progress, or ids that were never used).
 *
 * Reading: each page, in one REPEATABLE READ snapshot of the watched database, takes the smallest
 * visible K > `settled` that are not in `readAbove` (index range scan on K, at most `batch` rows).
 * Those are new by the invariant; they are added to `readAbove`, and the page's rows plus the new
 * position commit in ONE transaction of Vigil's store — so a restart resumes exactly here (nothing
 * re-read, nothing skipped), and a page whose commit failed is read again.
 *
 * Settling (moving `settled` up, which keeps `readAbove` and the scan small):
 * 1. Contiguous: `readAbove` starting right at `settled + 1` is folded into `settled` (every value
 *    up to its end was read, and K is unique).
 * 2. Gaps: a gap below M is permanent once every transaction that could still fill it has ended.
 *    At read r the candidate M = the largest K visible in snapshot r is noted; at a later read
 *    r' (at least one poll later) X = pg_snapshot_xmax of that read's snapshot is noted; at any read
 *    whose snapshot has pg_snapshot_xmin >= X, every transaction with an xid below X has ended and
 *    its rows are visible in that snapshot. Every K <= M was drawn from the sequence before read r
 *    (M was already committed then, and a CACHE 1 sequence hands out increasing values), so its
 *    transaction had an xid below X unless it drew K and then went more than a poll interval
 *    without writing anything (see ASSUMPTIONS). Such a read therefore sees every row with K <= M
 *    that will ever exist; after it has read them all (a page that was not full), `settled` moves
 *    to M — or, after a full page, to the page's last K (everything visible up to it is read).
 *
 * ASSUMPTIONS (documented in the README): K is unique and comes from a sequence with CACHE 1 (the
 * default of serial, bigserial and identity columns) drawn by the inserting statement itself (its
 * DEFAULT), not by an earlier `nextval()` in a transaction that writes nothing for longer than a
 * poll interval; rows are inserted, not updated (an update of a row above `settled` makes a new
 * row version that is read again: the intake counts it as a duplicate by external_id). A transaction
 * left open on the watched database holds settling back (readAbove grows; the state shows it),
 * never correctness. Row visibility never relies on a row's xmin, so rows written in
 * subtransactions (savepoints, PL/pgSQL exception blocks) are no special case.
 */

/** Inclusive ranges [lo, hi] of K, ascending, disjoint and not adjacent, all above `settled`. */
export type Ranges = [number, number][];

export interface Position {
  settled: number;
  readAbove: Ranges;
  /** Settling candidate M (see above), or null. */
  pendingSettle: number | null;
  /** X for the candidate (an xid8, as decimal text), or null while not noted yet. */
  pendingXid: string | null;
}

/** What one read saw: its snapshot's bounds, the largest visible K, and the page's keys. */
export interface ReadResult {
  /** pg_snapshot_xmin / pg_snapshot_xmax of the read's snapshot (xid8 as decimal text). */
  xmin: string;
  xmax: string;
  /** The largest K visible in the snapshot (null: the table is empty). */
  maxVisible: number | null;
  /** The K of the rows read, ascending. */
  keys: number[];
  /** The page had `batch` rows: more may be waiting above its last key. */
  full: boolean;
}

/** The lowest `settled` there is: "from the beginning of the table". */
export const BEFORE_EVERYTHING = -Number.MAX_SAFE_INTEGER;

/** Whether `k` was read already according to the position. */
export function wasRead(position: Position, k: number): boolean {
  if (k <= position.settled) return true;
  return position.readAbove.some(([lo, hi]) => k >= lo && k <= hi);
}

/** Adds ascending keys to ranges (merging overlaps and neighbours). */
export function addKeys(ranges: Ranges, keys: number[]): Ranges {
  const runs: Ranges = [];
  for (const k of keys) {
    const last = runs[runs.length - 1];
    if (last && k <= last[1] + 1) last[1] = Math.max(last[1], k);
    else runs.push([k, k]);
  }
  const all = [...ranges.map(([lo, hi]): [number, number] => [lo, hi]), ...runs].sort((a, b) => a[0] - b[0]);
  const merged: Ranges = [];
  for (const [lo, hi] of all) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/** Raises `settled` to `to` (never lowers it), dropping the ranges it covers and folding a contiguous first range. */
function settleTo(settled: number, ranges: Ranges, to: number): { settled: number; readAbove: Ranges } {
  let s = Math.max(settled, to);
  const rest: Ranges = [];
  for (const [lo, hi] of ranges) {
    if (hi <= s) continue;
    rest.push([Math.max(lo, s + 1), hi]);
  }
  while (rest[0] && rest[0][0] <= s + 1) s = rest.shift()![1];
  return { settled: s, readAbove: rest };
}

const xid = (text: string): bigint => BigInt(text);

/** The position after a read whose rows are stored in the same transaction (see the invariant). */
export function advance(position: Position, read: ReadResult): Position {
  let { settled, readAbove } = settleTo(position.settled, addKeys(position.readAbove, read.keys), position.settled);
  let pendingSettle = position.pendingSettle;
  let pendingXid = position.pendingXid;
  if (pendingSettle !== null && pendingXid !== null && xid(read.xmin) >= xid(pendingXid)) {
    // Every row with K <= pendingSettle is visible in this snapshot; all of them are read up to the
    // page's last key (a full page) or all of them (a page that was not full).
    const last = read.keys[read.keys.length - 1];
    const upTo = read.full && last !== undefined ? Math.min(pendingSettle, last) : pendingSettle;
    ({ settled, readAbove } = settleTo(settled, readAbove, upTo));
    if (upTo >= pendingSettle) pendingSettle = pendingXid = null;
  } else if (pendingSettle !== null && pendingXid === null) {
    // Noted one read after the candidate: a transaction that drew its K before the candidate's
    // snapshot has an xid by now (ASSUMPTIONS).
    pendingXid = read.xmax;
  }
  if (pendingSettle !== null && pendingSettle <= settled) pendingSettle = pendingXid = null;
  if (pendingSettle === null && read.maxVisible !== null && read.maxVisible > settled) {
    pendingSettle = read.maxVisible;
    pendingXid = null;
  }
  return { settled, readAbove, pendingSettle, pendingXid };
}

/** The highest K read so far. */
export function highestRead(position: Position): number {
  const last = position.readAbove[position.readAbove.length - 1];
  return last ? last[1] : position.settled;
}

/** `readAbove` as an int8multirange literal for the watched database's query. */
export function multirangeOf(ranges: Ranges): string {
  return `{${ranges.map(([lo, hi]) => `[${lo},${hi}]`).join(',')}}`;
}

/** Delay before retrying a watcher after `failures` consecutive failed polls: 1 s doubling to 1 min, never under its interval. */
export function retryDelayMs(failures: number, intervalMs: number): number {
  if (failures <= 0) return intervalMs;
  return Math.max(intervalMs, Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 16)));
}
