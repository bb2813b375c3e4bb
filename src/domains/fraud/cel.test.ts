import { describe, expect, it } from 'vitest';
import { CelVelocity, aggregateKey, celShipment, checkExpression, compileCriterion, fraudSchemaFor, type ShipmentRecord } from './cel.js';

const NO_LISTS = new Map<string, number>();
const ISSUE_EXAMPLE = "shipment.declared_value_usd > 5000.0 && shipment.destination_country in ['NG', 'KP']";

const row = (over: Partial<ShipmentRecord> = {}): ShipmentRecord => ({
  id: '1',
  org_id: 'o',
  external_id: 'x-1',
  created_at: new Date('2026-05-01T12:00:00Z'),
  attributes: {},
  declared_value_usd: 6000,
  destination_country: 'NG',
  sender_id: 's1',
  pieces: 2,
  ...over,
});

describe('checkExpression', () => {
  it("accepts the issue's example as bool with no aggregates", () => {
    const c = checkExpression(ISSUE_EXAMPLE, NO_LISTS);
    expect(c).toEqual({ ok: true, type: 'bool', errors: [], aggregates: [] });
  });

  it('reads each aggregate kind from the AST', () => {
    const c = checkExpression(
      "velocity.count('sender_id', '1h') > 20 || velocity.sum('sender_id', 'declared_value_usd', '1d') > 5.0 || " +
        "shipment.declared_value_usd > 10.0 * velocity.avg('sender_id', 'declared_value_usd', '90d') || " +
        "velocity.distinct('recipient_address', 'sender_id', '7d') >= 5 || velocity.first('sender_id', 'destination_country') || velocity.count('sender_id', '1h') > 30",
      NO_LISTS,
    );
    expect(c.errors).toEqual([]);
    expect(c.ok).toBe(true);
    expect(c.aggregates).toHaveLength(5); // the repeated count is one aggregate
    expect(c.aggregates).toEqual(
      expect.arrayContaining([
        { kind: 'count', key: 'sender_id', field: null, window: '1h' },
        { kind: 'sum', key: 'sender_id', field: 'declared_value_usd', window: '1d' },
        { kind: 'avg', key: 'sender_id', field: 'declared_value_usd', window: '90d' },
        { kind: 'distinct', key: 'recipient_address', field: 'sender_id', window: '7d' },
        { kind: 'first', key: 'sender_id', field: 'destination_country', window: null },
      ]),
    );
  });

  it('names an unknown list and accepts a known one', () => {
    const lists = new Map([['blocked_senders', 3]]);
    expect(checkExpression('shipment.sender_id in lists.blocked_senders', lists).ok).toBe(true);
    const bad = checkExpression('shipment.sender_id in lists.blocked', lists);
    expect(bad.ok).toBe(false);
    expect(bad.errors[0]?.message).toBe("No list named 'blocked' in this organisation (its lists are blocked_senders); create it under Fraud → Lists or POST /api/v1/fraud/lists");
    expect(bad.errors[0]).toMatchObject({ line: 1, column: 29 });
  });

  it('says a misspelt field is not a shipment field, and where the customer\'s own fields are', () => {
    const c = checkExpression('shipment.declard_value_usd > 1.0', NO_LISTS);
    expect(c.errors[0]).toMatchObject({ line: 1, column: 10 });
    expect(c.errors[0]?.message).toContain("A shipment has no field 'declard_value_usd'");
    expect(c.errors[0]?.message).toContain("shipment.attributes['declard_value_usd']");
  });

  it('gives line and column of a type error, and refuses non-bool results', () => {
    const c = checkExpression("shipment.sender_id == 'a' &&\n  shipment.pieces + 'x' > 1", NO_LISTS);
    expect(c.ok).toBe(false);
    expect(c.errors[0]?.line).toBe(2);
    expect(c.errors[0]?.column).toBeGreaterThan(1);
    const n = checkExpression('shipment.declared_value_usd * 2.0', NO_LISTS);
    expect(n.ok).toBe(false);
    expect(n.type).toBe('double');
    expect(n.errors[0]?.message).toMatch(/must be a condition \(bool\)/);
    const f = checkExpression('shipment.no_such_field > 1', NO_LISTS);
    expect(f.ok).toBe(false);
    expect(f.errors[0]?.message).toContain('no_such_field');
  });

  it('refuses bad velocity arguments with clear messages', () => {
    const cases: [string, RegExp][] = [
      ["velocity.count(shipment.sender_id, '1h') > 1", /argument 1 \(key\) must be a string literal/],
      ["velocity.count('weight_kg', '1h') > 1", /key 'weight_kg' is not a text field/],
      ["velocity.sum('sender_id', 'sender_name', '1h') > 1.0", /field 'sender_name' must be a numeric field/],
      ["velocity.count('sender_id', '1 hour') > 1", /window '1 hour' must be a number and a unit/],
      ["velocity.count('sender_id', '91d') > 1", /at most 90d/],
      ["velocity.count('sender_id') > 1", /.+/],
    ];
    for (const [e, message] of cases) {
      const c = checkExpression(e, NO_LISTS);
      expect(c.ok, e).toBe(false);
      expect(c.errors.map((x) => x.message).join(' / '), e).toMatch(message);
    }
  });

  it('refuses regular expressions and cel.bind', () => {
    const m = checkExpression("shipment.description.matches('(a+)+$')", NO_LISTS);
    expect(m.ok).toBe(false);
    expect(m.errors[0]?.message).toMatch(/regular expressions are not allowed/);
    expect(m.errors[0]).toMatchObject({ line: 1, column: 1 });
    expect(checkExpression("matches(shipment.description, 'a')", NO_LISTS).ok).toBe(false);
    expect(checkExpression("cel.bind(a, shipment.description + shipment.description, size(a) > 1)", NO_LISTS).ok).toBe(false);
  });

  it('survives hostile inputs: deep nesting, huge lists, long text, nested comprehensions', () => {
    const deep = checkExpression('('.repeat(1990) + 'true' + ')'.repeat(1990), NO_LISTS);
    expect(deep.ok).toBe(false);
    expect(deep.errors[0]?.message).toMatch(/maxDepth/);
    const longOr = Array.from({ length: 400 }, () => "shipment.sender_id == 'a'").join(' || ');
    expect(longOr.length).toBeGreaterThan(4000);
    expect(checkExpression(longOr, NO_LISTS).errors[0]?.message).toMatch(/at most 4000/);
    const many = checkExpression(`shipment.sender_id in [${Array.from({ length: 1300 }, () => "'a'").join(',')}]`.slice(0, 4000), NO_LISTS);
    expect(many.ok).toBe(false);
    const lists = new Map([['big', 100_000]]);
    expect(checkExpression("lists.big.exists(a, shipment.description.contains(a))", lists).ok).toBe(true);
    const nested = checkExpression('lists.big.exists(a, lists.big.exists(b, a == b))', lists);
    expect(nested.ok).toBe(false);
    expect(nested.errors[0]?.message).toMatch(/too long to evaluate/);
    const searchInside = checkExpression('lists.big.exists(a, a in lists.big)', lists);
    expect(searchInside.ok).toBe(false);
    const triple = checkExpression('[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, a + b + c > 0)))', NO_LISTS);
    expect(triple.ok).toBe(true); // small literal ranges are fine
    expect(checkExpression('', NO_LISTS).ok).toBe(false);
    expect(checkExpression('shipment.', NO_LISTS).errors[0]?.line).toBe(1);
  });
});

