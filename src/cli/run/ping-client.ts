import pRetry, { AbortError } from 'p-retry';
import { describeError } from '../../platform/fetch-error.js';

export interface PingOptions {
  /** Per-request time limit. */
  timeoutMs: number;
  /** Retries of a transient failure (network error, timeout, 5xx, 429) after the first try. */
  retries: number;
  /** Time budget for all tries of one ping together. */
  maxRetryTimeMs: number;
  /** Delay before the first retry; doubled (and jittered) after each. */
  minBackoffMs: number;
  /** Aborts an ongoing ping (e.g. when the user interrupts `vigil run` while it reports). */
  signal?: AbortSignal;
  userAgent?: string;
}

export interface PingResult {
  status: number;
  /** The server's `Ping-Body-Limit` header in bytes, when it sent a valid one. */
  bodyLimit: number | undefined;
}

/** A ping that did not get a 2xx answer; `transient` ones were retried until the budget ran out. */
export class PingError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PingError';
  }
}

export const DEFAULT_PING_OPTIONS: PingOptions = { timeoutMs: 10_000, retries: 4, maxRetryTimeMs: 20_000, minBackoffMs: 500 };

/**
 * Sends one ping, retrying transient failures with exponential backoff (p-retry) and never
 * retrying a 4xx other than 429: a wrong UUID or a bad exit status will not get better.
 */
export async function sendPing(url: URL, body: Uint8Array | undefined, options: PingOptions): Promise<PingResult> {
  const attempt = async (): Promise<PingResult> => {
    if (options.signal?.aborted) throw new AbortError(new PingError('interrupted', false));
    // A plain timer rather than AbortSignal.timeout(): combined through AbortSignal.any() the
    // latter can be collected before it fires on Node 20, and the request then hangs for ever.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), options.timeoutMs);
    const onAbort = () => timeout.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await request(url, body, options, timeout.signal);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  };
  try {
    return await pRetry(attempt, {
      retries: options.retries,
      minTimeout: options.minBackoffMs,
      factor: 2,
      randomize: true,
      maxRetryTime: options.maxRetryTimeMs,
      signal: options.signal,
      // AbortError already stops p-retry; this also covers anything unexpected that is not ours.
      shouldRetry: ({ error }) => error instanceof PingError && error.transient,
    });
  } catch (error) {
    if (error instanceof PingError) throw error;
    throw new PingError(error instanceof Error ? error.message : String(error), false);
  }
}

async function request(url: URL, body: Uint8Array | undefined, options: PingOptions, signal: AbortSignal): Promise<PingResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': options.userAgent ?? 'vigil-run' },
      signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw new AbortError(new PingError('interrupted', false));
    throw new PingError(signal.aborted ? `no answer within ${options.timeoutMs / 1000} s` : describeError(error), true);
  }
  // Read the (short, plain-text) answer in full, which also frees the connection for reuse.
  const text = (await response.text().catch(() => '')).trim().slice(0, 200);
  if (response.ok) return { status: response.status, bodyLimit: parseBodyLimit(response.headers.get('ping-body-limit')) };
  const failure = new PingError(`HTTP ${response.status}${text ? ` ${text}` : ''}`, isTransientStatus(response.status), response.status);
  throw failure.transient ? failure : new AbortError(failure);
}

export const isTransientStatus = (status: number): boolean => status >= 500 || status === 429 || status === 408;

export function parseBodyLimit(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

