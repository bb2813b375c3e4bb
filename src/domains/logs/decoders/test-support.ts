import { readFileSync } from 'node:fs';
import snappy from 'snappyjs';

/** A fixture payload, as bytes. */
export const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

export const NOW = Date.UTC(2024, 4, 1, 13, 0, 0);
export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Protocol buffers wire encoding, written by hand from the .proto field numbers so tests do not
 * depend on the schema under test. */
export class Pb {
  private readonly parts: Buffer[] = [];

  private varint(n: bigint | number): this {
    let v = BigInt(n);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    this.parts.push(Buffer.from(out));
    return this;
  }

  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  uint(field: number, n: bigint | number): this {
    return this.tag(field, 0).varint(n);
  }

  double(field: number, n: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.tag(field, 1);
    this.parts.push(b);
    return this;
  }

  fixed64(field: number, n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    this.tag(field, 1);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, data: Uint8Array | string): this {
    const b = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    this.tag(field, 2).varint(b.length);
    this.parts.push(b);
    return this;
  }

  msg(field: number, inner: Pb): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------------------------------------
// Poison events: one corpus, encoded in every ingest protocol, for the decoder tests and the
// integration tests that mix them into other tenants' batches.

/** JSON text written as is (numbers JSON.stringify cannot write, such as `1e400`). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object nested `levels` deep (`{"a":{"a":...}}`), written without recursion. */
export class Deep {
  constructor(readonly levels: number) {}
}

/** Stands for invalid UTF-8 in a string; replaced by as many invalid bytes in the encoded body. */
export const BAD_UTF8 = '~~BAD~~';
const BAD_BYTES = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0x80, 0xff]);

export type PoisonValue = string | number | boolean | null | RawJson | Deep | PoisonValue[] | { [key: string]: PoisonValue };
export type PoisonRecord = { message: string } & { [key: string]: PoisonValue };

export interface PoisonCase {
  name: string;
  record: PoisonRecord;
  /** Refused (with this reason) or kept (cleaned); `undefined`: kept. */
  refused?: RegExp;
}

export const poisonCases = (tag: string): PoisonCase[] => {
  const proto: PoisonRecord = { message: `${tag} prototype keys`, level: 'constructor', source: '__proto__', toString: 'x', constructor: { prototype: { polluted: 'yes' } } };
  Object.defineProperty(proto, '__proto__', { value: { polluted: 'yes' }, enumerable: true, writable: true, configurable: true });
  return [
    { name: 'depth', record: { message: `${tag} deep`, nested: new Deep(10_000) }, refused: /deeper|depth/ },
    { name: 'width', record: { message: `${tag} wide`, wide: Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`k${i}`, i])) }, refused: /more than 10,000 keys/ },
    { name: 'huge string', record: { message: `${tag} huge ${'x'.repeat(1024 * 1024 + 100)}` }, refused: /over the limit of 1,048,576/ },
    { name: 'large string', record: { message: `${tag} large ${'y'.repeat(200_000)}` } },
    { name: 'NUL', record: { message: `${tag} nul a\u0000b`, 'key\u0000': 'value\u0000', service: 'svc\u0000' } },
    { name: 'invalid UTF-8', record: { message: `${tag} bad utf8 ${BAD_UTF8}`, note: `x${BAD_UTF8}` } },
    { name: 'lone surrogates', record: { message: `${tag} surrogate \ud800 \udfff`, 'k\udc00': 'v\ud83d', host: 'h\ud800' } },
    {
      name: 'huge numbers',
      record: { message: `${tag} numbers`, path: '/num', status: new RawJson('1e400'), bytes: new RawJson('1e300'), duration_ms: new RawJson('1e999'), big: new RawJson('123456789012345678901234567890'), inf: new RawJson('-1e400') },
    },
    { name: 'long section', record: { message: `${tag} long section`, path: `/${'s'.repeat(5000)}`, status: 200, method: 'GET' } },
    { name: 'prototype keys', record: proto },
  ];
};

