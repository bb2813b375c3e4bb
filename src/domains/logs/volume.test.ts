import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldVolume, planVolume, planVolumeWithStep, type BucketCount } from './volume.js';

const T = Date.UTC(2026, 2, 1, 12, 0, 0);
const MIN = 60_000;

describe('planVolume', () => {
  it('picks the narrowest round width that fits, aligned on the epoch', () => {
    expect(planVolume(T - 60 * MIN, T, false)).toMatchObject({ stepMs: MIN, startMs: T - 60 * MIN, buckets: 60 });
    // A range that does not start on a minute: one more bucket, partly before it, rather than a coarser width.
    expect(planVolume(T - 60 * MIN + 1234, T + 1234, false)).toMatchObject({ stepMs: MIN, startMs: T - 60 * MIN, buckets: 61 });
    expect(planVolume(T - 15 * MIN, T, false)).toMatchObject({ stepMs: 15_000, buckets: 60 });
    expect(planVolume(T - 86_400_000, T, false)).toMatchObject({ stepMs: 30 * MIN, buckets: 48 });
    expect(planVolume(T - 30 * 86_400_000, T, false, 400)).toMatchObject({ stepMs: 2 * 3_600_000, buckets: 360 });
    expect(planVolume(T - 1000 * 86_400_000, T, false, 400)).toMatchObject({ stepMs: 3 * 86_400_000 });
  });

  it('covers the range with at most the buckets asked (one more when unaligned), whatever the bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 1, max: 3e10 }), fc.integer({ min: 1, max: 400 }), (from, span, max) => {
        const plan = planVolume(from, from + span, true, max);
        expect(plan.buckets).toBeLessThanOrEqual(max + 1);
        expect(Math.ceil(span / plan.stepMs)).toBeLessThanOrEqual(max);
        expect(plan.startMs).toBeLessThanOrEqual(from);
        expect(plan.startMs % plan.stepMs).toBe(0);
        expect(plan.startMs + plan.buckets * plan.stepMs).toBeGreaterThanOrEqual(from + span);
      }),
    );
  });
});

describe('planVolumeWithStep', () => {
  it('keeps the width asked for a range a little longer than its multiple, and refuses too many buckets', () => {
    // "The last hour" measured at the server, 80 ms after the browser: still by minute, 61 buckets.
    expect(planVolumeWithStep(T - 60 * MIN + 5_000, T + 5_080, false, MIN)).toMatchObject({ stepMs: MIN, buckets: 61 });
    expect(planVolumeWithStep(T - 86_400_000, T, true, 1000)).toBeNull();
    expect(planVolumeWithStep(T - 400 * MIN, T, true, MIN)).toMatchObject({ buckets: 400 });
  });
});

describe('foldVolume', () => {
  const plan = planVolume(T - 60 * MIN, T, false);

  it('places counts in their buckets and sums them exactly under the cap', () => {
    const answer = foldVolume(plan, [
      { bucket: 0, n: 3 },
      { bucket: 59, n: 7 },
      { bucket: 60, n: 2 }, // stamped after the open end (a clock ahead): the last bucket
    ]);
    expect(answer.total).toBe(12);
    expect(answer.exact).toBe(true);
    expect(answer.counted_from).toBeNull();
    expect(answer.counts).toHaveLength(60);
    expect(answer.counts[0]).toBe(3);
    expect(answer.counts[59]).toBe(9);
    expect(answer.counts.slice(1, 59).every((n) => n === 0)).toBe(true);
    expect(answer.timestamps[0]).toBe((T - 60 * MIN) / 1000);
    expect(answer).toMatchObject({ from: new Date(T - 60 * MIN).toISOString(), to: new Date(T).toISOString(), step: 60 });
  });

  it('past the cap, says "more than" and leaves the buckets it did not finish unknown, never guessed', () => {
    // cap 100: the store returned the newest 101 matches; bucket 40 holds the oldest counted one.
    const counted: BucketCount[] = [
      { bucket: 40, n: 1 },
      { bucket: 50, n: 60 },
      { bucket: 59, n: 40 },
    ];
    const answer = foldVolume(plan, counted, 100);
    expect(answer).toMatchObject({ total: 100, exact: false, counted_from: new Date(T - 60 * MIN + 41 * MIN).toISOString() });
    expect(answer.counts.slice(0, 41).every((n) => n === null)).toBe(true);
    expect(answer.counts[50]).toBe(60);
    expect(answer.counts[59]).toBe(40);
    expect(answer.counts[45]).toBe(0);
  });

  it('is exact exactly when the store found no more than the cap', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ bucket: fc.integer({ min: 0, max: 59 }), n: fc.integer({ min: 1, max: 50 }) }), { maxLength: 20 }), fc.integer({ min: 1, max: 200 }), (counted, cap) => {
        const sum = counted.reduce((a, c) => a + c.n, 0);
        fc.pre(sum <= cap + 1); // the store returns the newest cap + 1 matches at most
        const answer = foldVolume(plan, counted, cap);
        expect(answer.exact).toBe(sum <= cap);
        expect(answer.total).toBe(Math.min(sum, cap));
        const known = answer.counts.filter((n): n is number => n !== null).reduce((a, n) => a + n, 0);
        expect(known).toBeLessThanOrEqual(answer.total);
        if (answer.exact) expect(known).toBe(sum);
      }),
    );
  });
});
