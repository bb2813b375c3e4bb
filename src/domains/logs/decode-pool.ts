/**
 * Where ingest request bodies are decoded: inline on the main thread, or on a pool of worker
 * threads (piscina) running decode-worker.ts, so that a second core parses JSON while the main
 * thread stores the previous batch.
 *
 * Invariants:
 * - Both paths run `runDecodeJob` on the same job and bytes: same events, same rejections, same
 *   errors (a DomainError thrown on a worker comes back as one with the same status, code, message
 *   and details). Only where the work is done differs.
 * - Small bodies stay inline (a hop costs more than it saves), and so does every body while the
 *   pool is not known to work: the pool is used only after a first task came back from it.
 * - A pool that cannot start (no built worker file: the app runs from TypeScript sources, as under
 *   vitest; or its threads fail to load) leaves decoding inline, with the reason logged once.
 * - `close()` ends the threads; idle threads never keep the process alive (piscina unrefs them).
 *
 * Measured (`npm run bench -- ingest`, 2 cores shared with PostgreSQL, 10 interleaved runs each):
 * 0 threads 45.7k events/s median, 1 thread 52.4k (faster in each of the 10 pairs, +3 to +34 %,
 * median +10 %), 2 threads 52.2k; the thread costs ~8 % more CPU per event and ~60 MB of RSS.
 * Returning LogEvents by structured clone instead of columns gave 50.2k: no gain. Again
 * after the processor changes of the same session (pairs): 73.5k with 1 thread against 65.4k.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import { accessLogMessageParser } from './decoders/access-log.js';
import { runDecodeJob, type DecodeJob, type DecodeOutcome } from './decoders/job.js';
import { unpackError, unpackOutcome } from './decoders/packed.js';
import type { DecodeReply, DecodeTask } from './decode-worker.js';

/**
 * Bodies from this size on go to a worker. A round trip to an idle worker costs the main thread
 * ~0.1 ms; decoding costs ~10 µs per KB of JSON (bench: 3.3 ms for 315 KB), so from a few KB on a
 * worker is cheaper, and agents batch far above this (Vector: up to 10 MB, Fluent Bit: 2 MB).
 */
export const OFFLOAD_MIN_BYTES = 16 * 1024;
/**
 * A compressed body counts this many times its size: JSON logs gzip 5–10×, so a 4 KB gzip body is
 * a 20–40 KB document, and its decompression moves off the main thread too.
 */
const COMPRESSED_WEIGHT = 5;

export interface LogDecoder {
  /** Decodes one request's body per `job` (throws what runDecodeJob throws). */
  decode(job: DecodeJob, raw: Buffer): Promise<DecodeOutcome>;
  /** Threads decoding now: 0 while (or because) decoding is inline. */
  readonly threads: number;
  /** Resolves once the pool is known to work or decoding is known to stay inline (tests, start-up logs). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface LogDecoderOptions {
  /** VIGIL_DECODE_THREADS: worker threads; 0 decodes inline. */
  threads: number;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Bodies (weighted by COMPRESSED_WEIGHT when encoded) smaller than this stay inline. */
  minBytes?: number;
  /** The worker's module; default decode-worker.js beside this file (present in the build, dist/). */
  workerFile?: string;
  /** Node flags of the threads (tests: `--import tsx` to run the worker from its TypeScript source). */
  execArgv?: string[];
}

/** The built worker beside this module, or why there is none. */
export function builtWorkerFile(): string | { reason: string } {
  const file = fileURLToPath(new URL('./decode-worker.js', import.meta.url));
  if (existsSync(file)) return file;
  return { reason: `${file} does not exist: the server runs from its TypeScript sources (as under vitest), which worker threads cannot load; the built server (dist/) has it` };
}

export function openLogDecoder(options: LogDecoderOptions): LogDecoder {
  const parseMessage = accessLogMessageParser();
  const inline = (job: DecodeJob, raw: Buffer): Promise<DecodeOutcome> => runDecodeJob(job, raw, parseMessage);
  const minBytes = options.minBytes ?? OFFLOAD_MIN_BYTES;
  const file = options.workerFile ?? builtWorkerFile();

  if (options.threads <= 0 || typeof file !== 'string') {
    if (options.threads > 0 && typeof file !== 'string') {
      options.logger.info(`VIGIL_DECODE_THREADS=${options.threads}, but log bodies are decoded inline: ${file.reason}`);
    }
    return { decode: inline, threads: 0, ready: Promise.resolve(), close: async () => undefined };
  }

  const pool = new Piscina<DecodeTask, DecodeReply>({
    filename: file,
    ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    minThreads: options.threads,
    maxThreads: options.threads,
    // Threads live as long as the server: starting one costs more than many decodes. (Infinity is
    // piscina's "never"; a large finite value would overflow setTimeout into 1 ms.)
    idleTimeout: Infinity,
    // Ingest already bounds requests in flight (MAX_CONCURRENT_INGESTS): no queue limit needed here.
    concurrentTasksPerWorker: 1,
    // Per-task timing histograms nobody reads.
    recordTiming: false,
    // Idle threads wait for the next message as any worker does, not in Atomics.wait: waking one
    // with Atomics.notify cost the main thread ~0.7 ms a task on this VM (the largest share of
    // piscina's postTask in the ingest profile). Issue 11 bench, few shape, 4 alternated pairs:
    // +0 to +4 % events/s, never slower.
    atomics: 'disabled',
  });
  let usable = false;
  let closed = false;
  let ended: Promise<void> | undefined;
  const end = (): Promise<void> => (ended ??= pool.destroy().catch(() => undefined));

  const run = async (job: DecodeJob, raw: Uint8Array): Promise<DecodeOutcome> => {
    // A copy of the body's bytes alone, transferred: `raw` may be a slice of a pooled buffer that
    // must not be detached, and copying 1 MB costs ~0.1 ms.
    const body = new Uint8Array(raw);
    const reply = await pool.run({ job, body }, { transferList: [body.buffer] });
    if (!reply.ok) throw unpackError(reply.error);
    return unpackOutcome(reply.outcome);
  };

  // A first, empty task proves the threads load the decoders before any request relies on them.
  const ready = run({ protocol: 'native', defaults: {} }, Buffer.from('[]')).then(
    () => {
      usable = !closed;
      if (usable) options.logger.info({ threads: options.threads }, 'log bodies are decoded on worker threads');
    },
    (error: unknown) => {
      options.logger.warn({ err: error }, `VIGIL_DECODE_THREADS=${options.threads}, but the decode worker threads failed to start: log bodies are decoded inline`);
      void end();
    },
  );

  return {
    get threads() {
      return usable ? options.threads : 0;
    },
    ready,
    decode(job, raw) {
      const weight = job.contentEncoding !== undefined && job.contentEncoding.trim() !== '' && job.contentEncoding.trim() !== 'identity' ? raw.byteLength * COMPRESSED_WEIGHT : raw.byteLength;
      return usable && weight >= minBytes ? run(job, raw) : inline(job, raw);
    },
    async close() {
      if (closed) return;
      closed = true;
      usable = false;
      await ready;
      await end();
    },
  };
}
