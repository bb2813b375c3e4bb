import { httpStatusOf } from '../../../platform/http/errors.js';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../platform/errors.js';
import { runDecodeJob, type DecodeJob, type DecodeOutcome } from './job.js';
import { CorruptBodyError, IngestLimitError } from './limits.js';
import { packError, packOutcome, transferablesOf, unpackError, unpackOutcome } from './packed.js';
import { accessLogMessageParser } from './access-log.js';
import { INGEST_PROTOCOLS, NOW, encodeBatch, fixture, poisonCases } from './test-support.js';

/** What crossing a thread does to a packed outcome: a structured clone, its buffers transferred. */
function overTheWire(outcome: DecodeOutcome): DecodeOutcome {
  const packed = packOutcome(outcome);
  const transfer = transferablesOf(packed);
  expect(transfer.every((b) => b instanceof ArrayBuffer)).toBe(true);
  return unpackOutcome(deserialize(serialize(packed)) as typeof packed);
}

/**
 * Equal values and the same key order everywhere (answers and bus messages serialise in key order).
 * Not toStrictEqual: it compares `constructor` properties, and the poison corpus has own ones.
 */
function expectSame(back: DecodeOutcome, outcome: DecodeOutcome): void {
  expect(back).toEqual(outcome);
  expect(JSON.stringify(back)).toBe(JSON.stringify(outcome));
}

const parseMessage = accessLogMessageParser();
const decode = (job: DecodeJob, body: Buffer | string) => runDecodeJob(job, Buffer.from(body), parseMessage);

describe('packOutcome / unpackOutcome', () => {
  const fixtures: [string, DecodeJob][] = [
    ['vector-http-array.json', { protocol: 'native', defaults: {} }],
    ['fluentbit-http-json.json', { protocol: 'native', defaults: { service: 'svc' } }],
    ['fluentbit-http-json_lines.ndjson', { protocol: 'native', defaults: {}, contentType: 'application/x-ndjson' }],
    ['curl-mixed.ndjson', { protocol: 'native', defaults: {} }],
    ['fluentbit-datadog.json', { protocol: 'datadog', query: { ddtags: 'env:prod,team:web' } }],
    ['vector-datadog-logs.json', { protocol: 'datadog', query: {} }],
    ['fluentbit-loki.json', { protocol: 'loki', contentType: 'application/json' }],
    ['otel-collector-logs.json', { protocol: 'otlp', contentType: 'application/json' }],
  ];
  it.each(fixtures)('gives back what decoding %s gave', async (name, job) => {
    const outcome = await decode(job, fixture(name));
    expect(outcome.result.events.length).toBeGreaterThan(0);
    expectSame(overTheWire(outcome), outcome);
  });

  it('gives back the COPY rows a job asked for, byte for byte', async () => {
    const outcome = await decode({ protocol: 'native', defaults: {}, rowsFor: '0b6f3f4e-8f8e-4f57-9d2a-1f1c7c1b2a01' }, fixture('vector-http-array.json'));
    expect(outcome.rows?.starts.length).toBe(outcome.result.events.length);
    const back = overTheWire(outcome);
    expect(Buffer.from(back.rows!.bytes).equals(Buffer.from(outcome.rows!.bytes))).toBe(true);
    expect([...back.rows!.starts]).toEqual([...outcome.rows!.starts]);
    expect([...back.rows!.ends]).toEqual([...outcome.rows!.ends]);
  });

  it.each(INGEST_PROTOCOLS)('gives back the poison corpus as %s decodes it (NUL, lone surrogates, __proto__ keys, refusals)', async (protocol) => {
    const batch = encodeBatch(protocol, poisonCases('packed').map((c) => c.record), NOW);
    const job: DecodeJob =
      protocol === 'native' || protocol === 'ndjson'
        ? { protocol: 'native', defaults: {}, contentType: batch.contentType }
        : protocol === 'datadog'
          ? { protocol: 'datadog', query: {}, contentType: batch.contentType }
          : { protocol: protocol.startsWith('loki') ? 'loki' : 'otlp', contentType: batch.contentType };
    const outcome = await decode(job, batch.body);
    expect(outcome.result.rejected.length).toBeGreaterThan(0);
    expect(outcome.result.events.length).toBeGreaterThan(0);
    expectSame(overTheWire(outcome), outcome);
  });

  it('gives back access-log lines, their rejections by line and a whole-body rejection', async () => {
    const clf = '127.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /a/b HTTP/1.1" 200 12\nnot a line\n';
    for (const outcome of [await decode({ protocol: 'clf', defaults: { host: 'h' } }, clf), await decode({ protocol: 'native', defaults: {} }, 'nope')]) {
      expectSame(overTheWire(outcome), outcome);
    }
  });

  it('keeps the OTLP format', async () => {
    const outcome = await decode({ protocol: 'otlp', contentType: 'application/json' }, fixture('otel-collector-logs.json'));
    expect(outcome.format).toBe('json');
    expect(overTheWire(outcome).format).toBe('json');
  });

  it('gives back any events the native decoder makes', async () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '__proto__', 'GET', '/api/x?q=1'));
    const event = fc.record(
      {
        timestamp: fc.oneof(fc.integer({ min: 0, max: 4e12 }), fc.constantFrom('2024-05-01T12:00:00.123Z', 'bad')),
        message: text,
        service: text,
        host: text,
        level: fc.oneof(text, fc.integer({ min: 0, max: 70 })),
        method: text,
        path: text,
        status: fc.oneof(fc.integer({ min: 0, max: 700 }), text),
        bytes: fc.oneof(fc.integer(), fc.double()),
        duration_ms: fc.oneof(fc.double(), text),
        remote_addr: text,
        extra: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 20 }), async (events) => {
        const outcome = await decode({ protocol: 'native', defaults: {} }, JSON.stringify(events));
        expectSame(overTheWire(outcome), outcome);
      }),
      { numRuns: 200 },
    );
  });
});

describe('packError / unpackError', () => {
  it('gives back a DomainError that answers the same', () => {
    for (const error of [new IngestLimitError('events', 'too many'), new CorruptBodyError('gzip', 'incorrect header check'), new DomainError('busy', 'later', { retryAfterSeconds: 2 })]) {
      const back = unpackError(deserialize(serialize(packError(error))) as ReturnType<typeof packError>);
      expect(back).toBeInstanceOf(DomainError);
      const app = back as DomainError;
      expect({ name: app.name, status: httpStatusOf(app), code: app.code, message: app.message, details: app.details, retryAfterSeconds: app.retryAfterSeconds }).toEqual({
        name: error.name,
        status: httpStatusOf(error),
        code: error.code,
        message: error.message,
        details: error.details,
        retryAfterSeconds: error.retryAfterSeconds,
      });
    }
  });

  it('gives back other errors as plain errors (a 500), saying where they were thrown', () => {
    const back = unpackError(packError(new TypeError('boom')));
    expect(back).not.toBeInstanceOf(DomainError);
    expect(back.name).toBe('TypeError');
    expect(back.message).toBe('boom');
    expect(back.stack).toContain('decode worker thread');
  });
});
