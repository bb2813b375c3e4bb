import { describe, expect, it } from 'vitest';
import { EventClock, bucketOf, stepEndOf } from './clock.js';

describe('bucketOf / stepEndOf', () => {
  it('puts an event of time x in bucket ceil(x): bucket s holds (s-1, s]', () => {
    expect(bucketOf(100)).toBe(100);
    expect(bucketOf(99.001)).toBe(100);
    expect(bucketOf(100.5)).toBe(101);
  });

  it('gives the end of the step holding a second: (t-step, t] with t a multiple of step', () => {
    expect(stepEndOf(100, 10)).toBe(100);
    expect(stepEndOf(101, 10)).toBe(110);
    expect(stepEndOf(109, 10)).toBe(110);
    expect(stepEndOf(110, 10)).toBe(110);
  });
});

describe('EventClock', () => {
  it('has no watermark before the first event', () => {
    const clock = new EventClock(5, 300);
    expect(clock.watermark).toBe(-Infinity);
    expect(clock.classify(0)).toBe('on-time');
  });

  it('keeps the watermark at max event time minus the out-of-orderness, never going back', () => {
    const clock = new EventClock(5, 300);
    expect(clock.observe(1000)).toBe(true);
    expect(clock.watermark).toBe(995);
    expect(clock.lastFinal).toBe(994);
    expect(clock.observe(990)).toBe(false);
    expect(clock.watermark).toBe(995);
    expect(clock.observe(1003)).toBe(true);
    expect(clock.lastFinal).toBe(997);
  });

  it('is on time up to outOfOrder seconds behind the newest event, late within the lateness, then too late', () => {
    const clock = new EventClock(5, 300);
    clock.observe(1000);
    expect(clock.classify(995)).toBe('on-time');
    expect(clock.classify(994.5)).toBe('on-time'); // bucket 995
    expect(clock.classify(994)).toBe('late');
    expect(clock.classify(695)).toBe('late');
    expect(clock.classify(694)).toBe('too-late');
  });

  it('with no lateness, every event in a final bucket is too late', () => {
    const clock = new EventClock(0, 0);
    clock.observe(50);
    expect(clock.classify(50)).toBe('on-time');
    expect(clock.classify(49)).toBe('too-late');
  });

  it('restores from its snapshot', () => {
    const clock = new EventClock(5, 60);
    clock.observe(1234);
    const copy = EventClock.restore(JSON.parse(JSON.stringify(clock.snapshot())) as ReturnType<EventClock['snapshot']>);
    expect(copy.watermark).toBe(1229);
    expect(copy.classify(1000)).toBe('too-late');
  });
});
