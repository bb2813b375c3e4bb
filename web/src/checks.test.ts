import { describe, expect, it } from 'vitest';
import type { CheckView } from './api';
import { deletedId, isCheckView, shownStatus, sortChecks, upsertCheck } from './checks';

function checkOf(fields: Partial<CheckView>): CheckView {
  return { id: 'c', name: 'job', tags: [], status: 'up', next_expected_at: null, created_at: '2026-01-01T00:00:00.000Z', ...fields } as CheckView;
}

describe('the checks list', () => {
  it('sorts by name, then by age', () => {
    const list = [checkOf({ id: '1', name: 'b' }), checkOf({ id: '2', name: 'a', created_at: '2026-02-01T00:00:00.000Z' }), checkOf({ id: '3', name: 'a' })];
    expect(sortChecks(list).map((c) => c.id)).toEqual(['3', '2', '1']);
  });

  it('inserts or replaces a check by id, keeping the order; a list not loaded stays unloaded', () => {
    const list = [checkOf({ id: '1', name: 'a' }), checkOf({ id: '2', name: 'c' })];
    expect(upsertCheck(list, checkOf({ id: '3', name: 'b' }))?.map((c) => c.id)).toEqual(['1', '3', '2']);
    expect(upsertCheck(list, checkOf({ id: '1', name: 'd' }))?.map((c) => c.id)).toEqual(['2', '1']);
    expect(upsertCheck(undefined, checkOf({}))).toBeUndefined();
  });

  it('accepts live event data as a check only when it looks like one', () => {
    expect(isCheckView(checkOf({}))).toBe(true);
    expect(isCheckView({ id: 'c', status: 'up' })).toBe(false);
    expect(isCheckView(null)).toBe(false);
    expect(deletedId({ id: 'c' })).toBe('c');
    expect(deletedId({ id: 3 })).toBeUndefined();
    expect(deletedId(null)).toBeUndefined();
  });
});

describe('the status shown', () => {
  const now = Date.parse('2026-03-01T12:00:00.000Z');

  it('shows an up check late as soon as its expected ping is overdue, between two sweeps', () => {
    expect(shownStatus(checkOf({ next_expected_at: '2026-03-01T12:00:00.000Z' }), now)).toBe('late');
    expect(shownStatus(checkOf({ next_expected_at: '2026-03-01T12:00:01.000Z' }), now)).toBe('up');
    expect(shownStatus(checkOf({ status: 'down', next_expected_at: '2026-03-01T11:00:00.000Z' }), now)).toBe('down');
  });
});
