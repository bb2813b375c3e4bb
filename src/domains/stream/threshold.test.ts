import { describe, expect, it } from 'vitest';
import { ThresholdAlert } from './threshold.js';

describe('ThresholdAlert', () => {
  it('fires only strictly above the threshold and recovers at or below it', () => {
    const alert = new ThresholdAlert(10, 120);
    expect(alert.evaluate(1, 1200)).toBeNull(); // exactly 10/s is not above
    expect(alert.evaluate(2, 1201)).toEqual({ type: 'alert', time: 2, hits: 1201, average: 1201 / 120, threshold: 10 });
    expect(alert.evaluate(3, 5000)).toBeNull(); // no second alert while active
    expect(alert.evaluate(4, 1201)).toBeNull();
    expect(alert.evaluate(5, 1200)).toEqual({ type: 'recover', time: 5, hits: 1200, average: 10, threshold: 10 });
    expect(alert.evaluate(6, 0)).toBeNull(); // no second recovery
    expect(alert.evaluate(7, 1300)?.type).toBe('alert');
  });

  it('with threshold 0 any traffic alerts and silence recovers', () => {
    const alert = new ThresholdAlert(0, 120);
    expect(alert.evaluate(1, 1)?.type).toBe('alert');
    expect(alert.evaluate(2, 0)?.type).toBe('recover');
  });

  it('keeps its state across a snapshot', () => {
    const alert = new ThresholdAlert(1, 10);
    alert.evaluate(100, 11);
    const copy = new ThresholdAlert(1, 10, JSON.parse(JSON.stringify(alert.snapshot())) as ReturnType<ThresholdAlert['snapshot']>);
    expect(copy.isActive).toBe(true);
    expect(copy.evaluate(101, 11)).toBeNull();
    expect(copy.evaluate(102, 10)?.type).toBe('recover');
  });
});
