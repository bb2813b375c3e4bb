import { describe, expect, it } from 'vitest';
import { findPoison, isDataError } from './poison.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDataError', () => {
  it('is true for errors the values cause, false for everything an outage looks like', () => {
    expect(isDataError(pgError('22003', 'value "1e300" is out of range for type bigint'))).toBe(true);
    expect(isDataError(pgError('22P05', 'unsupported Unicode escape sequence'))).toBe(true);
    expect(isDataError(pgError('54000', 'index row size 6016 exceeds btree version 4 maximum 2704'))).toBe(true);
    expect(isDataError(pgError('21000', 'ON CONFLICT DO UPDATE command cannot affect row a second time'))).toBe(true);
    expect(isDataError(new RangeError('Maximum call stack size exceeded'))).toBe(true);
    expect(isDataError(new TypeError('Do not know how to serialize a BigInt'))).toBe(true);

    expect(isDataError(pgError('57P01', 'terminating connection due to administrator command'))).toBe(false);
    expect(isDataError(pgError('08006', 'connection failure'))).toBe(false);
    expect(isDataError(pgError('53300', 'too many connections'))).toBe(false);
    expect(isDataError(pgError('40001', 'could not serialize access'))).toBe(false);
    expect(isDataError(pgError('ECONNRESET', 'read ECONNRESET'))).toBe(false);
    expect(isDataError(pgError('ECONNREFUSED'))).toBe(false);
    expect(isDataError(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isDataError(Object.assign(new TypeError('fetch failed'), { code: 'UND_ERR_SOCKET' }))).toBe(false);
    expect(isDataError('string')).toBe(false);
  });
});

describe('findPoison', () => {
  const bad = new RangeError('bad');
  const tryWith = (poison: Set<number>, calls: number[][] = []) => async (subset: readonly number[]) => {
    calls.push([...subset]);
    return subset.some((i) => poison.has(i)) ? bad : undefined;
  };

  it('finds every item that fails alone, in few attempts', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const calls: number[][] = [];
    const found = await findPoison(items, tryWith(new Set([3, 500, 999]), calls));
    expect(found.map((f) => f.item)).toEqual([3, 500, 999]);
    expect(found.every((f) => f.error === bad)).toBe(true);
    expect(calls.length).toBeLessThan(3 * 2 * Math.log2(1000) + 2);
  });

  it('finds nothing when every item passes alone (the caller then lets the batch fail as before)', async () => {
    expect(await findPoison([1, 2, 3], async () => undefined)).toEqual([]);
  });

  it('stops, setting nothing aside, when an attempt fails because the database went away', async () => {
    let n = 0;
    const outage = Object.assign(new Error('Connection terminated unexpectedly'), {});
    await expect(
      findPoison([1, 2, 3, 4], async () => {
        n++;
        if (n === 2) throw outage;
        return bad;
      }),
    ).rejects.toBe(outage);
  });
});
