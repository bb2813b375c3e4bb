import { describe, expect, it } from 'vitest';
import { IngestLimitError, MAX_EVENTS_PER_REQUEST } from './limits.js';
import { decodeOtlp, encodeOtlpResponse, otlpErrorStatus, otlpFormat, otlpPartialSuccess } from './otlp.js';
import { OtlpExportLogsServiceResponse, OtlpStatus, decodeProtobuf } from './proto.js';
import { NOW, Pb, T0, fixture } from './test-support.js';

const str = (s: string): Pb => new Pb().bytes(1, s);
const kv = (key: string, value: Pb): Pb => new Pb().bytes(1, key).msg(2, value);

/**
 * An ExportLogsServiceRequest as the Collector's otlphttp exporter sends it (application/x-protobuf),
 * encoded by hand from the field numbers of opentelemetry-proto.
 */
function otlpProtobuf(): Buffer {
  const resource = new Pb().msg(1, kv('service.name', str('checkout'))).msg(1, kv('host.name', str('checkout-1')));
  const scope = new Pb().bytes(1, 'io.opentelemetry.nginx').bytes(2, '1.0');
  const record1 = new Pb()
    .fixed64(1, 1714564800123456789n)
    .uint(2, 13) // SEVERITY_NUMBER_WARN
    .msg(5, str('GET /api/cart 200'))
    .msg(6, kv('http.request.method', str('GET')))
    .msg(6, kv('url.path', str('/api/cart/7')))
    .msg(6, kv('http.response.status_code', new Pb().uint(3, 200)))
    .msg(6, kv('big', new Pb().uint(3, 9007199254740993n)))
    .msg(6, kv('bin', new Pb().bytes(7, Buffer.from('hi'))))
    .bytes(9, Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'))
    .bytes(10, Buffer.from('eee19b7ec3c1b174', 'hex'))
    .fixed64(11, 1714564800200000000n)
    .bytes(12, 'http.access');
  const record2 = new Pb().fixed64(11, 1714564801000000000n).bytes(3, 'Error').msg(5, str('no time_unix_nano: observed time used'));
  const scopeLogs = new Pb().msg(1, scope).msg(2, record1).msg(2, record2);
  const resourceLogs = new Pb().msg(1, resource).msg(2, scopeLogs);
  return new Pb().msg(1, resourceLogs).finish();
}

describe('OTLP/HTTP logs decoder', () => {
  it('reads OTLP/JSON as the Collector sends it, with every AnyValue kind', () => {
    const result = decodeOtlp(fixture('otel-collector-logs.json'), { contentType: 'application/json', receivedAt: NOW });
    expect(result.format).toBe('json');
    const [first, second] = result.events;
    expect(first).toMatchObject({
      timestamp: T0 + 123,
      service: 'checkout',
      host: 'checkout-1',
      level: 'info',
      message: 'GET /api/cart 200',
      method: 'GET',
      path: '/api/cart',
      section: '/api',
      status: 200,
      bytes: 5120,
      remoteAddr: '198.51.100.7',
    });
    expect(first!.attributes).toEqual({
      'service.version': '2.3.0',
      'log.file.name': 'access.log',
      tags: ['a', '9007199254740993'],
      ok: true,
      ratio: 0.25,
      raw: 'aGVsbG8=',
      nested: { k: 'v' },
      'otel.scope.name': 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver',
      trace_id: '5b8efff798038103d269b633813fc60c',
      span_id: 'eee19b7ec3c1b174',
    });
    // No timeUnixNano: observedTimeUnixNano; level from severityNumber; fields from a kvlist body.
    expect(second).toMatchObject({ timestamp: T0 + 1000, level: 'error', message: 'checkout failed', status: 502, section: '/api' });
    expect(result.rejected).toEqual([
      {
        index: 2,
        path: 'resourceLogs[0].scopeLogs[0].logRecords[2]',
        reason: 'timeUnixNano: expected unix epoch nanoseconds as a decimal string, got "yesterday"',
      },
    ]);
  });

  it('reads protobuf ExportLogsServiceRequest', () => {
    const result = decodeOtlp(otlpProtobuf(), { contentType: 'application/x-protobuf', receivedAt: NOW });
    expect(result.format).toBe('protobuf');
    expect(result.rejected).toEqual([]);
    expect(result.events[0]).toMatchObject({
      timestamp: T0 + 123,
      service: 'checkout',
      host: 'checkout-1',
      level: 'warn',
      method: 'GET',
      path: '/api/cart/7',
      section: '/api',
      status: 200,
      attributes: {
        big: '9007199254740993',
        bin: Buffer.from('hi').toString('base64'),
        'otel.scope.name': 'io.opentelemetry.nginx',
        trace_id: '5b8efff798038103d269b633813fc60c',
        span_id: 'eee19b7ec3c1b174',
        'event.name': 'http.access',
      },
    });
    expect(result.events[1]).toMatchObject({ timestamp: T0 + 1000, level: 'error', message: 'no time_unix_nano: observed time used' });
  });

  it('accepts snake_case JSON keys and detects the format without a content type', () => {
    const body = JSON.stringify({ resource_logs: [{ scope_logs: [{ log_records: [{ time_unix_nano: '1714564800000000000', body: { string_value: 'x' } }] }] }] });
    const result = decodeOtlp(body);
    expect(result.format).toBe('json');
    expect(result.events.map((e) => [e.timestamp, e.message])).toEqual([[T0, 'x']]);
    expect(otlpFormat(otlpProtobuf(), undefined)).toBe('protobuf');
  });

  it('keeps nanosecond times exactly, even near 1970 (a device whose clock was never set)', () => {
    const day = 86_400_000;
    const records = [String(day * 1e6), '1000000'].map((timeUnixNano) => ({ timeUnixNano, body: { stringValue: 'booted' } }));
    const result = decodeOtlp(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }), { contentType: 'application/json', receivedAt: NOW });
    expect(result.events.map((e) => e.timestamp)).toEqual([day, 1]);
  });

  it('rejects unreadable bodies whole', () => {
    expect(decodeOtlp('{"resourceLogs": [', { contentType: 'application/json' }).rejected[0]!.reason).toMatch(/^body is not valid OTLP\/JSON/);
    expect(decodeOtlp(Buffer.from([0x0a, 0xff, 0xff, 0xff]), { contentType: 'application/x-protobuf' }).rejected[0]!.reason).toMatch(/^body is not a valid ExportLogsServiceRequest protobuf/);
    expect(decodeOtlp('[]', { contentType: 'application/json' }).rejected).toEqual([{ reason: expect.stringMatching(/ExportLogsServiceRequest/) as unknown as string }]);
  });

  it('refuses deeply nested values per record, keeping the others', () => {
    let value: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 100; i++) value = { kvlistValue: { values: [{ key: 'k', value }] } };
    const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: value }, { body: { stringValue: 'fine' } }] }] }] };
    const result = decodeOtlp(JSON.stringify(body), { contentType: 'application/json' });
    expect(result.events.map((e) => e.message)).toEqual(['fine']);
    expect(result.rejected[0]).toMatchObject({ index: 0, reason: 'value nested deeper than 64 levels' });
  });

  it('refuses more than 10,000 records with 413', () => {
    const logRecords = Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => ({ body: { stringValue: 'x' } }));
    expect(() => decodeOtlp(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] }))).toThrow(IngestLimitError);
  });

  it('builds the partial-success response in JSON and protobuf, and nothing on full success', () => {
    const result = decodeOtlp(fixture('otel-collector-logs.json'));
    const response = otlpPartialSuccess(result);
    expect(response).toEqual({
      partialSuccess: {
        rejectedLogRecords: '1',
        errorMessage: expect.stringMatching(/^1 log record rejected: resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[2\]: timeUnixNano/) as unknown as string,
      },
    });
    expect(encodeOtlpResponse(response, 'json')).toBe(response);
    const bytes = encodeOtlpResponse(response, 'protobuf') as Uint8Array;
    expect(decodeProtobuf(OtlpExportLogsServiceResponse, bytes)).toEqual(response);
    expect(otlpPartialSuccess({ events: [], rejected: [] })).toEqual({});

    const many = otlpPartialSuccess({ events: [], rejected: Array.from({ length: 8 }, (_, i) => ({ index: i, reason: `r${i}` })) });
    expect(many.partialSuccess?.errorMessage).toBe('8 log records rejected: r0; r1; r2; r3; r4; and 3 more');
  });

  it('builds google.rpc.Status error bodies', () => {
    expect(otlpErrorStatus('bad', 'json')).toEqual({ code: 3, message: 'bad' });
    expect(decodeProtobuf(OtlpStatus, otlpErrorStatus('bad', 'protobuf') as Uint8Array)).toEqual({ code: 3, message: 'bad' });
  });
});
