import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BEFORE_EVERYTHING, addKeys, advance, highestRead, multirangeOf, retryDelayMs, wasRead, type Position, type ReadResult } from './position.js';

const start: Position = { settled: BEFORE_EVERYTHING, readAbove: [], pendingSettle: null, pendingXid: null };

/**
 * A model of PostgreSQL as the watcher sees it: a CACHE 1 sequence, transactions that get their xid
 * when they first write (drawing keys by their INSERT's default), commit or abort in any order, and
 * REPEATABLE READ snapshots (xmin = oldest running xid, xmax = next xid, visible = committed).
 */
class Model {
  private nextKey = 1;
  private nextXid = 100;
  readonly txns = new Map<number, { keys: number[]; state: 'running' | 'committed' | 'aborted' }>();

  begin(): number {
    const xid = this.nextXid++;
    this.txns.set(xid, { keys: [], state: 'running' });
    return xid;
  }
  insert(xid: number, n: number): void {
    const t = this.txns.get(xid)!;
    for (let i = 0; i < n; i++) t.keys.push(this.nextKey++);
  }
  finish(xid: number, commit: boolean): void {
    this.txns.get(xid)!.state = commit ? 'committed' : 'aborted';
  }
  running(): number[] {
    return [...this.txns].filter(([, t]) => t.state === 'running').map(([x]) => x);
  }
  committedKeys(): number[] {
    return [...this.txns.values()].filter((t) => t.state === 'committed').flatMap((t) => t.keys).sort((a, b) => a - b);
  }
  /** One page, as reader.ts reads it: the smallest visible keys the position has not read. */
  read(position: Position, batch: number): ReadResult {
    const visible = this.committedKeys();
    const unread = visible.filter((k) => !wasRead(position, k));
    const running = this.running();
    return {
      xmin: String(running.length ? Math.min(...running) : this.nextXid),
      xmax: String(this.nextXid),
      maxVisible: visible.length ? visible[visible.length - 1]! : null,
      keys: unread.slice(0, batch),
      full: unread.length >= batch,
    };
  }
}

type Op = { kind: 'begin' } | { kind: 'insert'; which: number; n: number } | { kind: 'finish'; which: number; commit: boolean } | { kind: 'read' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant<Op>({ kind: 'begin' }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('insert' as const), which: fc.nat(), n: fc.integer({ min: 1, max: 7 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('finish' as const), which: fc.nat(), commit: fc.boolean() }), weight: 1 },
  { arbitrary: fc.constant<Op>({ kind: 'read' }), weight: 4 },
);

describe('watcher position', () => {
  it('merges keys into ranges', () => {
    expect(addKeys([], [1, 2, 3, 5, 7, 8])).toEqual([
      [1, 3],
      [5, 5],
      [7, 8],
    ]);
    expect(addKeys([[1, 3], [7, 8]], [4, 6])).toEqual([[1, 4], [6, 8]]);
    expect(addKeys([[1, 3], [7, 8]], [4, 5, 6])).toEqual([[1, 8]]);
    expect(multirangeOf([[1, 3], [5, 5]])).toBe('{[1,3],[5,5]}');
    expect(multirangeOf([])).toBe('{}');
  });

  it('never skips a lower key that commits after a higher one was read, and settles once its transaction ended', () => {
    const m = new Model();
    const a = m.begin();
    m.insert(a, 3); // keys 1..3, not committed yet
    const b = m.begin();
    m.insert(b, 3); // keys 4..6
    m.finish(b, true);
    let p = advance(start, m.read(start, 100));
    expect(p.readAbove).toEqual([[4, 6]]);
    expect(p.pendingSettle).toBe(6);
    p = advance(p, m.read(p, 100)); // notes X; a still runs
    expect(p.pendingXid).not.toBeNull();
    p = advance(p, m.read(p, 100));
    expect(p.pendingSettle).toBe(6); // a holds settling back
    m.finish(a, true);
    const r = m.read(p, 100);
    expect(r.keys).toEqual([1, 2, 3]);
    p = advance(p, r);
    expect(p).toMatchObject({ settled: 6, readAbove: [], pendingSettle: null });
    expect(highestRead(p)).toBe(6);
  });

  it('folds contiguous reads into settled without waiting', () => {
    const m = new Model();
    const a = m.begin();
    m.insert(a, 5);
    m.finish(a, true);
    const p = advance({ ...start, settled: 0 }, m.read({ ...start, settled: 0 }, 2));
    expect(p).toMatchObject({ settled: 2, readAbove: [] });
  });

  it('reads every committed row exactly once under any interleaving of transactions, reads and page sizes', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 150, size: 'max' }), fc.integer({ min: 1, max: 6 }), (ops, batch) => {
        const m = new Model();
        let p: Position = start;
        const seen: number[] = [];
        const read = () => {
          const r = m.read(p, batch);
          seen.push(...r.keys);
          p = advance(p, r);
        };
        for (const o of ops) {
          const running = m.running();
          if (o.kind === 'begin') m.begin();
          else if (o.kind === 'read') read();
          else if (running.length) {
            const xid = running[o.which % running.length]!;
            if (o.kind === 'insert') m.insert(xid, o.n);
            else m.finish(xid, o.commit);
          }
        }
        for (const xid of m.running()) m.finish(xid, true);
        for (let i = 0; i < 200; i++) read();
        expect([...seen].sort((x, y) => x - y)).toEqual(m.committedKeys());
        // Everything ended and was read: the position has settled over all of it.
        const all = m.committedKeys();
        if (all.length) expect(p.readAbove).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('backs off from 1 s to a minute, never under the poll interval', () => {
    expect(retryDelayMs(0, 500)).toBe(500);
    expect(retryDelayMs(1, 500)).toBe(1000);
    expect(retryDelayMs(3, 500)).toBe(4000);
    expect(retryDelayMs(30, 500)).toBe(60_000);
    expect(retryDelayMs(1, 5000)).toBe(5000);
  });
});
