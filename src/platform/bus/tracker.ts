import type { BatchContext, BusMessage } from './types.js';

/**
 * Exactly-once effects over an at-least-once bus.
 *
 * The bus redelivers a message when its acknowledgement did not reach the server (crash between
 * commit and ack, ack timeout), and a redelivery can arrive after newer messages. So "highest seq
 * processed" is not a safe checkpoint: it would skip an older message that was never processed.
 * The checkpoint is instead what JetStream itself keeps for a consumer: a floor (every seq at or
 * below it is done or will never be delivered) plus the set of seqs above the floor already done.
 * The set stays small because the bus's ack floor (`BatchContext.ackFloor`) lifts the floor as
 * acknowledgements land; it is bounded by the consumer's unacknowledged messages.
 *
 * Usage in a processor (state, results and checkpoint in ONE transaction):
 *
 *   let checkpoint = await loadCheckpoint();              // null on first start
 *   bus.subscribe(topic, name, async (messages, ctx) => {
 *     const plan = planBatch(checkpoint, messages, ctx);  // pure; does not change `checkpoint`
 *     await db.transaction().execute(async (trx) => {
 *       await apply(trx, plan.fresh);
 *       await saveCheckpoint(trx, plan.next);
 *     });
 *     checkpoint = plan.next;                             // only after the commit succeeded
 *   });
 *
 * If the transaction fails, `checkpoint` still describes the database and the bus retries the batch.
 */
export interface BusCheckpoint {
  /** The sequence space the positions belong to (`BusMessage.epoch`). */
  epoch: string;
  /** Every seq <= floor is processed or will never be delivered to this consumer. */
  floor: number;
  /** Seqs above the floor already processed, ascending. */
  done: number[];
}

export interface BatchPlan {
  /** Messages not processed before, in delivery order, each seq once. */
  fresh: BusMessage[];
  /** Number of messages skipped as already processed (redeliveries, repeats within the batch). */
  duplicates: number;
  /** The checkpoint to store together with the effects of `fresh`. */
  next: BusCheckpoint;
}

/** Decides which messages of a batch to apply and the checkpoint that records them. Pure. */
export function planBatch(
  checkpoint: BusCheckpoint | null | undefined,
  messages: readonly BusMessage[],
  context: Pick<BatchContext, 'epoch' | 'ackFloor'>,
): BatchPlan {
  // Positions from another epoch (recreated stream, restarted memory bus) say nothing about this one.
  const sameEpoch = checkpoint?.epoch === context.epoch;
  let floor = Math.max(sameEpoch ? checkpoint.floor : 0, context.ackFloor);
  const done = new Set<number>();
  if (sameEpoch) for (const seq of checkpoint.done) if (seq > floor) done.add(seq);

  const fresh: BusMessage[] = [];
  let duplicates = 0;
  for (const message of messages) {
    if (message.epoch !== context.epoch) {
      throw new Error(`Bus message ${message.id} is from epoch ${message.epoch}, its batch from ${context.epoch}.`);
    }
    if (message.seq <= floor || done.has(message.seq)) {
      duplicates += 1;
      continue;
    }
    done.add(message.seq);
    fresh.push(message);
  }
  // A contiguous run just above the floor is complete: fold it in (the memory bus numbers each
  // topic contiguously; for JetStream the ack floor does this work across other topics' seqs).
  while (done.delete(floor + 1)) floor += 1;
  return { fresh, duplicates, next: { epoch: context.epoch, floor, done: [...done].sort((a, b) => a - b) } };
}
