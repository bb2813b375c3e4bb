import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { accessLogMessageParser } from './access-log.js';
import { IngestLimitError, MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST } from './limits.js';
import { decodeLoki, parseLokiLabels } from './loki.js';
import { NOW, Pb, T0, fixture } from './test-support.js';

/** logproto.PushRequest as Vector's `loki` sink / Promtail send it: protobuf, snappy block format. */
function lokiProtobuf(): Buffer {
  const entry = (seconds: number, nanos: number, line: string, meta: [string, string][] = []): Pb => {
    const e = new Pb().msg(1, new Pb().uint(1, seconds).uint(2, nanos)).bytes(2, line);
    for (const [name, value] of meta) e.msg(3, new Pb().bytes(1, name).bytes(2, value));
    return e;
  };
  const stream1 = new Pb()
    .bytes(1, '{service_name="web", host="web-1", filename="/var/log/nginx/access.log"}')
    .msg(2, entry(1714564800, 123_456_789, '10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /api/user HTTP/1.1" 200 512'))
    .msg(2, entry(1714564801, 0, '{"level":"error","msg":"boom","status":500,"path":"/report"}', [['trace_id', 'abc']]))
    .uint(3, 1234567890123n);
  const stream2 = new Pb().bytes(1, '{job="bad labels}').msg(2, entry(1714564802, 0, 'lost'));
  const request = new Pb().msg(1, stream1).msg(1, stream2).finish();
  return Buffer.from(snappy.compress(request));
}

