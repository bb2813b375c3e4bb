import { describe, expect, it } from 'vitest';
import { criterionInput } from '../../contracts/fraud.js';
import { changesBetween } from './audit.js';
import { patched, precisionOf, statusOf } from './criteria-view.js';

describe('statusOf', () => {
  it('paused wins over the switches; then disabled, shadow, active', () => {
    expect(statusOf({ enabled: true, shadow: false, paused_reason: 'division by zero' })).toBe('paused');
    expect(statusOf({ enabled: false, shadow: true, paused_reason: null })).toBe('disabled');
    expect(statusOf({ enabled: true, shadow: true, paused_reason: null })).toBe('shadow');
    expect(statusOf({ enabled: true, shadow: false, paused_reason: null })).toBe('active');
  });
});

describe('precisionOf', () => {
  it('is fraud over every review, null before any', () => {
    expect(precisionOf({ fraud: 0, false_positive: 0, benign: 0 })).toBeNull();
    expect(precisionOf({ fraud: 1, false_positive: 2, benign: 1 })).toBe(0.25);
    expect(precisionOf({ fraud: 3, false_positive: 0, benign: 0 })).toBe(1);
  });
});

describe('patched and changesBetween', () => {
  const current = criterionInput.parse({ name: 'a', expression: 'true', enabled: false, channels: ['0b8c6a55-6f0e-4d7a-9d1e-2f7c1f3f9a10'] });

  it('keeps what a patch does not send; an unchanged value is no change', () => {
    const next = patched(current, { name: 'b', enabled: false, shadow: undefined });
    expect(next).toEqual({ ...current, name: 'b' });
    expect(changesBetween({ ...current }, { ...next })).toEqual({ name: { from: 'a', to: 'b' } });
    expect(changesBetween({ ...current }, { ...patched(current, { channels: ['0b8c6a55-6f0e-4d7a-9d1e-2f7c1f3f9a10'] }) })).toEqual({});
  });

  it('compares arrays by value and lists every field of a creation', () => {
    expect(changesBetween({ group_by: ['sender_id'] }, { group_by: ['sender_id', 'ip_country'] })).toEqual({ group_by: { from: ['sender_id'], to: ['sender_id', 'ip_country'] } });
    expect(Object.keys(changesBetween(null, { ...current }))).toEqual(Object.keys(current));
  });
});
