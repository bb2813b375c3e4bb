/**
 * The decode worker thread's entry (loaded by piscina from decode-pool.ts): decodes one ingest
 * request body as `runDecodeJob` does inline and sends back the packed outcome, its typed arrays
 * transferred. Errors travel as values (packError), not as rejections: a structured-cloned Error
 * loses the status and code its HTTP answer is made of.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { accessLogMessageParser } from './decoders/access-log.js';
import { runDecodeJob, type DecodeJob } from './decoders/job.js';
import { packError, packOutcome, transferablesOf, type PackedError, type PackedOutcome } from './decoders/packed.js';

export interface DecodeTask {
  job: DecodeJob;
  /** The request body as received (Content-Encoding not yet undone); its buffer is transferred here. */
  body: Uint8Array;
}

export type DecodeReply = { ok: true; outcome: PackedOutcome } | { ok: false; error: PackedError };

// One per thread, as the route set keeps one for inline decoding (it caches the last time text).
const parseMessage = accessLogMessageParser();

export default async function decodeTask(task: DecodeTask): Promise<unknown> {
  let reply: DecodeReply;
  try {
    reply = { ok: true, outcome: packOutcome(await runDecodeJob(task.job, task.body, parseMessage)) };
  } catch (error) {
    return { ok: false, error: packError(error) } satisfies DecodeReply;
  }
  const buffers = transferablesOf(reply.outcome);
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return reply;
    },
  });
}
