import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AggregateUse } from '../../contracts/fraud.js';
import { MAX_QUANTITY, MAX_USD_PER_UNIT } from '../../contracts/shipments.js';
import type { HistoryRow } from '../shipments/index.js';
import { computeAggregates } from './aggregates.js';
import { aggregateKey, windowMs, type ShipmentRecord } from './cel.js';

const MIN = 60_000;
const rec = (id: number, minute: number, sender: string | null, value: number | null, country = 'DE'): ShipmentRecord => ({
  id: String(id),
  org_id: 'o',
  external_id: `e${id}`,
  created_at: new Date(minute * MIN),
  attributes: {},
  sender_id: sender,
  declared_value_usd: value,
  destination_country: country,
});
const hist = (r: ShipmentRecord, key: string): HistoryRow => ({ orgId: 'o', id: Number(r.id), createdAt: r.created_at.getTime(), key: String(r[key]), values: r });

const USES: AggregateUse[] = [
  { kind: 'count', key: 'sender_id', field: null, window: '1h' },
  { kind: 'sum', key: 'sender_id', field: 'declared_value_usd', window: '1h' },
  { kind: 'avg', key: 'sender_id', field: 'declared_value_usd', window: '1d' },
  { kind: 'distinct', key: 'sender_id', field: 'destination_country', window: '1h' },
  { kind: 'first', key: 'sender_id', field: 'destination_country', window: null },
];

/** The definition, shipment by shipment, without sweeps. */
function naive(all: readonly ShipmentRecord[], target: ShipmentRecord, u: AggregateUse): number | boolean | null {
  const key = target[u.key];
  if (typeof key !== 'string') return null;
  const t = target.created_at.getTime();
  const id = Number(target.id);
  const w = u.window ? windowMs(u.window)! : 90 * 86_400_000;
  const upTo = all.filter((r) => r[u.key] === key && (r.created_at.getTime() < t || (r.created_at.getTime() === t && Number(r.id) <= id)) && r.created_at.getTime() > t - w);
  const earlier = upTo.filter((r) => r.id !== target.id);
  const nums = (rs: ShipmentRecord[]) => rs.map((r) => r[u.field!]).filter((v): v is number => typeof v === 'number');
  switch (u.kind) {
    case 'count':
      return upTo.length;
    case 'sum':
      return nums(upTo).reduce((a, b) => a + b, 0);
    case 'avg': {
      const n = nums(earlier);
      return n.length === 0 ? 0 : n.reduce((a, b) => a + b, 0) / n.length;
    }
    case 'distinct':
      return new Set(upTo.map((r) => r[u.field!]).filter((v) => typeof v === 'string')).size;
    case 'first': {
      const own = target[u.field!];
      if (typeof own !== 'string') return null;
      return !earlier.some((r) => r[u.field!] === own);
    }
  }
}

describe('computeAggregates', () => {
  it('gives each kind as of each shipment, ties broken by intake order, the shipment itself excluded from avg and first', () => {
    const rows = [rec(5, 30, 's', 1000), rec(1, 0, 's', 100), rec(2, 10, 's', 100, 'FR'), rec(3, 10, 's', null), rec(4, 90, 's', 100), rec(6, 5, 'x', 7), rec(7, 5, null, 1)];
    const out = computeAggregates(rows, USES, new Map([['sender_id', rows.filter((r) => r['sender_id'] !== null).map((r) => hist(r, 'sender_id'))]]));
    const v = (id: number, u: AggregateUse) => out.at(rows.findIndex((r) => r.id === String(id)), aggregateKey(u));
    expect(v(1, USES[0]!)).toBe(1);
    expect(v(3, USES[0]!)).toBe(3); // tie at minute 10: id 2 is before id 3
    expect(v(5, USES[0]!)).toBe(4);
    expect(v(4, USES[0]!)).toBe(1); // minute 30 is not inside (30, 90]
    expect(v(5, USES[1]!)).toBe(1200);
    expect(v(5, USES[2]!)).toBe(100); // earlier non-null values: 100, 100
    expect(v(1, USES[2]!)).toBe(0);
    expect(v(2, USES[4]!)).toBe(true); // FR is new
    expect(v(3, USES[4]!)).toBe(false);
    expect(v(5, USES[3]!)).toBe(2);
    expect(v(7, USES[0]!)).toBeNull(); // no sender: absent
  });

  it('agrees with the definition for any history, batch split and order', () => {
    const row = fc.record({ minute: fc.integer({ min: 0, max: 600 }), sender: fc.constantFrom('a', 'b', null), value: fc.option(fc.integer({ min: 0, max: 1000 })), country: fc.constantFrom('DE', 'FR', 'NG') });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), fc.nat(), (specs, split) => {
        const all = specs.map((s, i) => rec(i + 1, s.minute, s.sender, s.value, s.country));
        // The batch: a subset of the stored shipments; history: every stored one with a key.
        const batch = all.filter((_, i) => (i + split) % 3 !== 0);
        const out = computeAggregates(batch, USES, new Map([['sender_id', all.filter((r) => r['sender_id'] !== null).map((r) => hist(r, 'sender_id'))]]));
        for (const [row, t] of batch.entries()) for (const u of USES) expect(out.at(row, aggregateKey(u)), `${u.kind} of ${t.id}`).toEqual(naive(all, t, u));
      }),
      { numRuns: 200 },
    );
  });

  it("keeps a sum finite at the intake contract's bounds (values near Number.MAX_VALUE made it Infinity)", () => {
    const sum = USES[1]!;
    const top = MAX_QUANTITY * MAX_USD_PER_UNIT; // the largest declared_value_usd intake can store
    // 10,000 shipments of one sender in the same minute: the last one's sum is of all of them.
    const batch = Array.from({ length: 10_000 }, (_, i) => rec(i + 1, 0, 'big', top));
    const last = computeAggregates(batch, [sum], new Map()).at(batch.length - 1, aggregateKey(sum)) as number;
    expect(Number.isFinite(last)).toBe(true);
    expect(last / top).toBeCloseTo(10_000, 6);
  });

  it('counts a value stored before the bounds existed as the largest intake stores: sums stay finite and recover once it leaves the window', () => {
    const [, sum, avg] = USES as [AggregateUse, AggregateUse, AggregateUse];
    const top = MAX_QUANTITY * MAX_USD_PER_UNIT;
    // Two values near Number.MAX_VALUE summed to Infinity, and the sliding sum stayed Infinity for
    // every later shipment of the sender: Infinity minus anything is Infinity.
    const old = [rec(1, 0, 'big', Number.MAX_VALUE), rec(2, 1, 'big', Number.MAX_VALUE)];
    const later = [rec(3, 2, 'big', 100), rec(4, 120, 'big', 100), rec(5, 121, 'big', 50)];
    const table = computeAggregates(later, [sum, avg], new Map([['sender_id', old.map((r) => hist(r, 'sender_id'))]]));
    expect(table.at(0, aggregateKey(sum))).toBe(2 * top + 100);
    // Two hours on, both left the hour's window: the sum is of the recent shipments only.
    expect(table.at(1, aggregateKey(sum))).toBe(100);
    expect(table.at(2, aggregateKey(sum))).toBe(150);
    expect(Number.isFinite(table.at(2, aggregateKey(avg)))).toBe(true);
  });
});
