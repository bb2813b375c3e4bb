import { describe, expect, it } from 'vitest';
import { criterionInput } from '@contracts/fraud.js';
import {
  applyCompletion,
  builderFields,
  celToConditions,
  changeText,
  celNumber,
  celString,
  completionCandidates,
  completionsAt,
  conditionsToCel,
  dayBars,
  filterOfSearch,
  formToCriterion,
  fraudAlertPath,
  fraudAlertsSearch,
  itemsOf,
  NEW_CRITERION_FORM,
  newCondition,
  precisionText,
  problemText,
  statusText,
  type Condition,
  type FraudSchema,
} from './fraud';

describe('the form builder writes CEL', () => {
  it("writes the issue's body as written, with the double literal for a double field", () => {
    const conditions: Condition[] = [
      { kind: 'compare', field: 'declared_value_usd', op: '>', value: '5000' },
      { kind: 'in_countries', field: 'destination_country', countries: 'NG, kp', negate: false },
    ];
    expect(conditionsToCel(conditions, 'all')).toEqual({
      expression: "shipment.declared_value_usd > 5000.0 && shipment.destination_country in ['NG', 'KP']",
      problems: [],
    });
  });

  it("writes each of the issue's velocity examples", () => {
    const cel = (c: Condition) => conditionsToCel([c], 'all').expression;
    expect(cel(newCondition('count'))).toBe("velocity.count('sender_id', '1h') > 20");
    expect(cel(newCondition('distinct'))).toBe("velocity.distinct('recipient_address', 'sender_id', '7d') >= 5");
    expect(cel(newCondition('first'))).toBe("velocity.first('sender_id', 'destination_country')");
    expect(cel(newCondition('above_avg'))).toBe(
      "velocity.avg('sender_id', 'declared_value_usd', '90d') > 0.0 && shipment.declared_value_usd > 10.0 * velocity.avg('sender_id', 'declared_value_usd', '90d')",
    );
  });

  it('parenthesises compound conditions when several are joined, and joins any with ||', () => {
    const { expression } = conditionsToCel([newCondition('first'), newCondition('above_avg')], 'all');
    expect(expression).toBe(
      "velocity.first('sender_id', 'destination_country') && (velocity.avg('sender_id', 'declared_value_usd', '90d') > 0.0 && shipment.declared_value_usd > 10.0 * velocity.avg('sender_id', 'declared_value_usd', '90d'))",
    );
    expect(conditionsToCel([newCondition('count'), { kind: 'in_list', field: 'sender_id', list: 'blocked_senders', negate: true }], 'any').expression).toBe(
      "velocity.count('sender_id', '1h') > 20 || !(shipment.sender_id in lists.blocked_senders)",
    );
  });

  it('quotes strings for CEL, so a value cannot end the literal', () => {
    expect(celString("O'Brien \\ x")).toBe("'O\\'Brien \\\\ x'");
    expect(conditionsToCel([{ kind: 'compare', field: 'sender_id', op: '==', value: "a' || true || '" }], 'all').expression).toBe("shipment.sender_id == 'a\\' || true || \\''");
  });

  it('writes numbers in the type of the field, and names what it cannot write instead of writing it', () => {
    expect(celNumber('5000', 'double')).toBe('5000.0');
    expect(celNumber('12.5', 'double')).toBe('12.5');
    expect(celNumber('3', 'int')).toBe('3');
    expect(celNumber('3.5', 'int')).toBeUndefined();
    expect(celNumber('1e9', 'double')).toBeUndefined();
    const out = conditionsToCel(
      [
        { kind: 'compare', field: 'pieces', op: '>=', value: 'many' },
        { kind: 'count', key: 'sender_id', window: '1 hour', threshold: '20' },
        { kind: 'in_countries', field: 'destination_country', countries: 'Nigeria', negate: false },
        { kind: 'compare', field: 'pieces', op: '>=', value: '10' },
      ],
      'all',
    );
    expect(out.expression).toBe('shipment.pieces >= 10');
    expect(out.problems.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(out.problems[1]!.message).toMatch(/e\.g\. 1h/);
    expect(out.problems[2]!.message).toMatch(/NIGERIA/);
  });

  it("takes the field types from the server's schema when it has them", () => {
    const schema: FraudSchema = {
      fields: [
        { name: 'shipment.declared_value_usd', type: 'double', description: '' },
        { name: 'shipment.pieces', type: 'int', description: '' },
        { name: 'shipment.sender_id', type: 'string', description: '' },
        { name: 'shipment.created_at', type: 'google.protobuf.Timestamp', description: '' },
        { name: 'shipment.attributes', type: 'map(string, dyn)', description: '' },
      ],
      functions: [],
      lists: [],
    };
    expect(builderFields(schema)).toEqual([
      { name: 'declared_value_usd', type: 'double' },
      { name: 'pieces', type: 'int' },
      { name: 'sender_id', type: 'string' },
    ]);
    expect(builderFields(undefined).find((f) => f.name === 'declared_value_usd')?.type).toBe('double');
  });
});

describe('the criterion form', () => {
  it('makes a body the contract accepts', () => {
    const body = formToCriterion({ ...NEW_CRITERION_FORM, name: '  watched  ', expression: 'shipment.pieces > 3' });
    expect(criterionInput.parse(body)).toMatchObject({ name: 'watched', enabled: false, group_by: ['sender_id'], channels: '*' });
  });
});

describe('the code editor', () => {
  const schema: FraudSchema = {
    fields: [
      { name: 'shipment.declared_value_usd', type: 'double', description: 'declared value in USD' },
      { name: 'shipment.destination_country', type: 'string', description: '' },
    ],
    functions: [
      { signature: 'velocity.count(key: string, window: string) -> int', description: 'shipments per entity', example: "velocity.count('sender_id', '1h') > 20" },
      { signature: 'string.contains(string) -> bool', description: 'substring', example: '' },
      { signature: '<value> in <list> -> bool', description: 'membership', example: '' },
    ],
    lists: [{ name: 'lists.blocked_senders', items: 3 }],
  };
  const candidates = completionCandidates(schema);

  it('offers the fields, functions and lists that start with the word before the cursor, then those containing it', () => {
    const text = 'shipment.dec';
    expect(completionsAt(text, text.length, candidates).items.map((c) => c.text)).toEqual(['shipment.declared_value_usd']);
    expect(completionsAt(text, text.length, candidates).items[0]!.from).toBe(0);
    expect(completionsAt('velo', 4, candidates).items.map((c) => c.text)).toEqual(['velocity.count(']);
    expect(completionsAt('x && blocked', 12, candidates)).toEqual({ items: [expect.objectContaining({ text: 'lists.blocked_senders', from: 5 })] });
  });

  it('offers methods for the segment after the last dot, and nothing for signatures that are no name', () => {
    const text = 'shipment.destination_country == "NG" && shipment.description.con';
    expect(completionsAt(text, text.length, candidates).items).toEqual([expect.objectContaining({ text: 'contains(', from: text.length - 3 })]);
    expect(completionsAt('con', 3, candidates).items).toEqual([]);
    expect(candidates.some((c) => c.text.includes('<'))).toBe(false);
  });

  it('offers nothing inside a string literal or for an empty word', () => {
    expect(completionsAt("shipment.sender_id == 'ship", 27, candidates).items).toEqual([]);
    expect(completionsAt('a && ', 5, candidates).items).toEqual([]);
  });

  it('replaces the word with the completion and puts the cursor after it', () => {
    expect(applyCompletion('shipment.dec > 5', 0, 12, 'shipment.declared_value_usd')).toEqual({ text: 'shipment.declared_value_usd > 5', cursor: 27 });
  });

  it('says where a problem is', () => {
    expect(problemText({ message: "undeclared reference to 'x'", line: 2, column: 5 })).toBe("line 2, column 5: undeclared reference to 'x'");
    expect(problemText({ message: 'too long', line: null, column: null })).toBe('too long');
  });
});

describe('lists, statistics, backtest bars', () => {
  it('reads pasted items one a line, trimmed, without blanks or repeats', () => {
    expect(itemsOf(' a \r\nb\n\n a\nc ')).toEqual(['a', 'b', 'c']);
  });

  it('shows precision over the reviewed alerts, and status with the pause reason', () => {
    expect(precisionText({ matches_7d: 9, fraud: 3, false_positive: 1, benign: 0, precision: 0.75 })).toBe('75 % (3 of 4 reviewed)');
    expect(precisionText({ matches_7d: 9, fraud: 0, false_positive: 0, benign: 0, precision: null })).toBe('—');
    expect(statusText({ status: 'paused', paused_reason: 'division by zero' })).toBe('paused: division by zero');
    expect(statusText({ status: 'shadow', paused_reason: null })).toBe('shadow');
  });

  it("scales each day's bar to the busiest day", () => {
    const bars = dayBars([
      { day: '2026-05-01', evaluated: 10, matched: 2 },
      { day: '2026-05-02', evaluated: 10, matched: 4 },
      { day: '2026-05-03', evaluated: 0, matched: 0 },
    ]);
    expect(bars.map((b) => b.share)).toEqual([0.5, 1, 0]);
  });
});

describe('the audit log', () => {
  it('says a created field by its value, and a changed one from → to', () => {
    expect(changeText('name', { from: null, to: 'watched' })).toBe('name = watched');
    expect(changeText('description', { from: null, to: '' })).toBe('description = ""');
    expect(changeText('enabled', { from: false, to: true })).toBe('enabled: false → true');
    expect(changeText('paused_reason', { from: 'division by zero', to: null })).toBe('paused_reason: division by zero → —');
  });
});

describe("the inbox's address and filter", () => {
  const id = '0b6b6c5e-8f0a-4a43-9d59-6c1d2b1f0a11';
  it('keeps known values only', () => {
    expect(fraudAlertsSearch({ criterion: id, status: 'open', verdict: 'fraud', shadow: 'all', open: id })).toEqual({ criterion: id, status: 'open', verdict: 'fraud', shadow: 'all', open: id });
    expect(fraudAlertsSearch({ criterion: 'x', status: 'firing', verdict: 'maybe', shadow: 'yes', open: ['a'] })).toEqual({});
  });

  it('asks the API for what the address says', () => {
    const filter = filterOfSearch({ criterion: id, status: 'reviewed', open: id });
    expect(filter).toEqual({ criterion_id: id, status: 'reviewed' });
    expect(fraudAlertPath(filter)).toBe(`/api/v1/fraud/alerts?criterion_id=${id}&status=reviewed&limit=200`);
  });
});

describe('the form builder reads back what it wrote', () => {
  const roundTrips: { conditions: Condition[]; join: 'all' | 'any' }[] = [
    { join: 'all', conditions: [{ kind: 'compare', field: 'declared_value_usd', op: '>', value: '5000' }, { kind: 'in_countries', field: 'destination_country', countries: 'NG, KP', negate: false }] },
    { join: 'all', conditions: [newCondition('above_avg')] },
    { join: 'all', conditions: [newCondition('first'), newCondition('above_avg')] },
    { join: 'any', conditions: [newCondition('count'), newCondition('distinct'), { kind: 'in_list', field: 'sender_id', list: 'blocked_senders', negate: true }] },
    { join: 'any', conditions: [{ kind: 'compare', field: 'sender_name', op: '==', value: "O'Brien && co" }, newCondition('above_avg')] },
    { join: 'all', conditions: [{ kind: 'compare', field: 'pieces', op: '>=', value: '3' }] },
  ];
  it.each(roundTrips)('%#: conditions → CEL → the same conditions', ({ conditions, join }) => {
    const { expression } = conditionsToCel(conditions, join);
    const back = celToConditions(expression);
    expect(back).toBeDefined();
    expect(conditionsToCel(back!.conditions, back!.join).expression).toBe(expression);
  });

  it('refuses what it did not write', () => {
    expect(celToConditions("shipment.declared_value_usd > 5000.0 && shipment.attributes.x == 'y'")).toBeUndefined();
    expect(celToConditions('shipment.declared_value_usd > 5000.0 && (shipment.pieces > 1 || shipment.pieces < 0)')).toBeUndefined();
    expect(celToConditions('shipment.declared_value_usd>5000.0')).toBeUndefined();
    expect(celToConditions('')).toBeUndefined();
  });
});

describe('reading back, parentheses', () => {
  it('does not take "(a) && (b)" for one parenthesised condition', () => {
    expect(celToConditions("(shipment.pieces > 1) || (shipment.sender_id == 'x')")).toBeUndefined();
    expect(celToConditions("shipment.sender_id == '(x) && (y)'")).toEqual({ join: 'all', conditions: [{ kind: 'compare', field: 'sender_id', op: '==', value: '(x) && (y)' }] });
  });
});
