/**
 * The sources that hold an organisation's event-time watermark back, kept in bounded memory
 * whatever senders put in `source` or `host`. Pure: no clock, no I/O.
 *
 * A source is an event's `source`, else its `host` (pods that come and go, or a sender that puts
 * something per request there, make that field unbounded). Policy (README "Traffic statistics"):
 *
 * - At most `maxSources` named sources per organisation, plus one *fold* for the rest.
 * - A source silent (by arrival time) for longer than the idle timeout, measured from the newest
 *   arrival of the organisation, no longer holds the watermark back, so it is dropped at that
 *   point and its slot is free again. (Dropping it then changes no watermark: `watermark` skips
 *   idle sources anyway. A source that comes back starts afresh.)
 * - A new source that arrives while every slot is held by an active source joins the fold: its
 *   events are stored and counted as usual, and it holds the watermark back together with the
 *   other folded sources, as one source (their newest event time and arrival). Sources that hold a
 *   slot keep it while they stay active, so a flood of new names cannot push out the sources that
 *   were there first; the cost is only that a slow folded source is not waited for on its own.
 * - Every change is recorded (`changed`, `dropped`; the fold is one column of the progress row, written with it) so that only those entries are
 *   written back: a write costs what was touched since the last one, not what the organisation has.
 *   A batch works on a `copy()`, which carries the changes not yet written (the processor writes
 *   progress about once a second, not with every batch); `settle()` once they are written.
 * - The watermark never goes back.
 */

export interface SourceProgress {
  /** Newest event time seen from the source, epoch ms. */
  maxTs: number;
  /** Newest arrival (received at) from the source, epoch ms. */
  lastReceivedAt: number;
}

export interface WatermarkTiming {
  /** The watermark trails a source's newest event time by this much. */
  outOfOrderMs: number;
  /** A source silent (by arrival time) for this long stops holding the watermark back. */
  idleMs: number;
}

/** Named sources kept per organisation when nothing else is configured (VIGIL_STATS_MAX_SOURCES). */
export const DEFAULT_MAX_SOURCES = 1000;

export class SourceBook {
  /** Names whose entry was added or changed in this copy (to upsert). */
  readonly changed = new Set<string>();
  /** Names dropped in this copy (to delete). */
  readonly dropped = new Set<string>();

  private constructor(
    private readonly named: Map<string, SourceProgress>,
    private folded: SourceProgress | null,
    private newestArrival: number,
  ) {}

  static empty(): SourceBook {
    return new SourceBook(new Map(), null, -Infinity);
  }

  /** A book as stored: its named entries and the fold. */
  static of(named: Iterable<[string, SourceProgress]>, folded: SourceProgress | null): SourceBook {
    const map = new Map(named);
    let newest = folded?.lastReceivedAt ?? -Infinity;
    for (const s of map.values()) if (s.lastReceivedAt > newest) newest = s.lastReceivedAt;
    return new SourceBook(map, folded, newest);
  }

  /** An independent copy with the changes not yet written: a batch works on a copy, so a rolled-back batch leaves the original as it was. */
  copy(): SourceBook {
    const copy = new SourceBook(new Map(this.named), this.folded, this.newestArrival);
    for (const name of this.changed) copy.changed.add(name);
    for (const name of this.dropped) copy.dropped.add(name);
    return copy;
  }

  /** The recorded changes were written: the next write needs only what changes from now on. */
  settle(): void {
    this.changed.clear();
    this.dropped.clear();
  }

  get size(): number {
    return this.named.size;
  }

  get fold(): SourceProgress | null {
    return this.folded;
  }

  entries(): IterableIterator<[string, SourceProgress]> {
    return this.named.entries();
  }

  get(name: string): SourceProgress | undefined {
    return this.named.get(name);
  }

  /** Records one event of source `name`. */
  observe(name: string, timestamp: number, receivedAt: number, maxSources: number): void {
    if (receivedAt > this.newestArrival) this.newestArrival = receivedAt;
    const known = this.named.get(name);
    if (known) {
      if (timestamp <= known.maxTs && receivedAt <= known.lastReceivedAt) return;
      this.named.set(name, { maxTs: Math.max(known.maxTs, timestamp), lastReceivedAt: Math.max(known.lastReceivedAt, receivedAt) });
      this.changed.add(name);
      return;
    }
    if (this.named.size < maxSources) {
      this.named.set(name, { maxTs: timestamp, lastReceivedAt: receivedAt });
      this.changed.add(name);
      this.dropped.delete(name);
      return;
    }
    const f = this.folded;
    if (f && timestamp <= f.maxTs && receivedAt <= f.lastReceivedAt) return;
    this.folded = f ? { maxTs: Math.max(f.maxTs, timestamp), lastReceivedAt: Math.max(f.lastReceivedAt, receivedAt) } : { maxTs: timestamp, lastReceivedAt: receivedAt };
  }

  /**
   * Drops the sources (and the fold) idle for longer than `idleMs` before the newest arrival, and
   * returns the watermark they give: the smallest `maxTs - outOfOrderMs` over the active ones, never
   * below `previous`; `previous` when none is active.
   */
  watermark(previous: number | null, timing: WatermarkTiming): number | null {
    const activeSince = this.newestArrival - timing.idleMs;
    let lowest = Infinity;
    for (const [name, s] of this.named) {
      if (s.lastReceivedAt < activeSince) {
        this.named.delete(name);
        this.changed.delete(name);
        this.dropped.add(name);
        continue;
      }
      if (s.maxTs < lowest) lowest = s.maxTs;
    }
    if (this.folded) {
      if (this.folded.lastReceivedAt < activeSince) {
        this.folded = null;
          } else if (this.folded.maxTs < lowest) lowest = this.folded.maxTs;
    }
    if (lowest === Infinity) return previous;
    const mark = lowest - timing.outOfOrderMs;
    return previous === null ? mark : Math.max(previous, mark);
  }

}
