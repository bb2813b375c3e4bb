/**
 * The bench's closed-loop HTTP client: `connections` clients, each posting one batch at a time until
 * the time is up (as Vector's http sink does with request concurrency), then waiting for the answers
 * in flight so that every acknowledged event is counted. 429/503 are honoured with the server's
 * Retry-After. The same client loads Vigil and InfluxDB; only the request and the reading of the
 * answer differ (`LoadTarget`).
 */
import { Pool } from 'undici';

export interface LoadResult {
  seconds: number;
  requests: number;
  accepted: number;
  rejected: number;
  /** 429/503 answers: the server asking the client to come back later. */
  overloaded: number;
  /** Other non-2xx answers and transport errors, with the first one seen. */
  failed: number;
  firstFailure?: string;
  latenciesMs: number[];
}

/** How a successful answer counts: events acknowledged as stored, and events refused one by one. */
export interface Acknowledged {
  accepted: number;
  rejected: number;
}

export interface LoadTarget {
  path: string;
  headers: Record<string, string>;
  /** The next request body: called once per request, in order, so the caller owns the sequence. */
  nextBody(): string;
  /** The events a success answer acknowledges, or undefined when the status is not a success. */
  acknowledged(statusCode: number, body: string): Acknowledged | undefined;
}

export async function load(url: string, target: LoadTarget, connections: number, seconds: number, onProgress?: (r: LoadResult) => void): Promise<LoadResult> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const result: LoadResult = { seconds: 0, requests: 0, accepted: 0, rejected: 0, overloaded: 0, failed: 0, latenciesMs: [] };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const ticker = onProgress ? setInterval(() => onProgress(result), 1000) : undefined;

  async function client(): Promise<void> {
    while (performance.now() < deadline) {
      const body = target.nextBody();
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: target.path, method: 'POST', headers: target.headers, body });
        const text = await res.body.text();
        result.latenciesMs.push(performance.now() - t0);
        result.requests++;
        const ack = target.acknowledged(res.statusCode, text);
        if (ack) {
          result.accepted += ack.accepted;
          result.rejected += ack.rejected;
        } else if (res.statusCode === 429 || res.statusCode === 503) {
          result.overloaded++;
          const retryAfter = Number(res.headers['retry-after'] ?? 1);
          await new Promise((r) => setTimeout(r, (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000));
        } else {
          result.failed++;
          result.firstFailure ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
        }
      } catch (error) {
        result.failed++;
        result.firstFailure ??= error instanceof Error ? error.message : String(error);
        // A server that is gone refuses at once: do not spin.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: connections }, client));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  result.seconds = (performance.now() - started) / 1000;
  await pool.close();
  return result;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
