import pRetry from 'p-retry';
import { isUnavailableError } from '../outage.js';
import type { ResolvedSubscribeOptions } from './names.js';
import type { BatchContext, BatchHandler, BusLogger, BusMessage } from './types.js';

/**
 * Carries any handler failure through p-retry, which otherwise gives up at once on a TypeError
 * (a bug in a handler is still worth retrying when the alternative is skipping data).
 */
class HandlerFailure extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
  }
}

/**
 * Calls `handler` for one batch until it resolves: at most `maxAttempts` times, or without limit
 * when `unlimited`, with doubling delays. Rejects with the handler's last error, or with the
 * signal's reason once `signal` aborts (the bus is closing and gave up waiting).
 */
export async function runHandler(
  handler: BatchHandler,
  messages: BusMessage[],
  context: Omit<BatchContext, 'attempt'>,
  options: ResolvedSubscribeOptions,
  control: { unlimited: boolean; signal: AbortSignal; logger: BusLogger },
): Promise<void> {
  try {
    await pRetry(
      async (attempt) => {
        try {
          await handler(messages, { ...context, attempt });
        } catch (error) {
          throw new HandlerFailure(error);
        }
      },
      {
        retries: control.unlimited ? Number.POSITIVE_INFINITY : options.maxAttempts - 1,
        minTimeout: options.retryDelayMs,
        maxTimeout: options.maxRetryDelayMs,
        factor: 2,
        signal: control.signal,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          const err = error instanceof HandlerFailure ? error.original : error;
          // An outage (database restarting) fails every batch alike; whoever owns the connection
          // logs it once, so a line per attempt would only repeat it.
          const log = isUnavailableError(err) ? control.logger.debug.bind(control.logger) : control.logger.warn.bind(control.logger);
          log(
            { err, topic: context.topic, consumer: context.consumer, attempt: attemptNumber, retriesLeft, firstSeq: messages[0]?.seq, count: messages.length },
            'bus handler failed',
          );
        },
      },
    );
  } catch (error) {
    throw error instanceof HandlerFailure ? error.original : error;
  }
}
