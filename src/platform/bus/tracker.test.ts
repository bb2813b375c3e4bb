import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBatch, type BusCheckpoint } from './tracker.js';
import type { BusMessage } from './types.js';

const msg = (seq: number, epoch = 'e1'): BusMessage => ({
  topic: 't',
  seq,
  epoch,
  id: `${epoch}/${seq}`,
  data: new Uint8Array([seq & 0xff]),
  publishedAt: new Date(0),
  deliveries: 1,
});

describe('planBatch', () => {
  it('takes everything on a first start and folds a contiguous run into the floor', () => {
    const plan = planBatch(null, [msg(1), msg(2), msg(3)], { epoch: 'e1', ackFloor: 0 });
    expect(plan.fresh.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(plan.next).toEqual({ epoch: 'e1', floor: 3, done: [] });
  });

  it('skips redeliveries at or below the floor and ones recorded above it', () => {
    const checkpoint: BusCheckpoint = { epoch: 'e1', floor: 10, done: [14, 15] };
    const plan = planBatch(checkpoint, [msg(9), msg(12), msg(14), msg(16)], { epoch: 'e1', ackFloor: 0 });
    expect(plan.fresh.map((m) => m.seq)).toEqual([12, 16]);
    expect(plan.duplicates).toBe(2);
    expect(plan.next).toEqual({ epoch: 'e1', floor: 10, done: [12, 14, 15, 16] });
  });

  it('processes an old message that arrives after newer ones (redelivery after a crash)', () => {
    // 1..3 were delivered to a crashed instance; the new one sees 4..6 first, then 1..3 again.
    const first = planBatch(null, [msg(4), msg(5), msg(6)], { epoch: 'e1', ackFloor: 0 });
    expect(first.fresh).toHaveLength(3);
    const second = planBatch(first.next, [msg(1), msg(2), msg(3)], { epoch: 'e1', ackFloor: 0 });
    expect(second.fresh.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(second.next).toEqual({ epoch: 'e1', floor: 6, done: [] });
  });

  it('lifts the floor to the bus ack floor and forgets what lies below', () => {
    const plan = planBatch({ epoch: 'e1', floor: 0, done: [3, 7, 20] }, [msg(25)], { epoch: 'e1', ackFloor: 10 });
    expect(plan.next).toEqual({ epoch: 'e1', floor: 10, done: [20, 25] });
  });

  it('starts over when the epoch changed', () => {
    const plan = planBatch({ epoch: 'old', floor: 500, done: [] }, [msg(1, 'new')], { epoch: 'new', ackFloor: 0 });
    expect(plan.fresh).toHaveLength(1);
    expect(plan.next).toEqual({ epoch: 'new', floor: 1, done: [] });
  });

  it('counts a seq repeated inside one batch once', () => {
    const plan = planBatch(null, [msg(1), msg(1)], { epoch: 'e1', ackFloor: 0 });
    expect(plan.fresh).toHaveLength(1);
    expect(plan.duplicates).toBe(1);
  });

  it('never applies a seq twice nor drops one, whatever the redelivery order (property)', () => {
    // Deliveries: a shuffled sequence with repeats; ack floor reported lags behind the true one.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 8 }),
        (deliveries, batchSize) => {
          let checkpoint: BusCheckpoint | null = null;
          const applied: number[] = [];
          const acked = new Set<number>();
          for (let i = 0; i < deliveries.length; i += batchSize) {
            const batch = deliveries.slice(i, i + batchSize).map((s) => msg(s));
            let ackFloor = 0;
            while (acked.has(ackFloor + 1)) ackFloor += 1;
            const plan = planBatch(checkpoint, batch, { epoch: 'e1', ackFloor });
            applied.push(...plan.fresh.map((m) => m.seq));
            checkpoint = plan.next;
            for (const m of batch) acked.add(m.seq);
          }
          expect([...applied].sort((a, b) => a - b)).toEqual([...new Set(deliveries)].sort((a, b) => a - b));
        },
      ),
    );
  });
});