function jsonOf(v: PoisonValue): string {
  if (v instanceof RawJson) return v.text;
  if (v instanceof Deep) return `${'{"a":'.repeat(v.levels)}1${'}'.repeat(v.levels)}`;
  if (Array.isArray(v)) return `[${v.map(jsonOf).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${jsonOf(v[k]!)}`).join(',')}}`;
  return JSON.stringify(v);
}

const withBadBytes = (body: Buffer): Buffer => {
  const marker = Buffer.from(BAD_UTF8);
  for (let at = body.indexOf(marker); at >= 0; at = body.indexOf(marker, at)) BAD_BYTES.copy(body, at);
  return body;
};

/** OTLP/JSON AnyValue of a poison value. */
function otlpJsonValue(v: PoisonValue): string {
  if (v instanceof RawJson) return /^-?\d+$/.test(v.text) ? `{"intValue":"${v.text}"}` : `{"doubleValue":${v.text}}`;
  if (v instanceof Deep) return `${'{"kvlistValue":{"values":[{"key":"a","value":'.repeat(v.levels)}{"stringValue":"leaf"}${'}]}}'.repeat(v.levels)}`;
  if (typeof v === 'string') return `{"stringValue":${JSON.stringify(v)}}`;
  if (typeof v === 'boolean') return `{"boolValue":${v}}`;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? `{"intValue":"${v}"}` : `{"doubleValue":${v}}`;
  if (v === null) return '{}';
  if (Array.isArray(v)) return `{"arrayValue":{"values":[${v.map(otlpJsonValue).join(',')}]}}`;
  return `{"kvlistValue":{"values":[${otlpJsonKvs(v)}]}}`;
}
const otlpJsonKvs = (o: { [key: string]: PoisonValue }): string =>
  Object.keys(o)
    .map((k) => `{"key":${JSON.stringify(k)},"value":${otlpJsonValue(o[k]!)}}`)
    .join(',');

function otlpPbValue(v: PoisonValue): Pb {
  if (v instanceof RawJson) {
    const n = Number(v.text);
    return /^\d+$/.test(v.text) ? new Pb().uint(3, 18446744073709551615n) : new Pb().double(4, n);
  }
  if (v instanceof Deep) {
    let inner = new Pb().bytes(1, 'leaf');
    for (let i = 0; i < v.levels; i++) inner = new Pb().msg(6, new Pb().msg(1, new Pb().bytes(1, 'a').msg(2, inner)));
    return inner;
  }
  if (typeof v === 'string') return new Pb().bytes(1, v);
  if (typeof v === 'boolean') return new Pb().uint(2, v ? 1 : 0);
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? new Pb().uint(3, v) : new Pb().double(4, v);
  if (v === null) return new Pb();
  if (Array.isArray(v)) {
    const arr = new Pb();
    for (const x of v) arr.msg(1, otlpPbValue(x));
    return new Pb().msg(5, arr);
  }
  return new Pb().msg(6, otlpPbKvs(v));
}
function otlpPbKvs(o: { [key: string]: PoisonValue }, field = 1, into = new Pb()): Pb {
  for (const k of Object.keys(o)) into.msg(field, new Pb().bytes(1, k).msg(2, otlpPbValue(o[k]!)));
  return into;
}

export type IngestProtocol = 'native' | 'ndjson' | 'datadog' | 'loki-json' | 'loki-protobuf' | 'otlp-json' | 'otlp-protobuf';
export const INGEST_PROTOCOLS: IngestProtocol[] = ['native', 'ndjson', 'datadog', 'loki-json', 'loki-protobuf', 'otlp-json', 'otlp-protobuf'];

export interface EncodedBatch {
  path: string;
  contentType: string;
  body: Buffer;
}

/**
 * Records as one request of a protocol. Loki carries each record as a JSON line (its fields are
 * read out of the line); OTLP carries the message as the body and the rest as attributes.
 */
export function encodeBatch(protocol: IngestProtocol, records: PoisonRecord[], timestampMs: number): EncodedBatch {
  const ns = `${BigInt(timestampMs) * 1_000_000n}`;
  switch (protocol) {
    case 'native':
    case 'datadog':
      return {
        path: protocol === 'native' ? '/api/v1/logs' : '/api/v2/logs',
        contentType: 'application/json',
        body: withBadBytes(Buffer.from(`[${records.map((r) => jsonOf({ timestamp: new Date(timestampMs).toISOString(), ...r })).join(',')}]`)),
      };
    case 'ndjson':
      return { path: '/api/v1/logs', contentType: 'application/x-ndjson', body: withBadBytes(Buffer.from(records.map((r) => jsonOf({ timestamp: new Date(timestampMs).toISOString(), ...r })).join('\n'))) };
    case 'loki-json': {
      const values = records.map((r) => `[${JSON.stringify(ns)},${JSON.stringify(jsonOf(r))}]`).join(',');
      return { path: '/loki/api/v1/push', contentType: 'application/json', body: withBadBytes(Buffer.from(`{"streams":[{"stream":{"service_name":"loki"},"values":[${values}]}]}`)) };
    }
    case 'loki-protobuf': {
      const stream = new Pb().bytes(1, '{service_name="loki"}');
      for (const r of records) stream.msg(2, new Pb().msg(1, new Pb().uint(1, Math.floor(timestampMs / 1000)).uint(2, (timestampMs % 1000) * 1e6)).bytes(2, jsonOf(r)));
      return { path: '/loki/api/v1/push', contentType: 'application/x-protobuf', body: Buffer.from(snappy.compress(withBadBytes(new Pb().msg(1, stream).finish()))) };
    }
    case 'otlp-json': {
      const logRecords = records
        .map(({ message, ...rest }) => `{"timeUnixNano":"${ns}","body":{"stringValue":${JSON.stringify(message)}},"attributes":[${otlpJsonKvs(rest)}]}`)
        .join(',');
      const body = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otel"}}]},"scopeLogs":[{"logRecords":[${logRecords}]}]}]}`;
      return { path: '/v1/logs', contentType: 'application/json', body: withBadBytes(Buffer.from(body)) };
    }
    case 'otlp-protobuf': {
      const scope = new Pb();
      for (const { message, ...rest } of records) scope.msg(2, otlpPbKvs(rest, 6, new Pb().fixed64(1, BigInt(ns)).msg(5, new Pb().bytes(1, message))));
      const resource = new Pb().msg(1, new Pb().bytes(1, 'service.name').msg(2, new Pb().bytes(1, 'otel')));
      return { path: '/v1/logs', contentType: 'application/x-protobuf', body: withBadBytes(new Pb().msg(1, new Pb().msg(1, resource).msg(2, scope)).finish()) };
    }
  }
}
