import { describe, expect, it } from 'vitest';
import { pgJson } from '../../../platform/store/values.js';
import type { LogEvent } from '../event.js';
import { decodeDatadog } from './datadog.js';
import type { DecodeResult } from './limits.js';
import { decodeLoki } from './loki.js';
import { decodeNative } from './native.js';
import { decodeOtlp } from './otlp.js';
import { INGEST_PROTOCOLS, NOW, encodeBatch, poisonCases, type IngestProtocol } from './test-support.js';
import { MAX_ATTRIBUTE_DEPTH, MAX_SECTION_LENGTH, settleEvent } from './shape.js';

/**
 * Every kind of hostile event, in every ingest protocol, between two good ones: the decoder keeps the
 * good events, refuses the bad one with its position and reason (or keeps it cleaned), and whatever
 * it keeps can be serialised and stored (the processor and the bus stringify events; PostgreSQL
 * refuses NUL and lone surrogates).
 */

function decode(protocol: IngestProtocol, body: Buffer, contentType: string): DecodeResult {
  const options = { contentType, receivedAt: NOW };
  switch (protocol) {
    case 'native':
    case 'ndjson':
      return decodeNative(body, options);
    case 'datadog':
      return decodeDatadog(body, options);
    case 'loki-json':
    case 'loki-protobuf':
      return decodeLoki(body, options);
    case 'otlp-json':
    case 'otlp-protobuf':
      return decodeOtlp(body, options);
  }
}

/** Every string in the event, keys included, is one PostgreSQL takes and UTF-8 round-trips. */
function expectStorable(e: LogEvent): void {
  const json = JSON.stringify(e);
  expect(json).not.toMatch(/\\u0000|\\ud[89a-f]/i);
  expect(pgJson(e.attributes)).toBe(JSON.stringify(e.attributes));
  expect(e.section === null || e.section.length <= MAX_SECTION_LENGTH).toBe(true);
  expect(e.bytes === null || Number.isSafeInteger(e.bytes)).toBe(true);
  expect(e.durationMs === null || Number.isFinite(e.durationMs)).toBe(true);
  expect(e.level === null || typeof e.level === 'string').toBe(true);
}

describe.each(INGEST_PROTOCOLS)('poison events over %s', (protocol) => {
  it.each(poisonCases('p').map((c) => [c.name, c] as const))('%s', (_name, poison) => {
    const batch = encodeBatch(protocol, [{ message: 'before', path: '/ok', status: 200 }, poison.record, { message: 'after', path: '/ok', status: 200 }], NOW - 1000);
    const result = decode(protocol, batch.body, batch.contentType);
    const messages = result.events.map((e) => e.message);
    expect(messages[0]).toBe('before');
    expect(messages.at(-1)).toBe('after');
    for (const e of result.events) expectStorable(e);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Protocol Buffers strings must be UTF-8 (proto3): OTLP refuses such a record, with its index and reason.
    const refused = protocol === 'otlp-protobuf' && poison.name === 'invalid UTF-8' ? /not valid for encoding utf-8/ : poison.refused;
    if (refused) {
      expect(result.events).toHaveLength(2);
      expect(result.rejected).toHaveLength(1);
      const rejection = result.rejected[0]!;
      if (protocol === 'ndjson') expect(rejection.line).toBe(2);
      else expect(rejection.index).toBe(1);
      expect(rejection.reason).toMatch(refused);
    } else {
      expect(result.rejected).toEqual([]);
      expect(result.events).toHaveLength(3);
    }
  });
});

describe('settleEvent', () => {
  const event = (attributes: Record<string, unknown>, extra: Partial<LogEvent> = {}): LogEvent => ({
    timestamp: NOW,
    receivedAt: NOW,
    service: null,
    host: null,
    source: null,
    level: null,
    message: 'm',
    method: null,
    path: null,
    section: null,
    status: null,
    bytes: null,
    durationMs: null,
    remoteAddr: null,
    userAgent: null,
    attributes,
    ...extra,
  });

  it('returns the very event when nothing needs changing (the ingest hot path allocates nothing)', () => {
    const e = event({ a: { b: [1, 'two', true, null] } });
    const settled = settleEvent(e);
    expect(settled.ok && settled.event).toBe(e);
  });

  it(`accepts ${MAX_ATTRIBUTE_DEPTH} levels and refuses one more, naming where`, () => {
    const nest = (n: number): Record<string, unknown> => {
      let v: Record<string, unknown> = {};
      for (let i = 1; i < n; i++) v = { a: v };
      return v;
    };
    expect(settleEvent(event(nest(MAX_ATTRIBUTE_DEPTH))).ok).toBe(true);
    const refused = settleEvent(event(nest(MAX_ATTRIBUTE_DEPTH + 1)));
    expect(refused).toEqual({ ok: false, reason: `attributes.a.a.a.a.a.a...: attributes nest deeper than ${MAX_ATTRIBUTE_DEPTH} levels: flatten them` });
  });

  it('turns values JSON cannot carry into ones it can, and keeps a __proto__ key as data', () => {
    const attributes: Record<string, unknown> = { big: 10n, inf: Infinity, when: new Date(0), bytes: new Uint8Array([104, 105]), gone: undefined };
    Object.defineProperty(attributes, '__proto__', { value: { x: 'a\u0000' }, enumerable: true });
    const settled = settleEvent(event(attributes));
    expect(settled.ok).toBe(true);
    const out = settled.ok ? settled.event.attributes : {};
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"big":"10","inf":null,"when":"1970-01-01T00:00:00.000Z","bytes":"aGk=","__proto__":{"x":"a\ufffd"}}'));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});
