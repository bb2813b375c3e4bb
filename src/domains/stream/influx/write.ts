import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import pRetry, { AbortError } from 'p-retry';
import type { InfluxTarget } from './target.js';
import { describeError } from '../../../platform/fetch-error.js';

const gzipAsync = promisify(gzip);

export interface WriteOptions {
  /** Per-request time limit. */
  timeoutMs: number;
  /** Retries of a transient failure (network error, timeout, 5xx, 429) after the first try. */
  retries: number;
  /** Delay before the first retry; doubled (with jitter) after each, capped at maxBackoffMs. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Stops waiting and retrying (the sink is stopping). */
  signal?: AbortSignal;
}

/** A longer Retry-After than this is cut short: the next tick will try again anyway. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** A write InfluxDB did not accept; `transient` ones were retried until the retries ran out. */
export class InfluxWriteError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
    /** From a 429/503 answer's Retry-After header. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'InfluxWriteError';
  }
}

/**
 * Sends lines (≤ a few thousand: one request) gzip-compressed. Transient failures are retried
 * with exponential backoff, waiting at least as long as a 429/503 answer's Retry-After asks; a
 * 4xx other than 408/429 (bad credentials, missing database, rejected points) stops at once.
 */
export async function writeLines(target: InfluxTarget, lines: readonly string[], options: WriteOptions): Promise<void> {
  const body = await gzipAsync(`${lines.join('\n')}\n`);
  await pRetry(() => post(target, body, options), {
    retries: options.retries,
    minTimeout: options.minBackoffMs,
    maxTimeout: options.maxBackoffMs,
    factor: 2,
    randomize: true,
    signal: options.signal,
    shouldRetry: ({ error }) => error instanceof InfluxWriteError && error.transient,
    // p-retry has no notion of Retry-After: wait for it here, before its own (short) backoff.
    onFailedAttempt: async ({ error, retriesLeft }) => {
      if (retriesLeft > 0 && error instanceof InfluxWriteError && error.retryAfterMs !== undefined) {
        await sleep(Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS), undefined, { signal: options.signal });
      }
    },
  });
}

async function post(target: InfluxTarget, body: Buffer, options: WriteOptions): Promise<void> {
  // A plain timer rather than AbortSignal.timeout(): combined through AbortSignal.any() the latter
  // can be collected before it fires on Node 20, and the request then hangs for ever.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), options.timeoutMs);
  const onAbort = () => timeout.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const where = target.writeUrl.href;
  let response: Response;
  try {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'content-encoding': 'gzip', 'user-agent': 'vigil' };
    if (target.authorization) headers.authorization = target.authorization;
    response = await fetch(target.writeUrl, { method: 'POST', headers, body, signal: timeout.signal });
  } catch (error) {
    if (options.signal?.aborted) throw new AbortError('the InfluxDB sink is stopping');
    const reason = timeout.signal.aborted ? `no answer within ${options.timeoutMs / 1000} s` : describeError(error);
    throw new InfluxWriteError(`InfluxDB at ${where} is unreachable: ${reason}`, true);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  // Read the (short) answer in full, which also frees the connection for reuse.
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  const status = response.status;
  const transient = status >= 500 || status === 429 || status === 408;
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
  const failure = new InfluxWriteError(
    `InfluxDB at ${where} answered HTTP ${status}${errorText(text)}.${transient ? '' : ` ${hintFor(status, target)}`}`,
    transient,
    status,
    retryAfterMs,
  );
  throw transient ? failure : new AbortError(failure);
}

/** What to change for an answer that retrying will not fix. */
function hintFor(status: number, target: InfluxTarget): string {
  const v2 = target.version === 2;
  switch (status) {
    case 401:
    case 403:
      return v2
        ? 'Check VIGIL_INFLUX_TOKEN: it needs write access to the bucket.'
        : 'Check the user:password in VIGIL_INFLUX_URL or VIGIL_INFLUX_TOKEN: the user needs WRITE on the database.';
    case 404:
      return v2
        ? 'Check VIGIL_INFLUX_ORG and VIGIL_INFLUX_BUCKET, and that the server is InfluxDB 2.x or later (1.x has no /api/v2/write: set VIGIL_INFLUX_DB instead).'
        : 'Check VIGIL_INFLUX_DB and create the database if needed (CREATE DATABASE "<name>").';
    case 413:
      return "The request was too large for the server's limit (max-body-size); raise it.";
    case 400:
      return 'The points were rejected (a "field type conflict" means the measurement already holds other types for these fields: use a fresh database or bucket). Vigil tries again at its next run.';
    default:
      return 'Vigil tries again at its next run.';
  }
}

/** InfluxDB's error text: `{"error": …}` (1.x) or `{"message": …}` (2.x), else the body itself. */
function errorText(body: string): string {
  let text = body.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const { error, message } = parsed as { error?: unknown; message?: unknown };
      if (typeof error === 'string') text = error;
      else if (typeof message === 'string') text = message;
    }
  } catch {
    // not JSON: keep the text
  }
  text = text.replace(/\s+/g, ' ').slice(0, 300);
  return text ? `: ${text}` : '';
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `now`; undefined when absent or invalid. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its day and month; Date.parse alone would take "-3" for a year.
  const date = /^[A-Za-z]{3},/.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

