import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { CelVelocity, celShipment, compileCriterion, type Outcome, type ShipmentRecord } from './cel.js';
import { compileFast } from './cel-fast.js';

/** Seeded PRNG (mulberry32): the same cases on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LISTS = new Map<string, string[]>([
  ['watched', ['NG', 'KP']],
  ['blocked', ['s1', 's3']],
]);
const COUNTRIES = ['NG', 'KP', 'DE', 'FR'];
const VELOCITY_KEYS = ['count|sender_id||1h', 'sum|sender_id|declared_value_usd|1d', 'avg|sender_id|declared_value_usd|90d', 'distinct|recipient_address|sender_id|7d', 'first|sender_id|destination_country|'];

function generator(rnd: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const double = (d: number): string => {
    const r = rnd();
    if (d <= 0 || r < 0.35) return pick(['shipment.declared_value_usd', 'shipment.weight_kg', `${Math.floor(rnd() * 100)}.${Math.floor(rnd() * 10)}`, '0.0']);
    if (r < 0.5) return pick(["velocity.sum('sender_id', 'declared_value_usd', '1d')", "velocity.avg('sender_id', 'declared_value_usd', '90d')"]);
    if (r < 0.6) return `-${double(d - 1)}`;
    return `(${double(d - 1)} ${pick(['+', '-', '*', '/'])} ${double(d - 1)})`;
  };
  const int = (): string => pick(['shipment.pieces', `${Math.floor(rnd() * 8)}`, "velocity.count('sender_id', '1h')", "velocity.distinct('recipient_address', 'sender_id', '7d')"]);
  const str = (): string => pick(['shipment.destination_country', 'shipment.origin_country', 'shipment.sender_id', `'${pick(COUNTRIES)}'`, "'s1'"]);
  const bool = (d: number): string => {
    const r = rnd();
    if (d <= 0 || r < 0.3) {
      const leaf = rnd();
      if (leaf < 0.2) return `${double(1)} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${double(1)}`;
      if (leaf < 0.35) return `${int()} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${int()}`;
      if (leaf < 0.5) return `${str()} ${pick(['==', '!='])} ${str()}`;
      if (leaf < 0.6) return `${str()} in ['${pick(COUNTRIES)}', '${pick(COUNTRIES)}', 's1']`;
      if (leaf < 0.68) return `${str()} in lists.${pick(['watched', 'blocked'])}`;
      if (leaf < 0.78) return `has(shipment.${pick(['declared_value_usd', 'destination_country', 'pieces', 'sender_id'])})`;
      if (leaf < 0.86) return "velocity.first('sender_id', 'destination_country')";
      return pick(['true', 'false']);
    }
    if (r < 0.45) return `!(${bool(d - 1)})`;
    if (r < 0.6) return `(${bool(d - 1)} ? ${bool(d - 1)} : ${bool(d - 1)})`;
    return `(${bool(d - 1)} ${pick(['&&', '||'])} ${bool(d - 1)})`;
  };
  const shipment = (): ShipmentRecord => {
    const maybe = <T>(v: T): T | null => (rnd() < 0.25 ? null : v);
    return {
      id: '1',
      org_id: 'o',
      external_id: 'x',
      created_at: new Date('2026-05-01T12:00:00Z'),
      attributes: {},
      declared_value_usd: maybe(Math.floor(rnd() * 200) / 2),
      weight_kg: maybe(rnd() < 0.1 ? 0 : Math.floor(rnd() * 50)),
      pieces: maybe(Math.floor(rnd() * 8)),
      destination_country: maybe(pick(COUNTRIES)),
      origin_country: maybe(pick(COUNTRIES)),
      sender_id: maybe(pick(['s1', 's2', 's3'])),
    };
  };
  const velocity = (): CelVelocity => {
    const m = new Map<string, number | boolean | null>();
    for (const k of VELOCITY_KEYS) {
      if (rnd() < 0.2) continue; // absent key field: no value (null or missing)
      m.set(k, k.startsWith('first') ? rnd() < 0.5 : k.startsWith('count') || k.startsWith('distinct') ? Math.floor(rnd() * 8) : Math.floor(rnd() * 100) / 4);
    }
    return new CelVelocity(m);
  };
  return { bool, shipment, velocity };
}

const kind = (o: Outcome): string => (o.kind === 'match' ? `match ${JSON.stringify(o.values)}` : o.kind);
const plainEnv = new Environment({ unlistedVariablesAreDyn: true });

describe('cel-fast closures', () => {
  it('give the same outcome as cel-js (match with its values / no / absent / error) on generated expressions and shipments', () => {
    const rnd = prng(7);
    const g = generator(rnd);
    let compared = 0;
    const kinds = new Map<string, number>();
    for (let e = 0; e < 400; e++) {
      const expression = g.bool(1 + Math.floor(rnd() * 4));
      expect(compileFast(plainEnv.parse(expression).ast, { fieldTypes: new Map([['declared_value_usd', 'double'], ['weight_kg', 'double'], ['pieces', 'int'], ['destination_country', 'string'], ['origin_country', 'string'], ['sender_id', 'string']]), lists: LISTS, velocity: (name) => ({ key: 'k', type: name === 'first' ? 'bool' : name === 'count' || name === 'distinct' ? 'int' : 'double' }) }), expression).not.toBeNull();
      const fast = compileCriterion(expression, LISTS);
      // size() is outside the subset, so this twin is evaluated by cel-js; `&& true` keeps the outcome.
      const reference = compileCriterion(`(${expression}) && size('') == 0`, LISTS);
      for (let i = 0; i < 25; i++) {
        const s = celShipment(g.shipment());
        const v = g.velocity();
        const a = fast.evaluate(s, v);
        const b = reference.evaluate(s, v);
        expect(kind(a), `${expression} on ${JSON.stringify(s, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))}`).toBe(kind(b));
        kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1);
        compared++;
      }
    }
    expect(compared).toBe(10_000);
    // The cases cover every outcome but error (double arithmetic never fails).
    for (const k of ['match', 'no', 'absent']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(100);
  });

  it('leaves what is outside the subset to cel-js (null)', () => {
    const ctx = { fieldTypes: new Map([['pieces', 'int'], ['created_at', 'timestamp'], ['description', 'string']]), lists: LISTS, velocity: () => null };
    for (const expression of ['shipment.pieces + 1 > 3', "shipment.description.contains('gift')", "shipment.description < 'b'", 'size(shipment.description) > 3', "shipment.created_at > timestamp('2026-01-01T00:00:00Z')", "lists.watched.exists(c, c == 'NG')"]) {
      expect(compileFast(plainEnv.parse(expression).ast, ctx), expression).toBeNull();
    }
  });

  it('int aggregates are CEL ints on both paths: == 5 matches 5, + 1 does not throw', () => {
    const s = celShipment({ id: '1', org_id: 'o', external_id: 'x', created_at: new Date(), attributes: {}, sender_id: 's1' });
    const v = new CelVelocity(new Map([['count|sender_id||1h', 5]]));
    expect(compileCriterion("velocity.count('sender_id', '1h') == 5", new Map()).evaluate(s, v).kind).toBe('match'); // closures
    expect(compileCriterion("velocity.count('sender_id', '1h') + 1 == 6", new Map()).evaluate(s, v).kind).toBe('match'); // cel-js (int arithmetic)
    expect(compileCriterion("velocity.count('sender_id', '1h') == 5 && size('') == 0", new Map()).evaluate(s, v).kind).toBe('match'); // cel-js
  });

  it('int errors stay errors through the fallback (division by zero pauses)', () => {
    const c = compileCriterion('shipment.pieces / 0 > 1', new Map());
    expect(c.evaluate(celShipment({ id: '1', org_id: 'o', external_id: 'x', created_at: new Date(), attributes: {}, pieces: 3 }), new CelVelocity(new Map())).kind).toBe('error');
  });
});
