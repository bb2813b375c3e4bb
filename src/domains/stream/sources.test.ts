import { describe, expect, it } from 'vitest';
import { SourceBook } from './sources.js';

const timing = { outOfOrderMs: 5_000, idleMs: 60_000 };
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

describe('watermark sources, bounded per organisation', () => {
  it('keeps at most the cap of named sources and folds the rest into one', () => {
    const book = SourceBook.empty();
    for (let i = 0; i < 10; i++) book.observe(`host-${i}`, T0 + i * 1000, T0 + i * 1000, 3);
    expect(book.size).toBe(3);
    expect([...book.entries()].map(([name]) => name)).toEqual(['host-0', 'host-1', 'host-2']);
    // The fold is one source: the newest event time and arrival of everything folded.
    expect(book.fold).toEqual({ maxTs: T0 + 9000, lastReceivedAt: T0 + 9000 });
    expect(book.watermark(null, timing)).toBe(T0 - timing.outOfOrderMs);
  });

  it('lets the sources that hold a slot keep it while they are active, whatever arrives after', () => {
    const book = SourceBook.empty();
    book.observe('a', T0, T0, 2);
    book.observe('b', T0, T0, 2);
    for (let i = 0; i < 1000; i++) book.observe(`flood-${i}`, T0 + 1000, T0 + 1000, 2);
    book.observe('a', T0 + 2000, T0 + 2000, 2);
    expect([...book.entries()].map(([name]) => name)).toEqual(['a', 'b']);
  });

  it('drops a source once it is idle, which frees its slot for a new one', () => {
    let book = SourceBook.empty();
    book.observe('old', T0, T0, 1);
    book.observe('new', T0 + 1000, T0 + 1000, 1);
    expect(book.fold).not.toBeNull();
    book.settle(); // written
    book = book.copy(); // the next batch works on a copy
    // 61 s later by arrival: 'old' and the fold are idle.
    book.observe('other', T0 + 61_000, T0 + 61_500, 1);
    expect(book.watermark(null, timing)).toBe(T0 + 61_000 - timing.outOfOrderMs);
    expect(book.size).toBe(0);
    expect([...book.dropped]).toEqual(['old']);
    expect(book.fold).toEqual({ maxTs: T0 + 61_000, lastReceivedAt: T0 + 61_500 });
    book = book.copy();
    book.observe('again', T0 + 62_000, T0 + 62_000, 1);
    expect([...book.entries()].map(([name]) => name)).toEqual(['again']);
  });

  it('never moves the watermark back', () => {
    const book = SourceBook.of([['a', { maxTs: T0, lastReceivedAt: T0 }]], null);
    expect(book.watermark(T0 + 10_000, timing)).toBe(T0 + 10_000);
  });

  it('records only what changed since it was last written, across copies', () => {
    const book = SourceBook.of(
      Array.from({ length: 500 }, (_, i) => [`s${i}`, { maxTs: T0, lastReceivedAt: T0 }] as const),
      null,
    );
    book.observe('s1', T0 + 1000, T0 + 1000, 1000);
    book.observe('s2', T0 - 1000, T0 - 1000, 1000); // older than what is known: nothing to write
    expect([...book.changed]).toEqual(['s1']);
    const next = book.copy(); // the next batch, before the write
    next.observe('s3', T0 + 2000, T0 + 2000, 1000);
    expect([...next.changed]).toEqual(['s1', 's3']);
    expect([...book.changed]).toEqual(['s1']); // the copy is independent
    next.settle();
    expect(next.changed.size).toBe(0);
    expect(next.copy().changed.size).toBe(0);
  });

  it('treats names like Object.prototype members as plain names', () => {
    const book = SourceBook.empty();
    for (const name of ['__proto__', 'constructor', 'toString']) book.observe(name, T0, T0, 10);
    expect(book.size).toBe(3);
    expect(book.get('__proto__')).toEqual({ maxTs: T0, lastReceivedAt: T0 });
  });

  it('stays the same size after a million distinct names', () => {
    let book = SourceBook.empty();
    let mostChanged = 0;
    for (let batch = 0; batch < 1000; batch++) {
      for (let i = 0; i < 1000; i++) {
        const t = T0 + batch * 100;
        book.observe(`10.${batch}.${i >> 8}.${i & 255}`, t, t, 1000);
      }
      book.watermark(null, timing);
      mostChanged = Math.max(mostChanged, book.changed.size + book.dropped.size);
      book = book.copy();
    }
    expect(book.size).toBeLessThanOrEqual(1000);
    // After the first batch filled the slots, a batch writes back at most the slots plus the fold.
    expect(mostChanged).toBeLessThanOrEqual(2000);
  });
});
