import { DomainError, type ErrorCode } from '../errors.js';

/**
 * Base of the bus's typed errors. They are AppErrors so a route that lets one through still answers
 * with the error envelope, a sensible status and, for temporary conditions, `Retry-After`.
 */
export class BusError extends DomainError {
  constructor(
    code: ErrorCode,
    message: string,
    /** When set, the condition is temporary: a client may retry after this many seconds. */
    retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, {
      ...(retryAfterSeconds === undefined ? {} : { details: { retryAfterSeconds }, retryAfterSeconds }),
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = new.target.name;
  }
}

/** The bus is at capacity (memory queue full, JetStream stream limit or too many unacknowledged publishes). */
export class BusFullError extends BusError {
  constructor(message: string, retryAfterSeconds = 1, options?: { cause?: unknown }) {
    super('overloaded', message, retryAfterSeconds, options);
  }
}

/** The bus cannot be reached or did not answer in time (NATS down, reconnecting, publish timeout). */
export class BusUnavailableError extends BusError {
  constructor(message: string, retryAfterSeconds = 2, options?: { cause?: unknown }) {
    super('bus_unavailable', message, retryAfterSeconds, options);
  }
}

/** The bus is shutting down; the messages were not accepted. */
export class BusClosedError extends BusError {
  constructor(message = 'The event bus is shutting down; retry against another instance or later.') {
    super('shutting_down', message, 5);
  }
}

/** One message is larger than the bus can carry; the publisher must split it. */
export class BusMessageTooLargeError extends BusError {
  constructor(
    public readonly bytes: number,
    public readonly maxBytes: number,
  ) {
    super('payload_too_large', `A bus message of ${bytes} bytes exceeds the limit of ${maxBytes} bytes.`);
  }
}

/**
 * Memory bus only: a consumer's handler kept failing for these messages, so they were not processed
 * by every consumer. Nothing was acknowledged to the publisher; it may retry.
 */
export class BusDeliveryError extends BusError {
  constructor(consumer: string, cause: unknown) {
    super('processing_failed', `Consumer "${consumer}" could not process the messages; retry later.`, 2, { cause });
  }
}