describe('Loki push decoder', () => {
  it("reads Fluent Bit's loki output (JSON, line_format json) and keeps good entries of a bad stream", () => {
    const { events, rejected } = decodeLoki(fixture('fluentbit-loki.json'), { contentType: 'application/json', receivedAt: NOW });
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({
      timestamp: T0 + 123,
      host: 'web-1',
      service: 'fluent-bit', // from `job`
      level: 'info',
      method: 'GET',
      path: '/api/user',
      section: '/api',
      status: 200,
      bytes: 1234,
      remoteAddr: '10.0.0.4',
      userAgent: 'curl/8.5.0',
    });
    expect(events[1]).toMatchObject({ message: 'plain text line', timestamp: T0 + 1000, attributes: { trace_id: '0af7651916cd43dd8448eb211c80319c' } });
    expect(events[2]).toMatchObject({ message: 'payment ok', service: 'billing', timestamp: T0 + 2000 });
    expect(rejected).toEqual([{ index: 2, path: 'streams[1].values[0]', reason: 'timestamp: expected unix epoch nanoseconds as a string of digits, got "not-a-number"' }]);
  });

  it('reads snappy-compressed protobuf (Vector loki sink, Promtail), with structured metadata', () => {
    const { events, rejected } = decodeLoki(lokiProtobuf(), { contentType: 'application/x-protobuf', receivedAt: NOW, parseMessage: accessLogMessageParser() });
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ timestamp: T0 + 123, service: 'web', host: 'web-1', source: '/var/log/nginx/access.log', method: 'GET', section: '/api', status: 200, bytes: 512, remoteAddr: '10.0.0.1' });
    expect(events[1]).toMatchObject({ level: 'error', message: 'boom', status: 500, section: '/report', attributes: { trace_id: 'abc' } });
    expect(rejected).toEqual([{ index: 2, path: 'streams[1].entries[0]', reason: expect.stringMatching(/^streams\[1\] labels: unterminated value for job/) as unknown as string }]);
  });

  it('reads the legacy JSON form (labels string, entries with RFC 3339 ts)', () => {
    const body = JSON.stringify({ streams: [{ labels: '{app="api", level="warn"}', entries: [{ ts: '2024-05-01T12:00:00.5Z', line: 'hello' }] }] });
    const { events } = decodeLoki(body, { contentType: 'application/json' });
    expect(events.map((e) => [e.timestamp, e.service, e.level, e.message])).toEqual([[T0 + 500, 'api', 'warn', 'hello']]);
  });

  it('keeps nanosecond times exactly, even near 1970 (a device whose clock was never set)', () => {
    const day = 86_400_000;
    const json = JSON.stringify({ streams: [{ stream: { job: 'x' }, values: [[String(day * 1e6), 'booted'], ['1000000', 'first millisecond']] }] });
    expect(decodeLoki(json, { contentType: 'application/json', receivedAt: NOW }).events.map((e) => e.timestamp)).toEqual([day, 1]);
    const legacy = JSON.stringify({ streams: [{ labels: '{job="x"}', entries: [{ ts: '1970-01-02T00:00:00Z', line: 'booted' }] }] });
    expect(decodeLoki(legacy, { contentType: 'application/json', receivedAt: NOW }).events.map((e) => e.timestamp)).toEqual([day]);
  });

  it('reads a legacy zone-less ts as UTC, whatever the server time zone, and refuses loose date forms', () => {
    const entries = [
      { ts: '2024-05-01 12:00:00', line: 'zone-less' },
      { ts: 'May 1, 2024', line: 'loose' },
    ];
    // Node applies a TZ change at once: a server far from UTC, whatever this machine's zone is.
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    let decoded;
    try {
      decoded = decodeLoki(JSON.stringify({ streams: [{ labels: '{job="x"}', entries }] }), { contentType: 'application/json', receivedAt: NOW });
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
    const { events, rejected } = decoded;
    expect(events.map((e) => [e.message, e.timestamp])).toEqual([['zone-less', T0]]);
    expect(rejected).toEqual([{ index: 1, path: 'streams[0].entries[1]', reason: 'timestamp: cannot read "May 1, 2024" as RFC 3339' }]);
  });

  it('rejects malformed bodies whole and malformed entries one by one', () => {
    expect(decodeLoki('{"streams": 3}', { contentType: 'application/json' }).rejected).toEqual([{ reason: 'body has no "streams" array' }]);
    expect(decodeLoki('not snappy', { contentType: 'application/x-protobuf' }).rejected[0]!.reason).toMatch(/not snappy-compressed protobuf/);
    const body = { streams: [{ stream: { a: 'b' }, values: [['1', 2], 'x', ['1714564800000000000', 'ok', 'meta']] }] };
    expect(decodeLoki(JSON.stringify(body), { contentType: 'application/json' }).rejected.map((r) => r.reason)).toEqual([
      'line: expected a string, got 2',
      expect.stringMatching(/^expected \["<unix epoch/),
      'structured metadata: expected an object of strings',
    ]);
  });

  it(
    'rejects a protobuf body whose snappy literal length overflows 32-bit signed (it once hung the decoder)',
    () => {
      // Found by the decoder fuzz test: snappyjs read the length 0xfffffffa as negative and looped forever.
      const { events, rejected } = decodeLoki(Buffer.from([0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff]), { contentType: 'application/x-protobuf' });
      expect(events).toEqual([]);
      expect(rejected).toEqual([
        {
          reason:
            'body is not snappy-compressed protobuf (invalid Snappy block: the literal at byte 1 declares 4,294,967,291 bytes, past the end of the data); send Content-Type: application/json for JSON',
        },
      ]);
    },
    5_000, // a guard only: the loop was synchronous, so the assertion above is what matters
  );

  it('enforces the event-count and decompressed-size limits', () => {
    const values = Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => ['1714564800000000000', 'x']);
    expect(() => decodeLoki(JSON.stringify({ streams: [{ stream: {}, values }] }), { contentType: 'application/json' })).toThrow(IngestLimitError);
    const bomb = Buffer.from(snappy.compress(Buffer.alloc(MAX_BODY_BYTES + 1)));
    expect(() => decodeLoki(bomb, { contentType: 'application/x-protobuf' })).toThrow(IngestLimitError);
  });

  it('parses Prometheus-style label sets', () => {
    expect(parseLokiLabels('{a="1", b_2="x\\"y\\\\z", c=""}')).toEqual({ a: '1', b_2: 'x"y\\z', c: '' });
    expect(parseLokiLabels('{}')).toEqual({});
    expect(parseLokiLabels('a="1"')).toMatch(/^labels:/);
    expect(parseLokiLabels('{a=1}')).toMatch(/quoted value/);
    expect(parseLokiLabels('{a="1" b="2"}')).toMatch(/expected , or }/);
  });
});
