/**
 * Outages of the services Vigil depends on (PostgreSQL, NATS): telling a failure that means "the
 * service is away, try again shortly" from one that means "this request or this code is wrong",
 * and logging an outage once rather than once per failed request or loop iteration.
 */

/**
 * SQLSTATEs of a lost or refused session: class 08 (connection exception), 57P01 admin shutdown
 * (a restart), 57P02 crash shutdown, 57P03 cannot connect now (starting up, shutting down,
 * recovering), 53300 too many connections, 25006 read-only transaction (a failover in progress).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300|25006)$/;

/** System errors of a socket whose peer is gone, refused, unreachable or not resolvable right now. */
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * What node-postgres says (without a code) when a connection dies or cannot be had in time:
 * "Connection terminated unexpectedly", "Connection terminated due to connection timeout",
 * "timeout exceeded when trying to connect" (the pool's connectionTimeoutMillis), and
 * "Client has encountered a connection error and is not queryable".
 */
const UNAVAILABLE_PG_MESSAGE = /^Connection terminated\b|^timeout exceeded when trying to connect$|is not queryable$/;

/** NATS client errors of a connection that is down, reconnecting or did not answer in time. */
const UNAVAILABLE_NATS_NAME = new Set(['ConnectionError', 'ClosedConnectionError', 'TimeoutError', 'NoRespondersError']);

/**
 * True when `error` (or an error it wraps, through `cause` or an AggregateError's `errors`) says a
 * service is unreachable or restarting, so the same work can succeed once it is back. Such errors
 * become `503` + `Retry-After` at the HTTP edge, and quick, quiet retries in background loops.
 */
export function isUnavailableError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): boolean => {
    if (!(value instanceof Error) || seen.has(value) || depth > 8) return false;
    seen.add(value);
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
    if (UNAVAILABLE_PG_MESSAGE.test(value.message)) return true;
    if (UNAVAILABLE_NATS_NAME.has(value.name)) return true;
    if (value instanceof AggregateError && value.errors.some((e) => visit(e, depth + 1))) return true;
    return visit(value.cause, depth + 1);
  };
  return visit(error, 0);
}

/** The slice of a pino logger an outage log writes to. */
export interface OutageLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

/**
 * Logs one line when a service becomes unreachable and one when it is back, however many
 * operations fail in between: hundreds of refused requests per second must not become hundreds of
 * log lines. Report every failure (`failed`, which ignores errors that are not outages) and every
 * sign of life (`reachable`, cheap when nothing was wrong).
 */
export class OutageLog {
  private since: number | undefined;

  constructor(
    private readonly logger: OutageLogger | undefined,
    /** What is away, for the log lines: "database", "NATS". */
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an outage is going on (a failure was reported and no sign of life since). */
  get down(): boolean {
    return this.since !== undefined;
  }

  /** Reports a failure; returns true when it is an outage (the caller then need not log it). */
  failed(error: unknown): boolean {
    if (!isUnavailableError(error)) return false;
    this.began(error);
    return true;
  }

  /** Marks the service away whatever the error (a connection's own "disconnected" signal, say). */
  began(error?: unknown): void {
    if (this.since !== undefined) return;
    this.since = this.now();
    this.logger?.warn(
      error === undefined ? {} : { err: error },
      `${this.what} unavailable: requests that need it are answered 503 with Retry-After and background work retries until it is back`,
    );
  }

  reachable(): void {
    if (this.since === undefined) return;
    const downMs = this.now() - this.since;
    this.since = undefined;
    this.logger?.info({ downMs }, `${this.what} reachable again after ${(downMs / 1000).toFixed(1)} s`);
  }
}
