import { describe, expect, it } from 'vitest';
import { idRuns } from './for-fraud.js';

describe('idRuns', () => {
  it('names a batch by its runs of consecutive ids, whatever the order and duplicates', () => {
    expect(idRuns([])).toEqual({ lo: [], hi: [] });
    expect(idRuns([7])).toEqual({ lo: [7], hi: [7] });
    expect(idRuns([5, 3, 4, 4, 10, 12, 11, 20])).toEqual({ lo: [3, 10, 20], hi: [5, 12, 20] });
  });

  it('puts in a run only ids of the batch (a gap of one id splits it)', () => {
    const ids = [1, 2, 3, 5, 6, 9];
    const runs = idRuns(ids);
    const covered: number[] = [];
    for (let i = 0; i < runs.lo.length; i++) for (let id = runs.lo[i]!; id <= runs.hi[i]!; id++) covered.push(id);
    expect(covered).toEqual(ids);
  });

  it('keeps ids beyond 2^31 exact', () => {
    const big = 2 ** 40;
    expect(idRuns([big + 1, big, big + 3])).toEqual({ lo: [big, big + 3], hi: [big + 1, big + 3] });
  });
});
