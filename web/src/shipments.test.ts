import { describe, expect, it } from 'vitest';
import { detectFormat, intakeSummary } from './shipments';

describe('shipments upload', () => {
  it('takes the format from the extension, else from the first character', () => {
    expect(detectFormat('{"a":1}', 'x.csv')).toBe('csv');
    expect(detectFormat('[', 'x.jsonl')).toBe('ndjson');
    expect(detectFormat('  [{"external_id":"a"}]', 'x.json')).toBe('json');
    expect(detectFormat('{"external_id":"a"}\n{"external_id":"b"}', 'x.json')).toBe('ndjson');
    expect(detectFormat('{"external_id":"a"}')).toBe('ndjson');
    expect(detectFormat('external_id,created_at\nA,2026-05-01T00:00:00Z')).toBe('csv');
    expect(detectFormat('', 'x.json')).toBe('json');
  });

  it('says what the intake did in one line', () => {
    expect(intakeSummary({ stored: 12, duplicates: 1, rejected: 2, errors_omitted: 0 })).toBe('12 stored, 1 duplicate, 2 rejected');
    expect(intakeSummary({ stored: 0, duplicates: 0, rejected: 1500, errors_omitted: 500 })).toBe('0 stored, 0 duplicates, 1500 rejected (500 more refused rows not listed)');
  });
});
