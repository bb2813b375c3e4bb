import { describe, expect, it } from 'vitest';
import { every, nextTickDelay } from './worker.js';

const outageError = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('nextTickDelay', () => {
  it('waits the interval normally, and a short doubling delay (at most 2 s) while a service is away', () => {
    expect(nextTickDelay(3_600_000, 0)).toBe(3_600_000);
    expect([1, 2, 3, 4, 5, 6, 20].map((streak) => nextTickDelay(3_600_000, streak))).toEqual([250, 500, 1000, 2000, 2000, 2000, 2000]);
    // Never later than the regular interval.
    expect(nextTickDelay(300, 5)).toBe(300);
  });
});

describe('every', () => {
  it('retries soon after an outage error instead of waiting the interval, and reports only the first of a streak', async () => {
    const reported: unknown[] = [];
    let calls = 0;
    const worker = every(
      60_000,
      async () => {
        calls += 1;
        if (calls <= 3) throw outageError();
      },
      (error) => reported.push(error),
    );
    const deadline = Date.now() + 10_000;
    while (calls < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await worker.stop();
    // Three failures and the success after them, within seconds although the interval is a minute.
    expect(calls).toBe(4);
    expect(reported).toHaveLength(1);
  });

  it('reports every other failure and keeps its interval', async () => {
    const reported: unknown[] = [];
    let calls = 0;
    const worker = every(
      60_000,
      async () => {
        calls += 1;
        throw new Error('a bug');
      },
      (error) => reported.push(error),
    );
    await new Promise((r) => setTimeout(r, 300));
    await worker.stop();
    expect(calls).toBe(1);
    expect(reported).toHaveLength(1);
  });
});