describe('fraudSchemaFor', () => {
  it('offers typed, described fields, functions with examples and the lists', () => {
    const s = fraudSchemaFor(new Map([['watched', 2]]));
    expect(s.fields).toContainEqual(expect.objectContaining({ name: 'shipment.declared_value_usd', type: 'double' }));
    expect(s.fields.every((f) => f.description.length > 0)).toBe(true);
    expect(s.lists).toEqual([{ name: 'lists.watched', items: 2 }]);
    for (const f of s.functions) if (f.signature.startsWith('velocity.')) expect(checkExpression(f.example, NO_LISTS).ok, f.example).toBe(true);
  });
});

describe('compileCriterion', () => {
  it('matches and reports the values it read', () => {
    const c = compileCriterion(ISSUE_EXAMPLE, new Map());
    const out = c.evaluate(celShipment(row()), new CelVelocity(new Map()));
    expect(out).toEqual({ kind: 'match', values: { 'shipment.declared_value_usd': 6000, 'shipment.destination_country': 'NG' } });
    expect(c.evaluate(celShipment(row({ destination_country: 'DE' })), new CelVelocity(new Map())).kind).toBe('no');
  });

  it('treats an absent field or entity as not matching, and a runtime error as an error', () => {
    const c = compileCriterion(ISSUE_EXAMPLE, new Map());
    expect(c.evaluate(celShipment(row({ declared_value_usd: null })), new CelVelocity(new Map())).kind).toBe('absent');
    const v = compileCriterion("velocity.count('sender_id', '1h') > 1", new Map());
    expect(v.evaluate(celShipment(row({ sender_id: null })), new CelVelocity(new Map([[aggregateKey(v.aggregates[0]!), null]]))).kind).toBe('absent');
    expect(v.evaluate(celShipment(row()), new CelVelocity(new Map([[aggregateKey(v.aggregates[0]!), 2]])))).toEqual({
      kind: 'match',
      values: { "velocity.count('sender_id', '1h')": 2 },
    });
    const div = compileCriterion('shipment.pieces / (shipment.pieces - 2) > 1', new Map());
    const e = div.evaluate(celShipment(row({ pieces: 2 })), new CelVelocity(new Map()));
    expect(e.kind).toBe('error');
    expect(e.kind === 'error' && e.message).toMatch(/division by zero/);
    expect(compileCriterion('has(shipment.declared_value_usd)', new Map()).evaluate(celShipment(row({ declared_value_usd: null })), new CelVelocity(new Map())).kind).toBe('no');
  });

  it('reads lists and attributes', () => {
    const c = compileCriterion("shipment.sender_id in lists.blocked && shipment.attributes.channel == 'x'", new Map([['blocked', ['s1']]]));
    expect(c.evaluate(celShipment(row({ attributes: { channel: 'x' } })), new CelVelocity(new Map())).kind).toBe('match');
    expect(c.evaluate(celShipment(row({ attributes: {} })), new CelVelocity(new Map())).kind).toBe('absent');
    expect(() => compileCriterion('shipment.x > 1', new Map())).toThrow(/x/);
  });
});
