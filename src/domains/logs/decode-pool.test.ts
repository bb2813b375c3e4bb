import { httpStatusOf } from '../../platform/http/errors.js';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../platform/errors.js';
import { openLogDecoder, type LogDecoder } from './decode-pool.js';
import type { DecodeJob, DecodeOutcome } from './decoders/job.js';
import { INGEST_PROTOCOLS, NOW, encodeBatch, fixture, poisonCases } from './decoders/test-support.js';

/**
 * The worker path against the inline one, with real threads: under vitest the worker runs from its
 * TypeScript source through tsx (the built server runs dist/decode-worker.js; the integration test
 * test/logs-decode-threads.test.ts covers that).
 */

const silent = { info: () => undefined, warn: () => undefined };
const WORKER_SOURCE = fileURLToPath(new URL('./decode-worker.ts', import.meta.url));

/** The outcome with its arrival time (taken when each decode ran) set to 0 wherever it appears. */
function timeless(outcome: DecodeOutcome): DecodeOutcome {
  const at = outcome.receivedAt;
  const events = outcome.result.events.map((e) => ({ ...e, receivedAt: 0, timestamp: e.timestamp === at ? 0 : e.timestamp }));
  return { ...outcome, receivedAt: 0, result: { ...outcome.result, events } };
}

type Answer = { outcome: DecodeOutcome } | { error: { name: string; status?: number; code?: string; message: string; details?: unknown } };

async function answerOf(decoder: LogDecoder, job: DecodeJob, body: Buffer): Promise<Answer> {
  try {
    return { outcome: timeless(await decoder.decode(job, body)) };
  } catch (error) {
    const e = error as DomainError;
    return { error: { name: e.name, ...(e instanceof DomainError ? { status: httpStatusOf(e), code: e.code, details: e.details } : {}), message: e.message } };
  }
}

describe('openLogDecoder', () => {
  let pooled: LogDecoder;
  const inline = openLogDecoder({ threads: 0, logger: silent });

  beforeAll(async () => {
    pooled = openLogDecoder({ threads: 1, logger: silent, minBytes: 0, workerFile: WORKER_SOURCE, execArgv: ['--import', 'tsx'] });
    await pooled.ready;
  });
  afterAll(async () => {
    await pooled.close();
  });

  it('runs on its thread once the first task came back', () => {
    expect(pooled.threads).toBe(1);
    expect(inline.threads).toBe(0);
  });

  const many = Array.from({ length: 10_001 }, (_, i) => `{"message":"m${i}"}`).join('\n');
  const cases: [string, DecodeJob, Buffer][] = [
    ['a JSON array (Vector)', { protocol: 'native', defaults: {} }, fixture('vector-http-array.json')],
    ['gzip JSON', { protocol: 'native', defaults: { service: 'q' }, contentEncoding: 'gzip' }, gzipSync(fixture('fluentbit-http-json.json'))],
    ['NDJSON', { protocol: 'native', defaults: {}, contentType: 'application/x-ndjson' }, fixture('fluentbit-http-json_lines.ndjson')],
    ['mixed NDJSON with bad lines', { protocol: 'native', defaults: {} }, fixture('curl-mixed.ndjson')],
    ['CLF', { protocol: 'clf', defaults: { host: 'h' } }, Buffer.from('10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /a/b HTTP/1.1" 200 12\nbad line\n')],
    ['CSV', { protocol: 'csv', defaults: {} }, Buffer.from('"remotehost","rfc931","authuser","date","request","status","bytes"\n"10.0.0.2","-","apache",1714564800,"GET /api/user HTTP/1.0",200,1234\n')],
    ['Datadog', { protocol: 'datadog', query: { ddtags: 'env:prod' } }, fixture('vector-datadog-logs.json')],
    ['Loki JSON', { protocol: 'loki', contentType: 'application/json' }, fixture('fluentbit-loki.json')],
    ['OTLP JSON', { protocol: 'otlp', contentType: 'application/json' }, fixture('otel-collector-logs.json')],
    ['invalid JSON', { protocol: 'native', defaults: {} }, Buffer.from('[{"message": oops}]')],
    ['an empty body', { protocol: 'native', defaults: {} }, Buffer.alloc(0)],
    ['corrupt gzip (400)', { protocol: 'native', defaults: {}, contentEncoding: 'gzip' }, Buffer.from('not gzip at all')],
    ['an unknown encoding (415)', { protocol: 'native', defaults: {}, contentEncoding: 'zstd' }, Buffer.from('[]')],
    ['too many events (413)', { protocol: 'native', defaults: {} }, Buffer.from(many)],
    ['a snappy body that is not (Loki)', { protocol: 'loki', contentType: 'application/x-protobuf' }, Buffer.from('xx')],
    ...INGEST_PROTOCOLS.map((protocol): [string, DecodeJob, Buffer] => {
      const batch = encodeBatch(protocol, poisonCases('pool').map((c) => c.record), NOW);
      const base = { contentType: batch.contentType };
      const job: DecodeJob =
        protocol === 'native' || protocol === 'ndjson'
          ? { ...base, protocol: 'native', defaults: {} }
          : protocol === 'datadog'
            ? { ...base, protocol: 'datadog', query: {} }
            : { ...base, protocol: protocol.startsWith('loki') ? 'loki' : 'otlp' };
      return [`the poison corpus as ${protocol}`, job, batch.body];
    }),
  ];

  it.each(cases)('answers %s as inline decoding does', async (_name, job, body) => {
    const [threaded, local] = [await answerOf(pooled, job, body), await answerOf(inline, job, body)];
    expect(threaded).toEqual(local);
    expect(JSON.stringify(threaded)).toBe(JSON.stringify(local));
  });

  it('leaves bodies under the threshold inline, and decodes inline when there is no built worker', async () => {
    const notes: string[] = [];
    const decoder = openLogDecoder({ threads: 2, logger: { info: (message: string) => void notes.push(message), warn: silent.warn } });
    await decoder.ready;
    // Under vitest this module is TypeScript: no decode-worker.js beside it.
    expect(decoder.threads).toBe(0);
    // Running from sources is normal in development (and under vitest): said at info level, not as a warning.
    expect(notes.join('\n')).toMatch(/VIGIL_DECODE_THREADS=2, but log bodies are decoded inline: .*decode-worker\.js does not exist/);
    const outcome = await decoder.decode({ protocol: 'native', defaults: {} }, Buffer.from('{"message":"x"}'));
    expect(outcome.result.events).toHaveLength(1);
    await decoder.close();
  });

  it('falls back to inline decoding, saying why, when the threads cannot load the worker', async () => {
    const warnings: string[] = [];
    const decoder = openLogDecoder({ threads: 1, logger: { info: silent.info, warn: (_: unknown, message?: string) => void warnings.push(String(message)) }, workerFile: '/nonexistent/decode-worker.js', minBytes: 0 });
    await decoder.ready;
    expect(decoder.threads).toBe(0);
    expect(warnings.join('\n')).toMatch(/failed to start: log bodies are decoded inline/);
    const outcome = await decoder.decode({ protocol: 'native', defaults: {} }, Buffer.from('[{"message":"x"}]'));
    expect(outcome.result.events).toHaveLength(1);
    await decoder.close();
  });
});
