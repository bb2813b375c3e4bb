import { describe, expect, it } from 'vitest';
import { MAX_QUANTITY } from '../../contracts/shipments.js';
import { csvRows, formatOf, ndjsonRows, sniffFormat, validateRows } from './rows.js';

const ok = { external_id: 'a1', created_at: '2026-05-01T12:00:00Z' };

describe('shipment rows', () => {
  it('picks the format from the content type, and sniffs it where the type names none', () => {
    expect(formatOf('application/json; charset=utf-8')).toBe('json');
    expect(formatOf('application/x-ndjson')).toBe('ndjson');
    expect(formatOf('text/csv; charset=utf-8')).toBe('csv');
    for (const undeclared of [undefined, '', 'application/x-www-form-urlencoded', 'application/octet-stream', 'Text/Plain; charset=utf-8']) expect(formatOf(undeclared), String(undeclared)).toBe('sniff');
    expect(formatOf('application/xml')).toBeUndefined();
    expect(formatOf('multipart/form-data; boundary=x')).toBeUndefined();
  });

  it('sniffs a body by its first character after a byte-order mark and blanks', () => {
    expect(sniffFormat(' \n[{"external_id":"a"}]')).toBe('json');
    expect(sniffFormat('\uFEFF{"external_id":"a"}\n{"external_id":"b"}')).toBe('ndjson');
    expect(sniffFormat('\uFEFFexternal_id,created_at\na,2026-05-01T12:00:00Z')).toBe('csv');
    expect(sniffFormat('')).toBe('csv');
  });

  it('reports a bad NDJSON line by its number and keeps the others', () => {
    const { rows, errors } = ndjsonRows(`${JSON.stringify(ok)}\n\n{nope\n${JSON.stringify({ ...ok, external_id: 'a2' })}\n`);
    expect(rows.map((r) => r.line)).toEqual([1, 4]);
    expect(errors).toEqual([{ line: 3, field: '', message: expect.stringContaining('not JSON') }]);
  });

  it('nests CSV columns, converts numbers and reports a malformed record by its line', () => {
    const csv = [
      'external_id,created_at,declared_value,currency,dimensions_cm.length,dimensions_cm.width,dimensions_cm.height,attributes.shop,pieces',
      'c1,2026-05-01T12:00:00Z,12.5,EUR,10,20,30,north,2',
      'c2,2026-05-01T12:00:00Z,1,EUR,1,1,1,x,1,extra',
      '"c3",2026-05-01T12:00:00Z,abc,EUR,,,,,',
    ].join('\n');
    const { rows, errors } = csvRows(csv);
    expect(rows).toEqual([
      { line: 2, value: { external_id: 'c1', created_at: '2026-05-01T12:00:00Z', declared_value: 12.5, currency: 'EUR', dimensions_cm: { length: 10, width: 20, height: 30 }, attributes: { shop: 'north' }, pieces: 2 } },
      { line: 4, value: { external_id: 'c3', created_at: '2026-05-01T12:00:00Z', declared_value: 'abc', currency: 'EUR' } },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 3, field: '' });
    const checked = validateRows(rows);
    expect(checked.valid.map((v) => v.line)).toEqual([2]);
    expect(checked.errors).toEqual([{ line: 4, field: 'declared_value', message: expect.any(String) }]);
  });

  it('names the field of each bad row: countries from the real list, zones on times, no declared_value_usd', () => {
    const { valid, errors } = validateRows([
      { line: 1, value: { ...ok, destination_country: 'NG' } },
      { line: 2, value: { ...ok, destination_country: 'XX' } },
      { line: 3, value: { ...ok, created_at: '2026-05-01T12:00:00' } },
      { line: 4, value: { ...ok, declared_value_usd: 5 } },
      { line: 5, value: { ...ok, external_id: 'x'.repeat(201) } },
      { line: 6, value: { ...ok, dimensions_cm: { length: 1, width: -1, height: 1 } } },
      { line: 7, value: { ...ok, attributes: { big: 'y'.repeat(5000) } } },
      { line: 8, value: [1] },
    ]);
    expect(valid.map((v) => v.line)).toEqual([1]);
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'destination_country'],
      [3, 'created_at'],
      [4, 'declared_value_usd'],
      [5, 'external_id'],
      [6, 'dimensions_cm.width'],
      [7, 'attributes'],
      [8, ''],
    ]);
  });

  it('refuses a quantity above MAX_QUANTITY naming its field, and keeps one at the bound', () => {
    const { valid, errors } = validateRows([
      { line: 1, value: { ...ok, declared_value: MAX_QUANTITY, currency: 'USD' } },
      { line: 2, value: { ...ok, declared_value: 1e300, currency: 'USD' } },
      { line: 3, value: { ...ok, weight_kg: Number.MAX_VALUE } },
      { line: 4, value: { ...ok, dimensions_cm: { length: 1, width: MAX_QUANTITY * 2, height: 1 } } },
    ]);
    expect(valid.map((v) => v.line)).toEqual([1]);
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'declared_value'],
      [3, 'weight_kg'],
      [4, 'dimensions_cm.width'],
    ]);
    expect(errors[0]!.message).toBe('must be at most 1,000,000,000,000,000');
  });
});
